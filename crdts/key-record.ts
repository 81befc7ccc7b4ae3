// A key as stored and replicated: its content (key-content.ts) and, once a write gave it a
// time to live, its expiry — a last-writer-wins register (lww-register.ts) whose value is the
// hybrid-logical-clock wall time in milliseconds at which the key expires, or null for a key
// that no longer expires. A key whose expiry is due (at ≤ the clock's wall time) reads as
// deleted: `expired` removes its content exactly as a delete does (observed-remove), keeping
// the register, so every replica ends with the same tombstones once its clock passes.
//
// Joining is expiry-aware: each side is expired first when its own register is due at the
// joining node's clock, then contents join and registers join. Without that, a later renewal
// (a newer register) would bring back what an older, due expiry had hidden. Expiring only
// adds tombstones, so a join stays an inflation of both sides; which concurrent writes an
// expiry removes depends, as for a delete, on what the expiring replica held (README).
//
// Encoding: a key without expiry is its content's own encoding (so keys written before
// expiry existed keep their bytes and digests); with one,
//   [TAG 0x10][version 3][expiry register, length-prefixed][content encoding, length-prefixed]
import { createDecoder, createEncoder, expectEnd, readBytes, readUint8, remaining, toUint8Array, writeBytes, writeUint8 } from './codec.js'
import { CrdtDecodeError } from './errors.js'
import { MAX_WALL_MS, type Timestamp } from './hlc.js'
import { contentEquals, decodeContent, deleteContent, encodeContent, isMultiTypeEncoding, joinContent, KEY_CONTENT_TAG, visibleEntries, type KeyContent } from './key-content.js'
import { LWWRegister, type LWWWrite } from './lww-register.js'

const RECORD_VERSION = 3

/** When a key expires: `value` is the expiry time (HLC wall ms) or null for never. */
export type Expiry = LWWWrite

export interface KeyRecord {
  readonly content: KeyContent
  /** Absent until a write gives the key a time to live. */
  readonly expiry?: Expiry
}

/** The expiry time a register holds; undefined for none (never set, or set to never). */
export function expiresAt(expiry: Expiry | undefined): number | undefined {
  const at = expiry?.value
  return typeof at === 'number' ? at : undefined
}

/** Whether the key's expiry has come at wall time `nowMs` (HLC wall milliseconds). */
export function isDue(expiry: Expiry | undefined, nowMs: number): boolean {
  const at = expiresAt(expiry)
  return at !== undefined && at <= nowMs
}

/** The expiry register a write at `timestamp` by `actor` sets: expiring at `at`, or never (null). */
export function setExpiry(actor: string, at: number | null, timestamp: Timestamp): Expiry {
  if (at !== null && !validAt(at)) throw new RangeError(`expiry time must be an integer in [0, 2^48) milliseconds, got ${String(at)}`)
  return LWWRegister.set(null, actor, at, timestamp) as Expiry
}

function validAt(at: unknown): at is number {
  return Number.isSafeInteger(at) && (at as number) >= 0 && (at as number) <= MAX_WALL_MS
}

/** The record with everything removed when its expiry is due at `nowMs`; else unchanged. */
export function expired(record: KeyRecord, nowMs: number): KeyRecord {
  if (!isDue(record.expiry, nowMs)) return record
  const content = deleteContent(record.content)
  return contentEquals(content, record.content) ? record : { ...record, content }
}

/** The expiry-aware join at wall time `nowMs` (see the top of this file). */
export function joinRecords(a: KeyRecord, b: KeyRecord, nowMs: number): KeyRecord {
  const x = expired(a, nowMs)
  const y = expired(b, nowMs)
  const expiry = x.expiry === undefined ? y.expiry : y.expiry === undefined ? x.expiry : (LWWRegister.merge(x.expiry, y.expiry) as Expiry)
  const content = joinContent(x.content, y.content)
  return expiry === undefined ? { content } : { content, expiry }
}

export function recordEquals(a: KeyRecord, b: KeyRecord): boolean {
  if ((a.expiry === undefined) !== (b.expiry === undefined)) return false
  if (a.expiry !== undefined && !LWWRegister.equals(a.expiry, b.expiry ?? null)) return false
  return contentEquals(a.content, b.content)
}

/**
 * When the store should look at the key again to expire it: the expiry time while the key
 * shows something, undefined once nothing is visible (or it never expires).
 */
export function sweepAt(record: KeyRecord): number | undefined {
  const at = expiresAt(record.expiry)
  if (at === undefined) return undefined
  return visibleEntries(record.content).length > 0 ? at : undefined
}

/** Canonical: equal records give equal bytes. */
export function encodeRecord(record: KeyRecord): Uint8Array {
  const content = encodeContent(record.content)
  if (record.expiry === undefined) return content
  const expiry = LWWRegister.encode(record.expiry)
  const enc = createEncoder(content.length + expiry.length + 8)
  writeUint8(enc, KEY_CONTENT_TAG)
  writeUint8(enc, RECORD_VERSION)
  writeBytes(enc, expiry)
  writeBytes(enc, content)
  return toUint8Array(enc)
}

/** Whether the bytes hold an expiry (version 3), without decoding them. */
export function hasExpiry(bytes: Uint8Array): boolean {
  return isMultiTypeEncoding(bytes) && bytes[1] === RECORD_VERSION
}

/** Any key's bytes as a record. Strict: CrdtDecodeError for anything malformed or non-canonical. */
export function decodeRecord(bytes: Uint8Array): KeyRecord {
  if (!hasExpiry(bytes)) return { content: decodeContent(bytes) }
  const dec = createDecoder(bytes)
  readUint8(dec)
  readUint8(dec)
  const register = LWWRegister.decode(readBytes(dec, remaining(dec)))
  if (register === null) throw new CrdtDecodeError('key expiry register is empty')
  if (register.value !== null && !validAt(register.value)) throw new CrdtDecodeError(`key expiry ${register.json} is not a time in milliseconds`)
  const inner = readBytes(dec, remaining(dec))
  if (hasExpiry(inner)) throw new CrdtDecodeError('key expiry nested in a key expiry')
  const content = decodeContent(inner)
  expectEnd(dec)
  return { content, expiry: register as Expiry }
}
