// Canonical JSON: the identity of OR-set elements and the stored form of register values.
// Two values are the same element exactly when their canonical strings are equal, so the
// string doubles as the map key and nothing is re-canonicalized during merge.
import { utf8Length } from './text.js'
import { InvalidValueError, ValueTooLargeError } from './errors.js'
import type { JsonValue } from './types.js'

/** Limit on the UTF-8 size of one element or register value, in canonical form. */
export const MAX_JSON_BYTES = 65536

/**
 * Limit on nesting, so validation and decoding can never exhaust the call stack
 * (a 64 KiB string of brackets would otherwise nest 32,768 levels deep).
 */
export const MAX_JSON_DEPTH = 128

/**
 * Returns the canonical JSON text of `value`: object keys sorted by UTF-16 code units, no
 * whitespace, `-0` written as `0`. Throws InvalidValueError for anything that is not plain
 * JSON data and ValueTooLargeError above MAX_JSON_BYTES.
 */
export function canonicalJson(value: unknown): string {
  const out = write(value, '$', 0, [])
  // Code units never exceed UTF-8 bytes, so the cheap test settles most strings.
  if (out.length > MAX_JSON_BYTES || (out.length * 3 > MAX_JSON_BYTES && utf8Length(out) > MAX_JSON_BYTES)) {
    throw tooLarge()
  }
  return out
}

function tooLarge(): ValueTooLargeError {
  return new ValueTooLargeError(
    `JSON value is larger than ${MAX_JSON_BYTES} bytes in canonical form; store large data elsewhere and keep a reference`,
  )
}

function invalid(path: string, what: string, fix: string): InvalidValueError {
  return new InvalidValueError(`${path} is ${what}, which is not a JSON value; ${fix}`)
}

function write(value: unknown, path: string, depth: number, ancestors: object[]): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw invalid(path, String(value), 'use a finite number or null')
      return value === 0 ? '0' : String(value)
    case 'boolean':
      return value ? 'true' : 'false'
    case 'undefined':
      throw invalid(path, 'undefined', 'use null or leave the property out')
    case 'bigint':
      throw invalid(path, 'a BigInt', 'convert it to a string or a safe-integer number')
    case 'symbol':
      throw invalid(path, 'a symbol', 'use a string')
    case 'function':
      throw invalid(path, 'a function', 'store data only')
  }
  if (value === null) return 'null'
  const obj = value as object
  if (depth >= MAX_JSON_DEPTH) {
    throw new InvalidValueError(`${path} is nested more than ${MAX_JSON_DEPTH} levels deep; flatten the value`)
  }
  if (ancestors.includes(obj)) throw invalid(path, 'a circular reference', 'store a tree, not a graph')
  if (Object.getOwnPropertySymbols(obj).length > 0) {
    throw invalid(path, 'an object with symbol keys', 'use string keys only')
  }
  const proto: unknown = Object.getPrototypeOf(obj)
  ancestors.push(obj)
  let out: string
  if (Array.isArray(obj) && proto === Array.prototype) {
    out = writeArray(obj, path, depth, ancestors)
  } else if (proto === Object.prototype || proto === null) {
    out = writeObject(obj as Record<string, unknown>, path, depth, ancestors)
  } else {
    const name = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'unknown class'
    throw invalid(path, `an instance of ${name}`, 'convert it to plain data first (e.g. a Date to an ISO string)')
  }
  ancestors.pop()
  return out
}

function writeArray(arr: readonly unknown[], path: string, depth: number, ancestors: object[]): string {
  let out = '['
  for (let i = 0; i < arr.length; i++) {
    if (!(i in arr)) throw invalid(`${path}[${i}]`, 'a hole in a sparse array', 'fill it with null')
    if (i > 0) out += ','
    out += write(arr[i], `${path}[${i}]`, depth + 1, ancestors)
    if (out.length > MAX_JSON_BYTES) throw tooLarge()
  }
  return out + ']'
}

function writeObject(obj: Record<string, unknown>, path: string, depth: number, ancestors: object[]): string {
  const keys = Object.keys(obj).sort()
  let out = '{'
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string
    if (i > 0) out += ','
    out += JSON.stringify(key) + ':' + write(obj[key], `${path}.${key}`, depth + 1, ancestors)
    if (out.length > MAX_JSON_BYTES) throw tooLarge()
  }
  return out + '}'
}

/**
 * Parses canonical JSON back into a deeply frozen value. Throws InvalidValueError when the
 * text is not exactly the canonical form of what it parses to, so decoders accept only one
 * spelling of each value.
 */
export function parseCanonicalJson(text: string): JsonValue {
  const simple = parseSimple(text)
  if (simple !== undefined) return simple
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch (cause) {
    throw new InvalidValueError(`not valid JSON text: ${(cause as Error).message}`)
  }
  if (canonicalJson(parsed) !== text) throw new InvalidValueError('JSON text is not in canonical form')
  return deepFreeze(parsed as JsonValue)
}

const SMALL_INTEGER = /^-?[1-9][0-9]{0,14}$/

/**
 * Decoding a 1,000-element set parses 1,000 texts, nearly all plain strings or integers.
 * Recognizes those canonical forms directly; returns undefined to defer to the full check.
 */
function parseSimple(text: string): JsonValue | undefined {
  const n = text.length
  if (n >= 2 && text.charCodeAt(0) === 0x22 && text.charCodeAt(n - 1) === 0x22) {
    for (let i = 1; i < n - 1; i++) {
      const c = text.charCodeAt(i)
      // Quotes, backslashes, control characters and surrogates need the full check.
      if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff)) return undefined
    }
    return text.slice(1, -1)
  }
  if (text === '0') return 0
  if (SMALL_INTEGER.test(text)) return Number(text)
  if (text === 'true') return true
  if (text === 'false') return false
  if (text === 'null') return null
  return undefined
}

/**
 * Validates a caller's value and returns its canonical text together with a private, frozen
 * copy, so later changes to the caller's object cannot reach into a state.
 */
export function toStoredJson(value: unknown): { readonly json: string; readonly value: JsonValue } {
  const json = canonicalJson(value)
  return { json, value: ownedJsonCopy(value as JsonValue, json) }
}

/** A frozen private copy of an already validated `value` whose canonical text is `json`. */
export function ownedJsonCopy(value: JsonValue, json: string): JsonValue {
  if (typeof value !== 'object' || value === null) return value === 0 ? 0 : value
  return deepFreeze(JSON.parse(json) as JsonValue)
}

function deepFreeze(value: JsonValue): JsonValue {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const child of Object.values(value)) deepFreeze(child)
  }
  return value
}
