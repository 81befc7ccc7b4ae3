// One entry per message type: its tag byte, its protobuf message, and the mapping both
// ways. `toPb` is where every limit is checked: encoding runs it on the caller's message,
// and decoding runs it on the decoded message before comparing re-encoded bytes, so the
// two sides cannot disagree. `fromPb` only builds the message (copying bytes, naming
// codes, parsing JSON text).
import { equals } from 'uint8arrays/equals'
import type { Codec, DecodeOptions } from 'protons-runtime'
import type { JsonValue } from '../../crdts/index.js'
import { DELETE, type KeyOperation } from '../base/operations.js'
import { MAX_TTL_MS, validateFieldPath } from '../base/validation.js'
import * as f from './fields.js'
import type { Fail } from './fields.js'
import {
  ARC_HASH_BYTES,
  DIGEST_BYTES,
  MAX_ADDR_BYTES,
  MAX_ADDRS,
  MAX_ERROR_MESSAGE_BYTES,
  MAX_HASH_BYTES,
  MAX_FINGERPRINT_BYTES,
  MAX_HINT_AGE_MS,
  MAX_IDEMPOTENCY_KEY_BYTES,
  LARGE_DIGEST_BYTES,
  LARGE_PART_BYTES,
  MAX_KEYS_PER_BATCH,
  MAX_LARGE_PARTS,
  MAX_LISTED_PAGES,
  MAX_PAGES_PER_REQUEST,
  MAX_MEMBERS,
  MAX_MESSAGE_BYTES,
  MAX_PEER_ID_BYTES,
  MAX_RECORD_BYTES,
  MAX_VNODES,
} from './limits.js'
import type { ClaimRequest, ErrorCode, KeyDigest, KeyState, MemberAnnouncement, Message, MessageType, ReplicateItem } from './messages.js'
import * as pb from './rumordb-pb.js'

type MessageOf<T extends MessageType> = Extract<Message, { type: T }>

export interface PayloadCodec<T extends MessageType, P> {
  /** Second byte of the frame. Below 0x80, so protons writes it as one varint byte. */
  readonly tag: number
  readonly codec: () => Codec<P>
  /**
   * List limits for protons, one above ours: it stops reading a hostile list early, while
   * a list just over our limit still reaches `toPb` and gets the precise message.
   */
  readonly limits?: NonNullable<DecodeOptions<P>['limits']>
  toPb(msg: MessageOf<T>, fail: Fail): P
  fromPb(payload: P, fail: Fail): MessageOf<T>
}

// ---- parts ----------------------------------------------------------------------------

const STATUSES: readonly MemberAnnouncement['status'][] = ['alive', 'left']

const CLAIM_PHASES: readonly ClaimRequest['phase'][] = ['prepare', 'accept']

// Listed in protobuf code order: code = index + 1, and 0 (the unwritten default) is "missing".
const ERROR_CODES: readonly ErrorCode[] = [
  'BAD_REQUEST',
  'TYPE_MISMATCH',
  'INVALID_VALUE',
  'TOO_LARGE',
  'CLOCK_DRIFT',
  'UNAVAILABLE',
  'INTERNAL',
]

const MEMBER_LIMITS = { addrs: MAX_ADDRS + 1 }
const BATCH_LIMIT = MAX_KEYS_PER_BATCH + 1

function object(value: unknown, what: string, fail: Fail): Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return fail(`${what} must be an object, got ${f.describe(value)}`)
  return value as Record<string, unknown>
}

function memberToPb(value: unknown, what: string, fail: Fail): pb.Member {
  const m = object(value, what, fail)
  const status = STATUSES.indexOf(m.status as MemberAnnouncement['status'])
  if (status < 0) fail(`${what}.status must be 'alive' or 'left', got ${f.describe(m.status)}`)
  const addrs = f.list<unknown>(m.addrs, `${what}.addrs`, MAX_ADDRS, fail)
  return {
    peerId: f.text(m.peerId, `${what}.peerId`, true, MAX_PEER_ID_BYTES, fail),
    addrs: addrs.map((addr, i) => f.text(addr, `${what}.addrs[${i}]`, true, MAX_ADDR_BYTES, fail)),
    vnodes: f.intIn(m.vnodes, `${what}.vnodes`, 0, MAX_VNODES, fail),
    incarnation: f.safeUint(m.incarnation, `${what}.incarnation`, fail),
    status,
  }
}

function memberFromPb(p: pb.Member | undefined, what: string, fail: Fail): MemberAnnouncement {
  if (p === undefined) return fail(`${what} is missing`)
  const status = STATUSES[p.status] ?? fail(`${what}.status code ${p.status} is unknown (0 alive, 1 left)`)
  return { peerId: p.peerId, addrs: p.addrs, vnodes: p.vnodes, incarnation: p.incarnation, status }
}

function keyStatesToPb(value: unknown, what: string, fail: Fail): pb.KeyState[] {
  return f.list<unknown>(value, what, MAX_KEYS_PER_BATCH, fail).map((entry, i) => {
    const e = object(entry, `${what}[${i}]`, fail)
    const out: pb.KeyState = { key: f.key(e.key, `${what}[${i}].key`, fail), state: f.bytes(e.state, `${what}[${i}].state`, fail) }
    if (e.pageDigests !== undefined) out.pageDigests = digestList(e.pageDigests, `${what}[${i}].pageDigests`, MAX_LISTED_PAGES, fail)
    return out
  })
}

function keyStatesFromPb(entries: readonly pb.KeyState[]): KeyState[] {
  return entries.map((e) => ({ key: e.key, state: f.ownBytes(e.state), ...(e.pageDigests === undefined ? {} : { pageDigests: f.ownBytes(e.pageDigests) }) }))
}

/** 1 to `max` digests of DIGEST_BYTES each, joined. */
function digestList(value: unknown, what: string, max: number, fail: Fail): Uint8Array {
  const bytes = f.bytes(value, what, fail, { max: max * DIGEST_BYTES })
  if (bytes.length === 0 || bytes.length % DIGEST_BYTES !== 0) fail(`${what} must hold 1 to ${max} digests of ${DIGEST_BYTES} bytes, got ${bytes.length} bytes`)
  return bytes
}

function keys(value: unknown, what: string, fail: Fail): string[] {
  return f.list<unknown>(value, what, MAX_KEYS_PER_BATCH, fail).map((k, i) => f.key(k, `${what}[${i}]`, fail))
}

/** protons 7 reads fixed64 as signed (int64); ring tokens are unsigned. */
function unsigned64(value: bigint): bigint {
  return BigInt.asUintN(64, value)
}

function hash(value: unknown, what: string, fail: Fail): Uint8Array {
  return f.bytes(value, what, fail, { max: MAX_HASH_BYTES })
}

/** A replicate's fields, on its own or as an item of a replicate-batch (`what` prefixes the field names). */
function replicateToPb(
  m: { readonly key?: unknown; readonly state?: unknown; readonly hintFor?: unknown; readonly hintAgeMs?: unknown; readonly record?: unknown },
  what: string,
  fail: Fail,
): pb.Replicate {
  const out: pb.Replicate = { key: f.key(m.key, `${what}key`, fail), state: f.bytes(m.state, `${what}state`, fail) }
  if (m.hintFor !== undefined) out.hintFor = f.text(m.hintFor, `${what}hintFor`, true, MAX_PEER_ID_BYTES, fail)
  if (m.hintAgeMs !== undefined) {
    if (m.hintFor === undefined) fail(`${what}hintAgeMs without hintFor`)
    out.hintAgeMs = f.intIn(m.hintAgeMs, `${what}hintAgeMs`, 0, MAX_HINT_AGE_MS, fail)
  }
  if (m.record !== undefined) {
    const r = object(m.record, `${what}record`, fail)
    out.record = {
      id: f.text(r.id, `${what}record.id`, true, MAX_IDEMPOTENCY_KEY_BYTES, fail),
      result: f.bytes(r.result, `${what}record.result`, fail, { max: MAX_RECORD_BYTES }),
    }
  }
  return out
}

function replicateFromPb(p: pb.Replicate): ReplicateItem {
  return {
    key: p.key,
    state: f.ownBytes(p.state),
    ...(p.hintFor === undefined ? {} : { hintFor: p.hintFor }),
    ...(p.hintFor === undefined || p.hintAgeMs === undefined ? {} : { hintAgeMs: p.hintAgeMs }),
    ...(p.record === undefined ? {} : { record: { id: p.record.id, result: f.ownBytes(p.record.result) } }),
  }
}

// Field bounds of the transfer messages only: how parts fit together (count, lengths,
// digest) is checked by the receiver (src/cluster/large-messages.ts).
function partIndex(value: unknown, fail: Fail): number {
  return f.intIn(value, 'index', 0, MAX_LARGE_PARTS - 1, fail)
}

function messageSize(value: unknown, fail: Fail): number {
  return f.intIn(value, 'size', 1, MAX_MESSAGE_BYTES, fail)
}

function partData(value: unknown, fail: Fail): Uint8Array {
  const data = f.bytes(value, 'data', fail, { max: LARGE_PART_BYTES })
  if (data.length === 0) fail('data must not be empty (a part never is)')
  return data
}

// ---- operations -----------------------------------------------------------------------

function opToPb(value: unknown, fail: Fail): Pick<pb.Apply, 'op' | 'amount' | 'json' | 'path'> {
  const op = object(value, 'op', fail)
  if (op.type === 'map') {
    const path = fieldPath(op.path, fail)
    if (op.op === 'remove') return { op: 7, amount: 0, json: '', path }
    if (op.op !== 'update') return fail(`op map.${f.describe(op.op)} is not an operation of a map (update, remove)`)
    const update = object(op.update, 'op.update', fail)
    if (update.type === 'map' || update.op === 'delete') return fail('a map field update must be a write of a counter, set or register')
    return { ...opToPb(update, fail), path }
  }
  const amount = (): number => f.safeUint(op.amount, 'op.amount', fail)
  const json = (field: string): string => f.toJsonText(op[field], `op.${field}`, fail)
  switch (`${String(op.type)}.${String(op.op)}`) {
    case 'gcounter.increment':
      return { op: 1, amount: amount(), json: '', path: [] }
    case 'pncounter.increment':
      return { op: 2, amount: amount(), json: '', path: [] }
    case 'pncounter.decrement':
      return { op: 3, amount: amount(), json: '', path: [] }
    case 'orset.add':
      return { op: 4, amount: 0, json: json('element'), path: [] }
    case 'orset.remove':
      return { op: 5, amount: 0, json: json('element'), path: [] }
    case 'lww.set':
      return { op: 6, amount: 0, json: json('value'), path: [] }
    case 'undefined.delete':
      return { op: 7, amount: 0, json: '', path: [] }
    default:
      return fail(`op ${f.describe(op.type)}.${f.describe(op.op)} is not an operation of any CRDT type`)
  }
}

/** A write's time to live: 1 to MAX_TTL_MS milliseconds, never on a delete. */
function ttl(value: unknown, op: unknown, fail: Fail): number {
  if ((op as { op?: unknown } | undefined)?.op === 'delete') return fail('a delete takes no ttlMs')
  return f.intIn(value, 'ttlMs', 1, MAX_TTL_MS, fail)
}

/** A map field path on the wire: 1 to MAX_MAP_DEPTH valid field names. */
function fieldPath(value: unknown, fail: Fail): string[] {
  if (!Array.isArray(value)) return fail('op.path must be an array of field names')
  try {
    validateFieldPath(value)
  } catch (err) {
    return fail(`op.path: ${(err as Error).message}`)
  }
  return [...value] as string[]
}

function opFromPb(p: pb.Apply, fail: Fail): KeyOperation {
  if (p.path.length > 0) {
    const path = fieldPath(p.path, fail)
    const inner = opFromPb({ ...p, path: [] }, fail)
    if (inner.op === 'delete') return { type: 'map', op: 'remove', path }
    if (inner.type === 'map') return fail('a map field update nests a map operation')
    return { type: 'map', op: 'update', path, update: inner }
  }
  const counter = p.op >= 1 && p.op <= 3
  if (counter && p.json !== '') fail(`counter operation code ${p.op} carries a JSON value`)
  if (!counter && p.amount !== 0) fail(`operation code ${p.op} carries an amount`)
  const json = (): JsonValue => f.fromJsonText(p.json, p.op === 6 ? 'op.value' : 'op.element', fail)
  switch (p.op) {
    case 1:
      return { type: 'gcounter', op: 'increment', amount: p.amount }
    case 2:
      return { type: 'pncounter', op: 'increment', amount: p.amount }
    case 3:
      return { type: 'pncounter', op: 'decrement', amount: p.amount }
    case 4:
      return { type: 'orset', op: 'add', element: json() }
    case 5:
      return { type: 'orset', op: 'remove', element: json() }
    case 6:
      return { type: 'lww', op: 'set', value: json() }
    case 7:
      if (p.json !== '') fail('a delete carries a JSON value')
      return DELETE
    default:
      return fail(`operation code ${p.op} is unknown`)
  }
}

// ---- the table ------------------------------------------------------------------------

export type PayloadCodecs = { readonly [T in MessageType]: PayloadCodec<T, never> }

function entry<T extends MessageType, P>(c: PayloadCodec<T, P>): PayloadCodec<T, never> {
  return c as unknown as PayloadCodec<T, never>
}

const empty = <T extends 'ack' | 'sync-equal' | 'large-stored'>(type: T, tag: number, codec: () => Codec<object>): PayloadCodec<T, never> =>
  entry<T, object>({ tag, codec, toPb: () => ({}), fromPb: () => ({ type }) as MessageOf<T> })

/** Tags: requests 0x01.., responses 0x11.., broadcasts 0x21... Never reuse a retired tag. */
export const PAYLOADS: PayloadCodecs = {
  // ---- requests
  apply: entry<'apply', pb.Apply>({
    tag: 0x01,
    codec: pb.Apply.codec,
    toPb: (m, fail) => {
      const out: pb.Apply = { key: f.key(m.key, 'key', fail), ...opToPb(m.op, fail) }
      if (m.idempotencyKey !== undefined) {
        out.idempotencyKey = f.text(m.idempotencyKey, 'idempotencyKey', true, MAX_IDEMPOTENCY_KEY_BYTES, fail)
      }
      if (m.fingerprint !== undefined) {
        if (m.idempotencyKey === undefined) fail('fingerprint without idempotencyKey')
        out.fingerprint = f.text(m.fingerprint, 'fingerprint', true, MAX_FINGERPRINT_BYTES, fail)
      }
      if (m.ttlMs !== undefined) out.ttlMs = ttl(m.ttlMs, m.op, fail)
      return out
    },
    fromPb: (p, fail) => {
      const op = opFromPb(p, fail)
      return {
        type: 'apply',
        key: p.key,
        op,
        ...(p.idempotencyKey === undefined ? {} : { idempotencyKey: p.idempotencyKey }),
        ...(p.fingerprint === undefined ? {} : { fingerprint: p.fingerprint }),
        ...(p.ttlMs === undefined ? {} : { ttlMs: ttl(p.ttlMs, op, fail) }),
      }
    },
  }),
  replicate: entry<'replicate', pb.Replicate>({
    tag: 0x02,
    codec: pb.Replicate.codec,
    toPb: (m, fail) => replicateToPb(m, '', fail),
    fromPb: (p) => ({ type: 'replicate', ...replicateFromPb(p) }),
  }),
  'replicate-batch': entry<'replicate-batch', pb.ReplicateBatch>({
    tag: 0x0c,
    codec: pb.ReplicateBatch.codec,
    limits: { items: BATCH_LIMIT },
    toPb: (m, fail) => ({
      items: f.list<unknown>(m.items, 'items', MAX_KEYS_PER_BATCH, fail).map((item, i) => replicateToPb(object(item, `items[${i}]`, fail), `items[${i}].`, fail)),
    }),
    fromPb: (p) => ({ type: 'replicate-batch', items: p.items.map(replicateFromPb) }),
  }),
  read: entry<'read', pb.Read>({
    tag: 0x03,
    codec: pb.Read.codec,
    toPb: (m, fail) => ({ key: f.key(m.key, 'key', fail) }),
    fromPb: (p) => ({ type: 'read', key: p.key }),
  }),
  join: entry<'join', pb.Join>({
    tag: 0x04,
    codec: pb.Join.codec,
    limits: { member: MEMBER_LIMITS },
    toPb: (m, fail) => ({ member: memberToPb(m.member, 'member', fail) }),
    fromPb: (p, fail) => ({ type: 'join', member: memberFromPb(p.member, 'member', fail) }),
  }),
  claim: entry<'claim', pb.Claim>({
    tag: 0x08,
    codec: pb.Claim.codec,
    toPb: (m, fail) => {
      const phase = CLAIM_PHASES.indexOf(m.phase)
      if (phase < 0) fail(`phase must be 'prepare' or 'accept', got ${f.describe(m.phase)}`)
      if ((m.phase === 'accept') !== (m.applier !== undefined)) fail('an accept (and only an accept) names an applier')
      const ballot = object(m.ballot, 'ballot', fail)
      return {
        key: f.key(m.key, 'key', fail),
        id: f.text(m.id, 'id', true, MAX_IDEMPOTENCY_KEY_BYTES, fail),
        fingerprint: f.text(m.fingerprint, 'fingerprint', true, MAX_FINGERPRINT_BYTES, fail),
        phase,
        round: f.safeUint(ballot.round, 'ballot.round', fail),
        proposer: f.text(ballot.proposer, 'ballot.proposer', true, MAX_PEER_ID_BYTES, fail),
        applier: m.applier === undefined ? '' : f.text(m.applier, 'applier', true, MAX_PEER_ID_BYTES, fail),
      }
    },
    fromPb: (p, fail) => {
      const phase = CLAIM_PHASES[p.phase] ?? fail(`claim phase code ${p.phase} is unknown (0 prepare, 1 accept)`)
      if ((phase === 'accept') !== (p.applier !== '')) fail('an accept (and only an accept) names an applier')
      return {
        type: 'claim',
        key: p.key,
        id: p.id,
        fingerprint: p.fingerprint,
        phase,
        ballot: { round: p.round, proposer: p.proposer },
        ...(phase === 'accept' ? { applier: p.applier } : {}),
      }
    },
  }),
  'sync-root': entry<'sync-root', pb.SyncRoot>({
    tag: 0x05,
    codec: pb.SyncRoot.codec,
    toPb: (m, fail) => ({ ringVersion: hash(m.ringVersion, 'ringVersion', fail), root: hash(m.root, 'root', fail) }),
    fromPb: (p) => ({ type: 'sync-root', ringVersion: f.ownBytes(p.ringVersion), root: f.ownBytes(p.root) }),
  }),
  'sync-keys': entry<'sync-keys', pb.SyncKeys>({
    tag: 0x06,
    codec: pb.SyncKeys.codec,
    limits: { arcs: BATCH_LIMIT, entries: BATCH_LIMIT },
    toPb: (m, fail) => ({
      ringVersion: hash(m.ringVersion, 'ringVersion', fail),
      arcs: f.list<unknown>(m.arcs, 'arcs', MAX_KEYS_PER_BATCH, fail).map((end, i) => f.uint64(end, `arcs[${i}]`, fail)),
      entries: f.list<unknown>(m.entries, 'entries', MAX_KEYS_PER_BATCH, fail).map((entry, i) => {
        const e = object(entry, `entries[${i}]`, fail)
        return {
          key: f.key(e.key, `entries[${i}].key`, fail),
          digest: f.bytes(e.digest, `entries[${i}].digest`, fail, { exact: DIGEST_BYTES }),
        }
      }),
    }),
    fromPb: (p) => ({
      type: 'sync-keys',
      ringVersion: f.ownBytes(p.ringVersion),
      arcs: p.arcs.map(unsigned64),
      entries: p.entries.map((e): KeyDigest => ({ key: e.key, digest: f.ownBytes(e.digest) })),
    }),
  }),
  'sync-ranges': entry<'sync-ranges', pb.SyncRanges>({
    tag: 0x0b,
    codec: pb.SyncRanges.codec,
    limits: { ranges: BATCH_LIMIT },
    toPb: (m, fail) => {
      const ranges = f.list<unknown>(m.ranges, 'ranges', MAX_KEYS_PER_BATCH, fail).map((end, i) => f.uint64(end, `ranges[${i}]`, fail))
      if (ranges.length % 2 !== 0) fail(`ranges must list (start, end) pairs, got ${ranges.length} bounds`)
      const hashes = f.list<unknown>(m.hashes, 'hashes', MAX_KEYS_PER_BATCH / 2, fail)
      if (hashes.length !== ranges.length / 2) fail(`hashes must hold one aggregate per range: ${hashes.length} for ${ranges.length / 2} ranges`)
      const joined = new Uint8Array(hashes.length * ARC_HASH_BYTES)
      hashes.forEach((h, i) => joined.set(f.bytes(h, `hashes[${i}]`, fail, { exact: ARC_HASH_BYTES }), i * ARC_HASH_BYTES))
      return { ringVersion: hash(m.ringVersion, 'ringVersion', fail), ranges, hashes: joined }
    },
    fromPb: (p, fail) => {
      if (p.hashes.length !== (p.ranges.length / 2) * ARC_HASH_BYTES) fail(`hashes must hold ${ARC_HASH_BYTES} bytes per range`)
      const hashes: Uint8Array[] = []
      for (let at = 0; at < p.hashes.length; at += ARC_HASH_BYTES) hashes.push(p.hashes.slice(at, at + ARC_HASH_BYTES))
      return { type: 'sync-ranges', ringVersion: f.ownBytes(p.ringVersion), ranges: p.ranges.map(unsigned64), hashes }
    },
  }),
  'sync-push': entry<'sync-push', pb.SyncPush>({
    tag: 0x07,
    codec: pb.SyncPush.codec,
    limits: { states: BATCH_LIMIT },
    toPb: (m, fail) => ({ states: keyStatesToPb(m.states, 'states', fail) }),
    fromPb: (p) => ({ type: 'sync-push', states: keyStatesFromPb(p.states) }),
  }),
  'sync-pages': entry<'sync-pages', pb.SyncPages>({
    tag: 0x0d,
    codec: pb.SyncPages.codec,
    toPb: (m, fail) => ({ key: f.key(m.key, 'key', fail), digests: digestList(m.digests, 'digests', MAX_PAGES_PER_REQUEST, fail) }),
    fromPb: (p) => ({ type: 'sync-pages', key: p.key, digests: f.ownBytes(p.digests) }),
  }),

  // ---- responses
  applied: entry<'applied', pb.Applied>({
    tag: 0x11,
    codec: pb.Applied.codec,
    // A state equal to the delta (a counter or register with one writer, a key's first
    // write) is not sent twice: the field is left empty, which no encoded state is.
    toPb: (m, fail) => {
      const state = f.bytes(m.state, 'state', fail)
      if (state.length === 0) fail('state must not be empty (an encoded state never is)')
      const delta = f.bytes(m.delta, 'delta', fail)
      return { delta, state: equals(state, delta) ? new Uint8Array(0) : state, deleted: m.deleted === true }
    },
    fromPb: (p) => {
      const delta = f.ownBytes(p.delta)
      return { type: 'applied', delta, state: p.state.length === 0 ? delta : f.ownBytes(p.state), ...(p.deleted ? { deleted: true } : {}) }
    },
  }),
  ack: empty('ack', 0x12, pb.Ack.codec),
  replicated: entry<'replicated', pb.Replicated>({
    tag: 0x1f,
    codec: pb.Replicated.codec,
    limits: { refused: BATCH_LIMIT },
    toPb: (m, fail) => {
      const refused = f.list<unknown>(m.refused, 'refused', MAX_KEYS_PER_BATCH, fail).map((index, i) => f.intIn(index, `refused[${i}]`, 0, MAX_KEYS_PER_BATCH - 1, fail))
      refused.forEach((index, i) => {
        if (i > 0 && index <= (refused[i - 1] as number)) fail(`refused must be ascending indexes, got ${refused[i - 1]} then ${index}`)
      })
      return { refused }
    },
    fromPb: (p) => ({ type: 'replicated', refused: p.refused }),
  }),
  replayed: entry<'replayed', pb.Replayed>({
    tag: 0x19,
    codec: pb.Replayed.codec,
    toPb: (m, fail) => {
      const result = f.bytes(m.result, 'result', fail, { max: MAX_RECORD_BYTES })
      if (result.length === 0) fail('result must not be empty (an outcome record never is)')
      return { result }
    },
    fromPb: (p) => ({ type: 'replayed', result: f.ownBytes(p.result) }),
  }),
  claimed: entry<'claimed', pb.Claimed>({
    tag: 0x1a,
    codec: pb.Claimed.codec,
    toPb: (m, fail) => {
      const promised = object(m.promised, 'promised', fail)
      const out: pb.Claimed = {
        ok: m.ok === true,
        fingerprint: f.text(m.fingerprint, 'fingerprint', true, MAX_FINGERPRINT_BYTES, fail),
        promisedRound: f.safeUint(promised.round, 'promised.round', fail),
        promisedBy: f.text(promised.proposer, 'promised.proposer', true, MAX_PEER_ID_BYTES, fail),
        acceptedRound: 0,
        acceptedBy: '',
        acceptedApplier: '',
      }
      if (m.accepted !== undefined) {
        const accepted = object(m.accepted, 'accepted', fail)
        const ballot = object(accepted.ballot, 'accepted.ballot', fail)
        out.acceptedRound = f.safeUint(ballot.round, 'accepted.ballot.round', fail)
        out.acceptedBy = f.text(ballot.proposer, 'accepted.ballot.proposer', true, MAX_PEER_ID_BYTES, fail)
        out.acceptedApplier = f.text(accepted.applier, 'accepted.applier', true, MAX_PEER_ID_BYTES, fail)
      }
      return out
    },
    fromPb: (p, fail) => {
      const accepted = p.acceptedApplier !== ''
      if (!accepted && (p.acceptedRound !== 0 || p.acceptedBy !== '')) fail('an accepted ballot without an applier')
      return {
        type: 'claimed',
        ok: p.ok,
        fingerprint: p.fingerprint,
        promised: { round: p.promisedRound, proposer: p.promisedBy },
        ...(accepted ? { accepted: { ballot: { round: p.acceptedRound, proposer: p.acceptedBy }, applier: p.acceptedApplier } } : {}),
      }
    },
  }),
  state: entry<'state', pb.State>({
    tag: 0x13,
    codec: pb.State.codec,
    toPb: (m, fail) => {
      if (m.state === undefined) {
        if (m.pageDigests !== undefined) fail('pageDigests without a state')
        return {}
      }
      const out: pb.State = { state: f.bytes(m.state, 'state', fail) }
      if (m.pageDigests !== undefined) out.pageDigests = digestList(m.pageDigests, 'pageDigests', MAX_LISTED_PAGES, fail)
      return out
    },
    fromPb: (p) =>
      p.state === undefined
        ? { type: 'state' }
        : { type: 'state', state: f.ownBytes(p.state), ...(p.pageDigests === undefined ? {} : { pageDigests: f.ownBytes(p.pageDigests) }) },
  }),
  members: entry<'members', pb.Members>({
    tag: 0x14,
    codec: pb.Members.codec,
    limits: { members: MAX_MEMBERS + 1, members$: MEMBER_LIMITS },
    toPb: (m, fail) => ({
      members: f.list<unknown>(m.members, 'members', MAX_MEMBERS, fail).map((x, i) => memberToPb(x, `members[${i}]`, fail)),
    }),
    fromPb: (p, fail) => ({ type: 'members', members: p.members.map((x, i) => memberFromPb(x, `members[${i}]`, fail)) }),
  }),
  'sync-equal': empty('sync-equal', 0x15, pb.SyncEqual.codec),
  'sync-arcs': entry<'sync-arcs', pb.SyncArcs>({
    tag: 0x16,
    codec: pb.SyncArcs.codec,
    limits: { arcs: BATCH_LIMIT },
    toPb: (m, fail) => ({
      ringVersion: hash(m.ringVersion, 'ringVersion', fail),
      arcs: f.list<unknown>(m.arcs, 'arcs', MAX_KEYS_PER_BATCH, fail).map((arc, i) => {
        const a = object(arc, `arcs[${i}]`, fail)
        return {
          end: f.uint64(a.end, `arcs[${i}].end`, fail),
          hash: f.bytes(a.hash, `arcs[${i}].hash`, fail, { exact: ARC_HASH_BYTES }),
        }
      }),
    }),
    fromPb: (p) => ({
      type: 'sync-arcs',
      ringVersion: f.ownBytes(p.ringVersion),
      arcs: p.arcs.map((a) => ({ end: unsigned64(a.end), hash: f.ownBytes(a.hash) })),
    }),
  }),
  'sync-differ': entry<'sync-differ', pb.SyncDiffer>({
    tag: 0x1e,
    codec: pb.SyncDiffer.codec,
    toPb: (m, fail) => {
      const verdicts = f.list<unknown>(m.differ, 'differ', MAX_KEYS_PER_BATCH / 2, fail)
      const bits = new Uint8Array(Math.ceil(verdicts.length / 8))
      verdicts.forEach((v, i) => {
        if (typeof v !== 'boolean') fail(`differ[${i}] must be a boolean, got ${f.describe(v)}`)
        if (v) bits[i >> 3]! |= 1 << (i & 7)
      })
      return { count: verdicts.length, differ: bits }
    },
    fromPb: (p, fail) => {
      if (p.count > MAX_KEYS_PER_BATCH / 2) fail(`count must be at most ${MAX_KEYS_PER_BATCH / 2}, got ${p.count}`)
      if (p.differ.length !== Math.ceil(p.count / 8)) fail(`differ must be ${Math.ceil(p.count / 8)} bytes for ${p.count} ranges, got ${p.differ.length}`)
      return { type: 'sync-differ', differ: Array.from({ length: p.count }, (_, i) => ((p.differ[i >> 3]! >> (i & 7)) & 1) === 1) }
    },
  }),
  'sync-page-data': entry<'sync-page-data', pb.SyncPageData>({
    tag: 0x20,
    codec: pb.SyncPageData.codec,
    limits: { pages: MAX_PAGES_PER_REQUEST + 1 },
    toPb: (m, fail) => ({ pages: f.list<unknown>(m.pages, 'pages', MAX_PAGES_PER_REQUEST, fail).map((page, i) => f.bytes(page, `pages[${i}]`, fail)) }),
    fromPb: (p) => ({ type: 'sync-page-data', pages: p.pages.map(f.ownBytes) }),
  }),
  'sync-states': entry<'sync-states', pb.SyncStates>({
    tag: 0x17,
    codec: pb.SyncStates.codec,
    limits: { states: BATCH_LIMIT, want: BATCH_LIMIT },
    toPb: (m, fail) => ({ states: keyStatesToPb(m.states, 'states', fail), want: keys(m.want, 'want', fail) }),
    fromPb: (p) => ({ type: 'sync-states', states: keyStatesFromPb(p.states), want: p.want }),
  }),
  error: entry<'error', pb.ErrorReply>({
    tag: 0x18,
    codec: pb.ErrorReply.codec,
    toPb: (m, fail) => {
      const code = ERROR_CODES.indexOf(m.code)
      if (code < 0) fail(`code must be one of ${ERROR_CODES.join(', ')}, got ${f.describe(m.code)}`)
      return { code: code + 1, message: f.text(m.message, 'message', false, MAX_ERROR_MESSAGE_BYTES, fail) }
    },
    fromPb: (p, fail) => {
      const code = ERROR_CODES[p.code - 1] ?? fail(`error code ${p.code} is unknown`)
      return { type: 'error', code, message: p.message }
    },
  }),

  // ---- large-message transfer: requests 0x09.., responses 0x1b..
  'large-part': entry<'large-part', pb.LargePart>({
    tag: 0x09,
    codec: pb.LargePart.codec,
    toPb: (m, fail) => ({
      transfer: f.safeUint(m.transfer, 'transfer', fail),
      index: partIndex(m.index, fail),
      size: messageSize(m.size, fail),
      digest: f.bytes(m.digest, 'digest', fail, { exact: LARGE_DIGEST_BYTES }),
      data: partData(m.data, fail),
    }),
    fromPb: (p) => ({
      type: 'large-part',
      transfer: p.transfer,
      index: p.index,
      size: p.size,
      digest: f.ownBytes(p.digest),
      data: f.ownBytes(p.data),
    }),
  }),
  'large-pull': entry<'large-pull', pb.LargePull>({
    tag: 0x0a,
    codec: pb.LargePull.codec,
    toPb: (m, fail) => ({ transfer: f.safeUint(m.transfer, 'transfer', fail), index: partIndex(m.index, fail) }),
    fromPb: (p) => ({ type: 'large-pull', transfer: p.transfer, index: p.index }),
  }),
  'large-stored': empty('large-stored', 0x1b, pb.LargeStored.codec),
  'large-ready': entry<'large-ready', pb.LargeReady>({
    tag: 0x1c,
    codec: pb.LargeReady.codec,
    toPb: (m, fail) => ({
      transfer: f.safeUint(m.transfer, 'transfer', fail),
      size: messageSize(m.size, fail),
      digest: f.bytes(m.digest, 'digest', fail, { exact: LARGE_DIGEST_BYTES }),
    }),
    fromPb: (p) => ({ type: 'large-ready', transfer: p.transfer, size: p.size, digest: f.ownBytes(p.digest) }),
  }),
  'large-data': entry<'large-data', pb.LargeData>({
    tag: 0x1d,
    codec: pb.LargeData.codec,
    toPb: (m, fail) => ({ data: partData(m.data, fail) }),
    fromPb: (p) => ({ type: 'large-data', data: f.ownBytes(p.data) }),
  }),

  // ---- broadcasts
  heartbeat: entry<'heartbeat', pb.Heartbeat>({
    tag: 0x21,
    codec: pb.Heartbeat.codec,
    limits: { member: MEMBER_LIMITS },
    toPb: (m, fail) => ({
      member: memberToPb(m.member, 'member', fail),
      seq: f.safeUint(m.seq, 'seq', fail),
      time: f.safeUint(m.time, 'time', fail),
    }),
    fromPb: (p, fail) => ({ type: 'heartbeat', member: memberFromPb(p.member, 'member', fail), seq: p.seq, time: p.time }),
  }),
  rumor: entry<'rumor', pb.Rumor>({
    tag: 0x22,
    codec: pb.Rumor.codec,
    toPb: (m, fail) => ({ key: f.key(m.key, 'key', fail), state: f.bytes(m.state, 'state', fail) }),
    fromPb: (p) => ({ type: 'rumor', key: p.key, state: f.ownBytes(p.state) }),
  }),
}
