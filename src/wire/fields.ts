// Checks of single fields, shared by encoding and decoding so both sides enforce the same
// limits. Each takes a `fail` that throws the caller's error class; encoding meets any JS
// value here, decoding only what protons produced, so the type tests also guard encoding.
import { canonicalJson, utf8Length, type JsonValue } from '../../crdts/index.js'
import { parseCanonicalJson } from '../../crdts/canonical-json.js'
import { MAX_KEY_BYTES, MAX_MESSAGE_BYTES } from './limits.js'

/** Throws; `reason` names the field and what is wrong with it. */
export type Fail = (reason: string, cause?: unknown) => never

/** Well-formed text of at most `max` UTF-8 bytes, and not empty when `nonEmpty`. */
export function text(value: unknown, what: string, nonEmpty: boolean, max: number, fail: Fail): string {
  if (typeof value !== 'string') return fail(`${what} must be a string, got ${describe(value)}`)
  if (nonEmpty && value.length === 0) return fail(`${what} is empty`)
  // Lone surrogates have no UTF-8 form; protons would write them as CESU-8 and read them back.
  if (!value.isWellFormed()) return fail(`${what} contains a lone surrogate, which is not valid UTF-8`)
  // UTF-8 takes at most 3 bytes per UTF-16 unit, so short strings need no counting.
  if (value.length * 3 > max) {
    const n = utf8Length(value)
    if (n > max) return fail(`${what} is ${n} UTF-8 bytes long; at most ${max}`)
  }
  return value
}

export function key(value: unknown, what: string, fail: Fail): string {
  return text(value, what, true, MAX_KEY_BYTES, fail)
}

/** Bytes of exactly `size`, or at most `max` (opaque CRDT states: at most a message). */
export function bytes(value: unknown, what: string, fail: Fail, size: { exact: number } | { max: number } = { max: MAX_MESSAGE_BYTES }): Uint8Array {
  if (!(value instanceof Uint8Array)) return fail(`${what} must be a Uint8Array, got ${describe(value)}`)
  if ('exact' in size ? value.length !== size.exact : value.length > size.max) {
    return fail(`${what} is ${value.length} bytes; ${'exact' in size ? `must be exactly ${size.exact}` : `at most ${size.max}`}`)
  }
  return value
}

/** A private copy: decoded messages must not alias (and pin) the caller's frame buffer. */
export function ownBytes(value: Uint8Array): Uint8Array {
  return new Uint8Array(value)
}

export function safeUint(value: unknown, what: string, fail: Fail): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    return fail(`${what} must be a non-negative safe integer, got ${describe(value)}`)
  }
  return value
}

export function intIn(value: unknown, what: string, min: number, max: number, fail: Fail): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return fail(`${what} must be an integer in ${min}..${max}, got ${describe(value)}`)
  }
  return value
}

const UINT64_MAX = (1n << 64n) - 1n

export function uint64(value: unknown, what: string, fail: Fail): bigint {
  if (typeof value !== 'bigint' || value < 0n || value > UINT64_MAX) {
    return fail(`${what} must be a bigint in 0..2^64-1, got ${describe(value)}`)
  }
  return value
}

/** A list of at most `max` entries. */
export function list<T>(value: unknown, what: string, max: number, fail: Fail): readonly T[] {
  if (!Array.isArray(value)) return fail(`${what} must be an array, got ${describe(value)}`)
  if (value.length > max) return fail(`${what} has ${value.length} entries; at most ${max} per message, split the batch`)
  return value as readonly T[]
}

export function toJsonText(value: unknown, what: string, fail: Fail): string {
  try {
    return canonicalJson(value)
  } catch (err) {
    return fail(`${what}: ${(err as Error).message}`, err)
  }
}

/** The JSON value of canonical text; any other spelling of it is refused. */
export function fromJsonText(json: string, what: string, fail: Fail): JsonValue {
  try {
    return parseCanonicalJson(json)
  } catch (err) {
    return fail(`${what}: ${(err as Error).message}`, err)
  }
}

export function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v)
  if (typeof v === 'bigint') return `${v}n`
  if (v instanceof Uint8Array) return `${v.length} bytes`
  if (Array.isArray(v)) return 'an array'
  return typeof v
}
