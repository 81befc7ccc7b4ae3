// Checks of caller input, done before anything is read or written so that bad input
// changes nothing.
import { canonicalJson } from '../../crdts/index.js'
import { InvalidKeyError } from './errors.js'
import type { Operation } from './operations.js'

export const MAX_KEY_BYTES = 1024
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
  }
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v)
  if (typeof v === 'bigint') return `${v}n (a BigInt)`
  return typeof v
}
