// The cluster membership as a state-based CRDT with delta mutators: a map from peer id
// to that peer's latest record. Any two nodes that have seen the same records hold the
// same table, whatever order the announcements arrived in, so the ring built from it
// is the same everywhere.
//
// Per peer, the record that is greatest in this total order wins:
//   1. higher incarnation (a peer bumps it to change its record, or to rejoin);
//   2. at equal incarnation, 'left' over 'alive': leaving is explicit and final for that
//      incarnation, so a stale 'alive' gossiped after the leave cannot resurrect it;
//   3. at equal incarnation and status, the greater content: more vnodes, then the
//      greater address list (code point order, element by element). Only the peer
//      itself writes records at its incarnation (and a leave copies its content), so two
//      such records are the same member's own edits made without bumping; any
//      deterministic choice converges, and the peer wins for sure by bumping.
// Taking the per-peer maximum of a total order is a join: commutative, associative,
// idempotent.
//
// A record is what a member announces on the wire, and it has one encoding: the wire's.
// A table is encoded as the `members` message that answers a join (version byte, type
// tag, protobuf Members), which is also what the store keeps, one row per peer.
//
// Use as a namespace: `import * as memberTable from './member-table.js'`.
import { compareCodePoints, utf8Length } from '../../../crdts/text.js'
import { DEFAULT_VNODES } from '../ring/constants.js'
import { decodeMessage, encodeMessage } from '../../wire/codec.js'
import { MAX_ADDR_BYTES, MAX_ADDRS, MAX_MESSAGE_BYTES, MAX_PEER_ID_BYTES, MAX_VNODES } from '../../wire/limits.js'
import type { MemberAnnouncement, Message } from '../../wire/messages.js'
import { InvalidMemberRecordError, MemberTableDecodeError } from './errors.js'

/**
 * A member's record, exactly as announced on the wire. In a table its addresses are
 * distinct and in code point order (canonical).
 */
export type MemberRecord = MemberAnnouncement

export type MemberStatus = MemberRecord['status']

/** What a caller announces; addrs in any order, vnodes and status defaulted. */
export interface MemberRecordInput {
  readonly peerId: string
  readonly addrs: readonly string[]
  readonly vnodes?: number
  readonly incarnation: number
  readonly status?: MemberStatus
}

export type MemberTable = ReadonlyMap<string, MemberRecord>

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

/** Total order on two records of the same peer (see the header): > 0 when `a` wins. */
export function compareRecords(a: MemberRecord, b: MemberRecord): number {
  if (a.incarnation !== b.incarnation) return a.incarnation < b.incarnation ? -1 : 1
  if (a.status !== b.status) return a.status === 'left' ? 1 : -1
  if (a === b) return 0
  if (a.vnodes !== b.vnodes) return a.vnodes < b.vnodes ? -1 : 1
  return compareAddrs(a.addrs, b.addrs)
}

/**
 * Records from a peer (a join, its answer, a heartbeat) as a delta. Each must be valid
 * and canonical (addresses distinct and in code point order), or InvalidMemberRecordError;
 * a peer named twice keeps the winning record.
 */
export function fromRecords(records: readonly MemberRecord[]): MemberTable {
  const table = new Map<string, MemberRecord>()
  for (const input of records) {
    const record = normalize(input)
    if (!sameStrings(record.addrs, input.addrs)) {
      throw new InvalidMemberRecordError(`addresses must be distinct and in code point order (peer ${JSON.stringify(record.peerId)})`)
    }
    const current = table.get(record.peerId)
    if (current === undefined || compareRecords(record, current) > 0) table.set(record.peerId, record)
  }
  return table
}

/** The wire's `members` message holding the table in peer-id order: equal tables give equal bytes. */
export function encode(table: MemberTable): Uint8Array {
  return encodeMessage({ type: 'members', members: members(table) }, { maxBytes: MAX_MESSAGE_BYTES })
}

/**
 * Strict inverse of `encode`: throws MemberTableDecodeError (only) unless the bytes are
 * exactly the canonical encoding of a valid table. The wire codec checks the limits and
 * the one encoding of the message; this adds the order of peers and addresses.
 */
export function decode(bytes: Uint8Array): MemberTable {
  let message: Message
  try {
    message = decodeMessage(bytes, { maxBytes: MAX_MESSAGE_BYTES })
  } catch (err) {
    throw new MemberTableDecodeError(err instanceof Error ? err.message : String(err))
  }
  if (message.type !== 'members') throw new MemberTableDecodeError(`expected a members message, got ${message.type}`)
  const table = new Map<string, MemberRecord>()
  let previous: string | undefined
  for (const input of message.members) {
    if (previous !== undefined && compareCodePoints(previous, input.peerId) >= 0) {
      throw new MemberTableDecodeError('members are not in strictly increasing peer-id order')
    }
    previous = input.peerId
    if (!isStrictlyIncreasing(input.addrs)) {
      throw new MemberTableDecodeError(`addresses of ${JSON.stringify(input.peerId)} are not strictly increasing`)
    }
    table.set(input.peerId, freezeRecord({ ...input }))
  }
  return table
}

function compareAddrs(a: readonly string[], b: readonly string[]): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const order = compareCodePoints(a[i]!, b[i]!)
    if (order !== 0) return order
  }
  return a.length - b.length
}

function isStrictlyIncreasing(addrs: readonly string[]): boolean {
  for (let i = 1; i < addrs.length; i++) if (compareCodePoints(addrs[i - 1]!, addrs[i]!) >= 0) return false
  return true
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** Checks the limits `decode` enforces and returns the canonical, frozen record. */
function normalize(input: MemberRecordInput): MemberRecord {
  const { peerId, incarnation } = input
  const vnodes = input.vnodes ?? DEFAULT_VNODES
  const status = input.status ?? 'alive'
  const fail = (reason: string): never => {
    throw new InvalidMemberRecordError(`${reason} (peer ${JSON.stringify(peerId)})`)
  }
  if (typeof peerId !== 'string' || peerId.length === 0 || !peerId.isWellFormed() || utf8Length(peerId) > MAX_PEER_ID_BYTES) {
    fail(`peerId must be well-formed text of 1..${MAX_PEER_ID_BYTES} UTF-8 bytes`)
  }
  if (!Number.isSafeInteger(incarnation) || incarnation < 0) fail('incarnation must be a non-negative safe integer')
  if (!Number.isInteger(vnodes) || vnodes < 0 || vnodes > MAX_VNODES) fail(`vnodes must be an integer in 0..${MAX_VNODES}`)
  if (status !== 'alive' && status !== 'left') fail(`status must be 'alive' or 'left'`)
  if (!Array.isArray(input.addrs)) fail('addrs must be an array')
  for (const addr of input.addrs) {
    if (typeof addr !== 'string' || addr.length === 0 || !addr.isWellFormed() || utf8Length(addr) > MAX_ADDR_BYTES) {
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
