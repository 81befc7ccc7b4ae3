// Idempotency keys: a retried write with the same key returns the first result and
// applies nothing. The record is committed in the same transaction as the write, so a
// crash can never keep one without the other. Records also remember what the write
// was, so reusing a key for a different write is an error instead of a silent no-op.
import { createHash } from 'node:crypto'
import { canonicalJson } from '../crdts/index.js'
import type { JsonValue } from '../crdts/types.js'
import { InvalidOptionError, RumorDbError } from './errors.js'
import type { Operation } from './operations.js'

const RECORD_VERSION = 1
const MAX_ID_LENGTH = 256
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000

export interface WriteOutcome {
  readonly value: unknown
  readonly token: string
}

export class CorruptIdempotencyRecordError extends RumorDbError {
  constructor(id: string) {
    super('CORRUPT_RECORD', `the stored result for idempotency key ${JSON.stringify(id)} is unreadable; use a new idempotency key`)
  }
}

export function validateIdempotencyKey(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) {
    throw new InvalidOptionError(`idempotencyKey must be a non-empty string of at most ${MAX_ID_LENGTH} characters`)
  }
}

/** What identifies "the same write": the key and the operation, canonically. */
export function fingerprint(key: string, op: Operation): string {
  return createHash('sha256')
    .update(key, 'utf8')
    .update('\0')
    .update(canonicalJson(op as unknown as JsonValue))
    .digest('base64url')
}

export function encodeIdempotencyRecord(fp: string, outcome: WriteOutcome): Uint8Array {
  const body = JSON.stringify({ f: fp, t: outcome.token, ...(outcome.value === undefined ? {} : { v: outcome.value }) })
  const text = new TextEncoder().encode(body)
  const out = new Uint8Array(1 + text.length)
  out[0] = RECORD_VERSION
  out.set(text, 1)
  return out
}

/**
 * The first result of the write `fp` under `id`. Throws InvalidOptionError when the key
 * was used for another write, CorruptIdempotencyRecordError when the record is unreadable.
 */
export function decodeIdempotencyRecord(id: string, fp: string, bytes: Uint8Array): WriteOutcome {
  let parsed: unknown
  try {
    if (bytes[0] !== RECORD_VERSION) throw new Error('version')
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(1)))
  } catch {
    throw new CorruptIdempotencyRecordError(id)
  }
  if (typeof parsed !== 'object' || parsed === null) throw new CorruptIdempotencyRecordError(id)
  const record = parsed as { f?: unknown; t?: unknown; v?: unknown }
  if (typeof record.f !== 'string' || typeof record.t !== 'string') throw new CorruptIdempotencyRecordError(id)
  if (record.f !== fp) {
    throw new InvalidOptionError(
      `idempotency key ${JSON.stringify(id)} was already used for a different write; use a new key for each distinct write`,
    )
  }
  return { value: record.v, token: record.t }
}
