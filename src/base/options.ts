// Strict option objects for the embedded API: an unknown name or a value of the wrong type
// is refused with InvalidOptionError naming the option, before anything is read or written.
// Without this a typo (`idempotencykey`) silently did without the option, and a retried
// increment counted twice. `undefined` always means "not given".
import { InvalidOptionError } from './errors.js'
import { MAX_TTL_MS } from './validation.js'

/** What one option accepts, and how a message says it. */
export interface OptionKind {
  readonly expected: string
  accepts(value: unknown): boolean
}

/** An option that is itself an object of options (`replication: { n, r, w }`). */
export interface NestedOptions {
  readonly of: OptionSpec
}

export type OptionSpec = { readonly [name: string]: OptionKind | NestedOptions }

const kind = (expected: string, accepts: (value: unknown) => boolean): OptionKind => ({ expected, accepts })

export const optionKinds = {
  string: kind('a string', (v) => typeof v === 'string'),
  boolean: kind('a boolean (true or false)', (v) => typeof v === 'boolean'),
  positiveInteger: kind('a positive integer', (v) => Number.isSafeInteger(v) && (v as number) >= 1),
  nonNegativeInteger: kind('a non-negative integer', (v) => Number.isSafeInteger(v) && (v as number) >= 0),
  /** A time to live: whole milliseconds from 1 to MAX_TTL_MS. */
  ttl: kind(`a whole number of milliseconds from 1 to ${MAX_TTL_MS} (2^40)`, (v) => Number.isSafeInteger(v) && (v as number) >= 1 && (v as number) <= MAX_TTL_MS),
  function: kind('a function', (v) => typeof v === 'function'),
  object: kind('an object', (v) => typeof v === 'object' && v !== null && !Array.isArray(v)),
  /** Any value but undefined (checked further where it is used, e.g. an OR-set element). */
  defined: kind('a value', (v) => v !== undefined),
  oneOf: (...values: readonly string[]): OptionKind => kind(`one of ${values.map((v) => JSON.stringify(v)).join(', ')}`, (v) => values.includes(v as string)),
} as const

/** Names are echoed at most this long: an option name may come from anywhere. */
const MAX_ECHOED_NAME = 40

/**
 * Throws InvalidOptionError unless `value` is undefined or an object whose every defined
 * property is named in `spec` and has the kind given there. `where` names the call in
 * messages, e.g. `db.get` or `counter("visits").increment`; a function is called only
 * when options were given, so a handle's write without options builds no name.
 */
export function checkOptions(value: unknown, spec: OptionSpec, where: string | (() => string)): void {
  if (value === undefined) return
  checkGiven(value, spec, typeof where === 'string' ? where : where())
}

function checkGiven(value: unknown, spec: OptionSpec, where: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidOptionError(`${where}: options must be an object, got ${describe(value)}`)
  }
  checkObject(value as Record<string, unknown>, spec, where, '')
}

function checkObject(value: Record<string, unknown>, spec: OptionSpec, where: string, path: string): void {
  for (const name of Object.keys(value)) {
    const option = value[name]
    const rule = Object.hasOwn(spec, name) ? spec[name] : undefined
    if (rule === undefined) throw new InvalidOptionError(`${where}: unknown option "${path}${clip(name)}"${hint(name, spec)}`)
    if (option === undefined) continue
    if ('of' in rule) {
      if (typeof option !== 'object' || option === null || Array.isArray(option)) {
        throw new InvalidOptionError(`${where}: option "${path}${name}" must be an object, got ${describe(option)}`)
      }
      checkObject(option as Record<string, unknown>, rule.of, where, `${path}${name}.`)
    } else if (!rule.accepts(option)) {
      throw new InvalidOptionError(`${where}: option "${path}${name}" must be ${rule.expected}, got ${describe(option)}`)
    }
  }
}

/** "; did you mean …?" for a near miss, else the list of options. */
function hint(name: string, spec: OptionSpec): string {
  const names = Object.keys(spec)
  const near = name.length <= 64 ? names.find((known) => similar(name, known)) : undefined
  return near !== undefined ? `; did you mean "${near}"?` : `; the options are ${names.join(', ')}`
}

/** Same letters ignoring case and separators, or at most two edits apart. */
function similar(a: string, b: string): boolean {
  const fold = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '')
  return fold(a) === fold(b) || editDistance(a.toLowerCase(), b.toLowerCase()) <= Math.min(2, Math.floor(b.length / 3))
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      current.push(Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + cost))
    }
    previous = current
  }
  return previous[b.length] as number
}

function clip(text: string): string {
  return text.length > MAX_ECHOED_NAME ? `${text.slice(0, MAX_ECHOED_NAME)}… (${text.length} characters)` : text
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(clip(v))
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v)
  if (typeof v === 'bigint') return `${v}n (a BigInt)`
  if (Array.isArray(v)) return 'an array'
  return typeof v === 'object' ? 'an object' : typeof v
}
