// The cluster membership as a state-based CRDT with delta mutators: a map from peer id
// to that peer's latest record. Any two nodes that have seen the same records hold the
// same table, whatever order the announcements arrived in, so the ring built from it
// is the same everywhere.
//
// Per peer, the record that is greatest in this total order wins:
//   1. higher incarnation (a peer bumps it to change its record, or to rejoin);
//   2. at equal incarnation, 'left' over 'alive': leaving is explicit and final for that
//      incarnation, so a stale 'alive' gossiped after the leave cannot resurrect it;
//   3. at equal incarnation and status, the greater canonical encoding. Only the peer
//      itself writes records at its incarnation (and a leave copies its content), so two
//      such records are the same member's own edits made without bumping; any
//      deterministic choice converges, and the peer wins for sure by bumping.
// Taking the per-peer maximum of a total order is a join: commutative, associative,
// idempotent.
//
// Use as a namespace: `import * as memberTable from './member-table.js'`.
import { compareCodePoints, isWellFormed, utf8Length } from '../../base/text.js'
import { Reader, Writer } from './member-table-codec.js'
import { DEFAULT_VNODES } from '../ring/constants.js'
import { MAX_ADDR_BYTES, MAX_ADDRS, MAX_MEMBERS, MAX_PEER_ID_BYTES, MAX_VNODES } from '../../wire/limits.js'
import { InvalidMemberRecordError, MemberTableDecodeError } from './errors.js'

export type MemberStatus = 'alive' | 'left'

export interface MemberRecord {
  readonly peerId: string
  /** Distinct, in code point order (canonical). */
  readonly addrs: readonly string[]
  readonly vnodes: number
  readonly incarnation: number
  readonly status: MemberStatus
}

/** What a caller announces; addrs in any order, vnodes and status defaulted. */
export interface MemberRecordInput {
  readonly peerId: string
  readonly addrs: readonly string[]
  readonly vnodes?: number
  readonly incarnation: number
  readonly status?: MemberStatus
}

export type MemberTable = ReadonlyMap<string, MemberRecord>

/** First byte of an encoded member table. */
export const MEMBER_TABLE_TAG = 0x6d
/** Second byte: the format version this module writes and reads. */
export const MEMBER_TABLE_VERSION = 1

const STATUS_BYTE: Record<MemberStatus, number> = { alive: 0, left: 1 }
const STATUS_OF_BYTE: readonly MemberStatus[] = ['alive', 'left']

export function empty(): MemberTable {
  return new Map()
}

/**
 * Delta that sets a peer's record, or an empty delta when the table already holds that
 * record or one that beats it (then the peer must bump its incarnation: see
 * `nextIncarnation`). Throws InvalidMemberRecordError on a record that breaks the
 * limits (a programming error: records from the network arrive through `decode`).
 */
export function announce(table: MemberTable, input: MemberRecordInput): MemberTable {
  const record = normalize(input)
  const current = table.get(record.peerId)
  if (current !== undefined && compareRecords(current, record) >= 0) return empty()
  return new Map([[record.peerId, record]])
}

/** Delta marking a known peer as left at its current incarnation; empty if unknown or gone. */
export function leave(table: MemberTable, peerId: string): MemberTable {
  const current = table.get(peerId)
  if (current === undefined || current.status === 'left') return empty()
  return new Map([[peerId, freezeRecord({ ...current, status: 'left' })]])
}

/** The incarnation a peer must announce to beat whatever the table holds for it. */
export function nextIncarnation(table: MemberTable, peerId: string): number {
  const current = table.get(peerId)
  return current === undefined ? 0 : current.incarnation + 1
}

/** The join: per peer, the winning record. Returns a new table; inputs are untouched. */
export function merge(a: MemberTable, b: MemberTable): MemberTable {
  const joined = new Map(a)
  for (const [peerId, record] of b) {
    const current = joined.get(peerId)
    if (current === undefined || compareRecords(record, current) > 0) joined.set(peerId, record)
  }
  return joined
}

export function equals(a: MemberTable, b: MemberTable): boolean {
  if (a.size !== b.size) return false
  for (const [peerId, record] of a) {
    const other = b.get(peerId)
    if (other === undefined || compareRecords(record, other) !== 0) return false
  }
  return true
}

/** Every record, alive or left, in peer-id (code point) order. */
export function members(table: MemberTable): MemberRecord[] {
  return [...table.values()].sort((x, y) => compareCodePoints(x.peerId, y.peerId))
}

/** The alive records in peer-id order: the membership view the ring is built from. */
export function aliveMembers(table: MemberTable): MemberRecord[] {
  return members(table).filter((record) => record.status === 'alive')
}

/**
 * Total order on two records of the same peer (see the header): > 0 when `a` wins.
 * Content ties compare canonical encodings byte by byte.
 */
export function compareRecords(a: MemberRecord, b: MemberRecord): number {
  if (a.incarnation !== b.incarnation) return a.incarnation < b.incarnation ? -1 : 1
  if (a.status !== b.status) return a.status === 'left' ? 1 : -1
  // The common case, the same record gossiped again, needs no encoding.
  if (a === b || (a.vnodes === b.vnodes && sameStrings(a.addrs, b.addrs))) return 0
  return compareBytes(encodeRecordBytes(a), encodeRecordBytes(b))
}

/**
 * Canonical bytes: tag, version, count, then records in peer-id order, each as peer id,
 * incarnation, status, vnodes, addresses (sorted). Equal tables give equal bytes.
 */
export function encode(table: MemberTable): Uint8Array {
  const writer = new Writer()
  writer.byte(MEMBER_TABLE_TAG)
  writer.byte(MEMBER_TABLE_VERSION)
  const records = members(table)
  writer.varUint(records.length)
  for (const record of records) writeRecord(writer, record)
  return writer.finish()
}

/**
 * Strict inverse of `encode`: throws MemberTableDecodeError (only) unless the bytes are
 * exactly the canonical encoding of a valid table, checking every length against its
 * limit before reading, so hostile input can neither allocate much nor decode two ways.
 */
export function decode(bytes: Uint8Array): MemberTable {
  const reader = new Reader(bytes, (reason) => new MemberTableDecodeError(reason))
  const tag = reader.byte()
  if (tag !== MEMBER_TABLE_TAG) throw new MemberTableDecodeError(`tag 0x${tag.toString(16)} is not a member table`)
  const version = reader.byte()
  if (version !== MEMBER_TABLE_VERSION) throw new MemberTableDecodeError(`unsupported version ${version}`)
  const count = reader.varUint()
  // Every record takes at least 6 bytes, which bounds the count by the input size.
  if (count > MAX_MEMBERS || count * 6 > reader.remaining) throw new MemberTableDecodeError(`member count ${count} is too large`)
  const table = new Map<string, MemberRecord>()
  let previous: string | undefined
  for (let i = 0; i < count; i++) {
    const record = readRecord(reader)
    if (previous !== undefined && compareCodePoints(previous, record.peerId) >= 0) {
      throw new MemberTableDecodeError('members are not in strictly increasing peer-id order')
    }
    previous = record.peerId
    table.set(record.peerId, record)
  }
  reader.end()
  return table
}

function writeRecord(writer: Writer, record: MemberRecord): void {
  writer.string(record.peerId)
  writer.varUint(record.incarnation)
  writer.byte(STATUS_BYTE[record.status])
  writer.varUint(record.vnodes)
  writer.varUint(record.addrs.length)
  for (const addr of record.addrs) writer.string(addr)
}

function readRecord(reader: Reader): MemberRecord {
  const peerId = reader.string(MAX_PEER_ID_BYTES)
  if (peerId.length === 0) throw new MemberTableDecodeError('empty peer id')
  const incarnation = reader.varUint()
  const status = STATUS_OF_BYTE[reader.byte()]
  if (status === undefined) throw new MemberTableDecodeError(`unknown status for ${peerId}`)
  const vnodes = reader.varUint()
  if (vnodes > MAX_VNODES) throw new MemberTableDecodeError(`vnodes ${vnodes} above ${MAX_VNODES} for ${peerId}`)
  const addrCount = reader.varUint()
  if (addrCount > MAX_ADDRS) throw new MemberTableDecodeError(`${addrCount} addresses for ${peerId}, limit ${MAX_ADDRS}`)
  const addrs: string[] = []
  for (let i = 0; i < addrCount; i++) {
    const addr = reader.string(MAX_ADDR_BYTES)
    if (addr.length === 0) throw new MemberTableDecodeError(`empty address for ${peerId}`)
    if (i > 0 && compareCodePoints(addrs[i - 1]!, addr) >= 0) {
      throw new MemberTableDecodeError(`addresses of ${peerId} are not strictly increasing`)
    }
    addrs.push(addr)
  }
  return freezeRecord({ peerId, addrs, vnodes, incarnation, status })
}

function encodeRecordBytes(record: MemberRecord): Uint8Array {
  const writer = new Writer()
  writeRecord(writer, record)
  return writer.finish()
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

/** Checks the limits `decode` enforces and returns the canonical, frozen record. */
function normalize(input: MemberRecordInput): MemberRecord {
  const { peerId, incarnation } = input
  const vnodes = input.vnodes ?? DEFAULT_VNODES
  const status = input.status ?? 'alive'
  const fail = (reason: string): never => {
    throw new InvalidMemberRecordError(`${reason} (peer ${JSON.stringify(peerId)})`)
  }
  if (typeof peerId !== 'string' || peerId.length === 0 || !isWellFormed(peerId) || utf8Length(peerId) > MAX_PEER_ID_BYTES) {
    fail(`peerId must be well-formed text of 1..${MAX_PEER_ID_BYTES} UTF-8 bytes`)
  }
  if (!Number.isSafeInteger(incarnation) || incarnation < 0) fail('incarnation must be a non-negative safe integer')
  if (!Number.isInteger(vnodes) || vnodes < 0 || vnodes > MAX_VNODES) fail(`vnodes must be an integer in 0..${MAX_VNODES}`)
  if (status !== 'alive' && status !== 'left') fail(`status must be 'alive' or 'left'`)
  if (!Array.isArray(input.addrs)) fail('addrs must be an array')
  for (const addr of input.addrs) {
    if (typeof addr !== 'string' || addr.length === 0 || !isWellFormed(addr) || utf8Length(addr) > MAX_ADDR_BYTES) {
      fail(`addresses must be well-formed text of 1..${MAX_ADDR_BYTES} UTF-8 bytes`)
    }
  }
  const addrs = [...new Set(input.addrs)].sort(compareCodePoints)
  if (addrs.length > MAX_ADDRS) fail(`at most ${MAX_ADDRS} distinct addresses`)
  return freezeRecord({ peerId, addrs, vnodes, incarnation, status })
}

// Records are shared between tables (merge copies references), so nobody may mutate one.
function freezeRecord(record: MemberRecord): MemberRecord {
  Object.freeze(record.addrs)
  return Object.freeze(record)
}
