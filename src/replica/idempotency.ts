// Idempotency keys: a retried write with the same key applies at most once, cluster-wide,
// for the key's TTL, and returns the first result. Three kinds of records live in the
// store's idempotency table, each under its own prefix so they can never collide:
//
//   idem:<key>   the outcome of a client-keyed write (fingerprint, value, token). The node
//                that applies the write commits it in the same transaction as the write,
//                and every replica that later stores the write's delta commits it with the
//                merge (it travels with the write, not on the coordinator).
//   claim:<key>  which node may apply the keyed write (src/cluster/keyed-writes.ts).
//   op:<id>      the applier's answer to one coordinator's internal operation id, so a
//                duplicated or retried request from that coordinator applies once.
//
// Records also remember what the write was (a fingerprint of key and operation), so
// reusing a key for a different write is an error instead of a silent no-op.
import { createHash } from 'node:crypto'
import { canonicalJson, ORSet, type ORSetState } from '../../crdts/index.js'
import type { CrdtTypeName, JsonValue } from '../../crdts/types.js'
import { InvalidOptionError, RumorDbError } from '../base/errors.js'
import type { KeyOperation } from '../base/operations.js'
import { crdtOf } from './replica.js'
import { encodeDeleteToken, encodeSessionToken } from './session-token.js'
import type { IdempotencyWrite } from '../store/store.js'
import type { Ballot } from '../wire/messages.js'

const RECORD_VERSION = 1
const CLAIM_VERSION = 1
const MAX_ID_LENGTH = 256
export const DEFAULT_IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000

/** Store ids of the three record kinds. */
export const outcomeId = (key: string): string => `idem:${key}`
export const claimId = (key: string): string => `claim:${key}`
export const operationId = (id: string): string => `op:${id}`

/** A client idempotency key and the fingerprint of the write it names. */
export interface KeyedWrite {
  readonly id: string
  readonly fingerprint: string
}

export interface WriteOutcome {
  /** Undefined for a set of more than MAX_RECORDED_ELEMENTS elements (`size` says how many), and for a delete. */
  readonly value: unknown
  /** Empty for a delete. */
  readonly token: string
  /** A set's size after the write (sets only). */
  readonly size?: number
  /** A delete: whether it removed anything. */
  readonly deleted?: boolean
}

/**
 * A keyed write on a set of more elements than this records the set's size, not its
 * elements: a record per keyed write would otherwise grow with the set (16 MB at 10^6
 * elements, kept for the key's whole expiry).
 */
export const MAX_RECORDED_ELEMENTS = 1000

export class CorruptIdempotencyRecordError extends RumorDbError {
  constructor(id: string) {
    super('CORRUPT_RECORD', `the stored result for idempotency key ${JSON.stringify(id)} is unreadable; use a new idempotency key`)
  }
}

export function validateIdempotencyKey(id: unknown): asserts id is string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH || !id.isWellFormed()) {
    throw new InvalidOptionError(`idempotencyKey must be a non-empty, well-formed string of at most ${MAX_ID_LENGTH} characters`)
  }
}

/** What identifies "the same write": the key and the operation, canonically. */
/** What a keyed write's retries must repeat: the key, the operation and its time to live. */
export function fingerprint(key: string, op: KeyOperation, ttl?: number): string {
  const what = ttl === undefined ? op : { ...op, ttl }
  return createHash('sha256')
    .update(key, 'utf8')
    .update('\0')
    .update(canonicalJson(what as unknown as JsonValue))
    .digest('base64url')
}

export function encodeIdempotencyRecord(fp: string, outcome: WriteOutcome): Uint8Array {
  const body = JSON.stringify({
    f: fp,
    t: outcome.token,
    ...(outcome.value === undefined ? {} : { v: outcome.value }),
    ...(outcome.size === undefined ? {} : { s: outcome.size }),
    ...(outcome.deleted === undefined ? {} : { d: outcome.deleted }),
  })
  const text = new TextEncoder().encode(body)
  const out = new Uint8Array(1 + text.length)
  out[0] = RECORD_VERSION
  out.set(text, 1)
  return out
}

/** The outcome record of a keyed write, as its applier commits it with the write. */
export function outcomeRecord(
  write: KeyedWrite,
  applied: { readonly key: string; readonly type: CrdtTypeName | undefined; readonly state: unknown; readonly witness: Uint8Array; readonly deleted?: boolean },
  expiresAt: number,
): IdempotencyWrite {
  if (applied.type === undefined) {
    const outcome: WriteOutcome = { value: undefined, token: encodeDeleteToken(applied.key, applied.witness) ?? '', deleted: applied.deleted === true }
    return { id: outcomeId(write.id), result: encodeIdempotencyRecord(write.fingerprint, outcome), expiresAt }
  }
  const crdt = crdtOf(applied.type)
  const token = encodeSessionToken(applied.key, applied.type, applied.witness)
  const size = applied.type === 'orset' ? ORSet.size(applied.state as ORSetState) : undefined
  const value = size !== undefined && size > MAX_RECORDED_ELEMENTS ? undefined : crdt.value(applied.state)
  const outcome: WriteOutcome = { value, token, ...(size === undefined ? {} : { size }) }
  return { id: outcomeId(write.id), result: encodeIdempotencyRecord(write.fingerprint, outcome), expiresAt }
}

/**
 * The first result of the write `fp` under `id`. Throws InvalidOptionError when the key
 * was used for another write, CorruptIdempotencyRecordError when the record is unreadable.
 */
export function decodeIdempotencyRecord(id: string, fp: string, bytes: Uint8Array): WriteOutcome {
  const record = parseRecord(id, bytes)
  if (record.fingerprint !== fp) throw reusedKey(id)
  return {
    value: record.value,
    token: record.token,
    ...(record.size === undefined ? {} : { size: record.size }),
    ...(record.deleted === undefined ? {} : { deleted: record.deleted }),
  }
}

/** The fingerprint a record was written for (to tell a reused key from a retry). */
export function recordFingerprint(id: string, bytes: Uint8Array): string {
  return parseRecord(id, bytes).fingerprint
}

export function reusedKey(id: string): InvalidOptionError {
  return new InvalidOptionError(
    `idempotency key ${JSON.stringify(id)} was already used for a different write; use a new key for each distinct write`,
  )
}

function parseRecord(id: string, bytes: Uint8Array): { fingerprint: string; token: string; value: unknown; size?: number; deleted?: boolean } {
  let parsed: unknown
  try {
    if (bytes[0] !== RECORD_VERSION) throw new Error('version')
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(1)))
  } catch {
    throw new CorruptIdempotencyRecordError(id)
  }
  if (typeof parsed !== 'object' || parsed === null) throw new CorruptIdempotencyRecordError(id)
  const record = parsed as { f?: unknown; t?: unknown; v?: unknown; s?: unknown; d?: unknown }
  if (typeof record.f !== 'string' || typeof record.t !== 'string') throw new CorruptIdempotencyRecordError(id)
  if (record.s !== undefined && !(Number.isSafeInteger(record.s) && (record.s as number) >= 0)) throw new CorruptIdempotencyRecordError(id)
  if (record.d !== undefined && typeof record.d !== 'boolean') throw new CorruptIdempotencyRecordError(id)
  return {
    fingerprint: record.f,
    token: record.t,
    value: record.v,
    ...(record.s === undefined ? {} : { size: record.s as number }),
    ...(record.d === undefined ? {} : { deleted: record.d }),
  }
}


/**
 * What a replica remembers of the Paxos instance that chooses a keyed write's applier:
 * the write's fingerprint, the highest ballot it promised, and what it accepted last.
 */
export interface ClaimState {
  readonly fingerprint: string
  readonly promised: Ballot
  readonly accepted?: { readonly ballot: Ballot; readonly applier: string }
}

export function compareBallots(a: Ballot, b: Ballot): number {
  if (a.round !== b.round) return a.round < b.round ? -1 : 1
  return a.proposer < b.proposer ? -1 : a.proposer > b.proposer ? 1 : 0
}

export function encodeClaim(claim: ClaimState): Uint8Array {
  const body = {
    f: claim.fingerprint,
    p: [claim.promised.round, claim.promised.proposer],
    ...(claim.accepted === undefined ? {} : { a: [claim.accepted.ballot.round, claim.accepted.ballot.proposer, claim.accepted.applier] }),
  }
  const text = new TextEncoder().encode(JSON.stringify(body))
  const out = new Uint8Array(1 + text.length)
  out[0] = CLAIM_VERSION
  out.set(text, 1)
  return out
}

/** Undefined for bytes that are not a claim state (the caller refuses rather than guess). */
export function decodeClaim(bytes: Uint8Array): ClaimState | undefined {
  try {
    if (bytes[0] !== CLAIM_VERSION) return undefined
    const parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(1))) as { f?: unknown; p?: unknown; a?: unknown }
    if (typeof parsed.f !== 'string' || !isBallotTuple(parsed.p, 2)) return undefined
    const promised = { round: parsed.p[0] as number, proposer: parsed.p[1] as string }
    if (parsed.a === undefined) return { fingerprint: parsed.f, promised }
    if (!isBallotTuple(parsed.a, 3) || typeof parsed.a[2] !== 'string') return undefined
    return { fingerprint: parsed.f, promised, accepted: { ballot: { round: parsed.a[0] as number, proposer: parsed.a[1] as string }, applier: parsed.a[2] } }
  } catch {
    return undefined
  }
}

function isBallotTuple(value: unknown, length: number): value is unknown[] {
  return Array.isArray(value) && value.length === length && Number.isSafeInteger(value[0]) && typeof value[1] === 'string'
}
