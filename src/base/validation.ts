// Checks of caller input, done before anything is read or written so that bad input
// changes nothing.
import { canonicalJson } from '../../crdts/index.js'
import { InvalidKeyError } from './errors.js'
import { assertFieldName, MAX_MAP_DEPTH } from '../../crdts/ormap.js'
import { FIELD_TYPE_NAMES, OPERATIONS_OF, type FieldOperation, type Operation } from './operations.js'

export const MAX_KEY_BYTES = 1024
/** The longest time to live a write may give a key: 2^40 ms, about 34 years. */
export const MAX_TTL_MS = 2 ** 40
const encoder = new TextEncoder()

export function validateKey(key: unknown): asserts key is string {
  if (typeof key !== 'string') throw new InvalidKeyError(`expected a string, got ${describe(key)}`)
  if (key.length === 0) throw new InvalidKeyError('the key is empty')
  if (!key.isWellFormed()) throw new InvalidKeyError('the key contains a lone surrogate and is not valid UTF-8')
  const bytes = key.length * 3 <= MAX_KEY_BYTES ? key.length : encoder.encode(key).length
  if (bytes > MAX_KEY_BYTES) throw new InvalidKeyError(`the key is ${bytes} bytes long`)
}

/** Amounts are non-negative safe integers (the CRDT library enforces the same rule). */
export function validateAmount(amount: unknown): asserts amount is number {
  if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0) {
    throw new RangeError(
      `amount must be a non-negative safe integer, got ${describe(amount)}; use decrement() on a counter to subtract`,
    )
  }
}

/**
 * What applying `op` would refuse about its argument, checked without applying it: an
 * amount that is not a non-negative safe integer (RangeError), an element or value that is
 * not plain JSON (InvalidValueError) or over 64 KiB in canonical form (ValueTooLargeError).
 */
export function validateOperationArgument(op: Operation): void {
  switch (op.type) {
    case 'gcounter':
    case 'pncounter':
      validateAmount(op.amount)
      return
    case 'orset':
      canonicalJson(op.element)
      return
    case 'lww':
      canonicalJson(op.value)
      return
    case 'map':
      validateFieldPath(op.path)
      if (op.op === 'update') validateFieldOperation(op.update)
  }
}

/** A map field path: 1 to MAX_MAP_DEPTH field names (crdts/ormap.ts). RangeError / TypeError otherwise. */
export function validateFieldPath(path: unknown): asserts path is readonly string[] {
  if (!Array.isArray(path)) throw new TypeError(`a map field path must be an array of field names, got ${describe(path)}`)
  if (path.length === 0 || path.length > MAX_MAP_DEPTH) throw new RangeError(`a map field path must name 1 to ${MAX_MAP_DEPTH} fields, got ${path.length}`)
  for (const name of path) assertFieldName(name)
}

/** The field write inside a map update: one of the four field types' operations. */
function validateFieldOperation(update: unknown): void {
  const u = update as { type?: unknown; op?: unknown } | null
  const type = u?.type
  if (typeof type !== 'string' || !FIELD_TYPE_NAMES.includes(type as never)) {
    throw new TypeError(`a map field update must be a write of type ${FIELD_TYPE_NAMES.join(', ')}, got ${describe(type)} (nested maps are made by longer paths)`)
  }
  if (!OPERATIONS_OF[type as FieldOperation['type']].includes(u?.op as never)) {
    throw new TypeError(`a map field update of type ${type} takes op ${OPERATIONS_OF[type as FieldOperation['type']].join(' or ')}, got ${describe(u?.op)}`)
  }
  validateOperationArgument(update as FieldOperation)
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v)
  if (typeof v === 'bigint') return `${v}n (a BigInt)`
  return typeof v
}
