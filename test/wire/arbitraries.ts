// fast-check arbitraries for every wire message, within the wire limits. The record is
// typed per message type, so adding a type to messages.ts fails compilation here until
// it has an arbitrary.
import fc from 'fast-check'
import { canonicalJson, type JsonValue } from '../../crdts/index.js'
import type { Operation } from '../../src/base/operations.js'
import { LARGE_DIGEST_BYTES, MAX_LARGE_PARTS, MAX_MESSAGE_BYTES } from '../../src/wire/limits.js'
import type { MemberAnnouncement, Message, MessageType } from '../../src/wire/messages.js'

type MessageOf<T extends MessageType> = Extract<Message, { type: T }>

const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8')

/** Well-formed text of 1..maxBytes UTF-8 bytes, mostly short, sometimes any code point. */
export function textArb(maxBytes: number, minLength = 1): fc.Arbitrary<string> {
  return fc
    .oneof(
      fc.string({ minLength, maxLength: 24 }),
      fc.string({ unit: 'binary', minLength, maxLength: 24 }),
      fc.string({ unit: 'binary-ascii', minLength, maxLength: maxBytes }),
    )
    .filter((s) => s.isWellFormed() && utf8(s) <= maxBytes)
}

export const keyArb = textArb(1024)
const peerIdArb = textArb(256)
const bytesArb = fc.uint8Array({ maxLength: 48 })
const hash16Arb = fc.uint8Array({ minLength: 16, maxLength: 16 })
const hashArb = fc.uint8Array({ maxLength: 64 })
const digestArb = fc.uint8Array({ minLength: LARGE_DIGEST_BYTES, maxLength: LARGE_DIGEST_BYTES })
const safeNatArb = fc.oneof(fc.nat(1000), fc.maxSafeNat())
const tokenArb = fc.oneof(fc.constantFrom(0n, 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))

/** JSON values as they come back from canonical text (no -0, own keys only). */
export const jsonArb: fc.Arbitrary<JsonValue> = fc
  .oneof(fc.jsonValue({ maxDepth: 3 }), fc.jsonValue({ maxDepth: 2, stringUnit: 'binary' }))
  .map((v) => JSON.parse(canonicalJson(v)) as JsonValue)

export const operationArb: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ type: fc.constant('gcounter' as const), op: fc.constant('increment' as const), amount: safeNatArb }),
  fc.record({ type: fc.constant('pncounter' as const), op: fc.constantFrom('increment' as const, 'decrement' as const), amount: safeNatArb }),
  fc.record({ type: fc.constant('orset' as const), op: fc.constantFrom('add' as const, 'remove' as const), element: jsonArb }),
  fc.record({ type: fc.constant('lww' as const), op: fc.constant('set' as const), value: jsonArb }),
)

export const memberArb: fc.Arbitrary<MemberAnnouncement> = fc.record({
  peerId: peerIdArb,
  addrs: fc.array(textArb(1024), { maxLength: 4 }),
  vnodes: fc.integer({ min: 0, max: 1024 }),
  incarnation: safeNatArb,
  status: fc.constantFrom('alive' as const, 'left' as const),
})

const ballotArb = fc.record({ round: safeNatArb, proposer: peerIdArb })

/** 1 to 4 page digests of 16 bytes, joined. */
const pageDigestsArb = fc.integer({ min: 1, max: 4 }).chain((n) => fc.uint8Array({ minLength: n * 16, maxLength: n * 16 }))
const keyStatesArb = fc.array(fc.record({ key: keyArb, state: bytesArb, pageDigests: pageDigestsArb }, { requiredKeys: ['key', 'state'] }), { maxLength: 5 })

// A hint's age only comes with hintFor.
const replicateItemArb = fc
  .tuple(
    fc.record(
      {
        key: keyArb,
        state: bytesArb,
        hintFor: peerIdArb,
        record: fc.record({ id: textArb(1024), result: fc.uint8Array({ maxLength: 48 }) }),
      },
      { requiredKeys: ['key', 'state'] },
    ),
    fc.option(fc.integer({ min: 0, max: 2 ** 32 - 1 })),
  )
  .map(([item, hintAgeMs]) => (item.hintFor === undefined || hintAgeMs === null ? item : { ...item, hintAgeMs }))

const arbs: { readonly [T in MessageType]: fc.Arbitrary<MessageOf<T>> } = {
  // A fingerprint only comes with an idempotency key.
  apply: fc.oneof(
    fc.record({ type: fc.constant('apply'), key: keyArb, op: operationArb }),
    fc.record({ type: fc.constant('apply'), key: keyArb, op: operationArb, ttlMs: fc.integer({ min: 1, max: 2 ** 40 }) }),
    fc.record(
      { type: fc.constant('apply'), key: keyArb, op: operationArb, idempotencyKey: textArb(1024), fingerprint: textArb(128) },
      { requiredKeys: ['type', 'key', 'op', 'idempotencyKey'] },
    ),
  ),
  replicate: replicateItemArb.map((item) => ({ type: 'replicate' as const, ...item })),
  'replicate-batch': fc.record({ type: fc.constant('replicate-batch'), items: fc.array(replicateItemArb, { maxLength: 5 }) }),
  claim: fc.oneof(
    fc.record({ type: fc.constant('claim'), key: keyArb, id: textArb(1024), fingerprint: textArb(128), phase: fc.constant('prepare' as const), ballot: ballotArb }),
    fc.record({
      type: fc.constant('claim'),
      key: keyArb,
      id: textArb(1024),
      fingerprint: textArb(128),
      phase: fc.constant('accept' as const),
      ballot: ballotArb,
      applier: peerIdArb,
    }),
  ),
  read: fc.record({ type: fc.constant('read'), key: keyArb }),
  join: fc.record({ type: fc.constant('join'), member: memberArb }),
  'sync-root': fc.record({ type: fc.constant('sync-root'), ringVersion: hashArb, root: hashArb }),
  'sync-keys': fc.record({
    type: fc.constant('sync-keys'),
    ringVersion: hashArb,
    arcs: fc.array(tokenArb, { maxLength: 5 }),
    entries: fc.array(fc.record({ key: keyArb, digest: hash16Arb }), { maxLength: 5 }),
  }),
  'sync-ranges': fc.array(fc.record({ start: tokenArb, end: tokenArb, hash: hash16Arb }), { maxLength: 5 }).chain((rs) =>
    fc.record({
      type: fc.constant('sync-ranges' as const),
      ringVersion: hashArb,
      ranges: fc.constant(rs.flatMap((r) => [r.start, r.end])),
      hashes: fc.constant(rs.map((r) => r.hash)),
    }),
  ),
  'sync-push': fc.record({ type: fc.constant('sync-push'), states: keyStatesArb }),
  'sync-pages': fc.record({ type: fc.constant('sync-pages'), key: keyArb, digests: pageDigestsArb }),
  // States are never empty; a state equal to the delta (sent once) is drawn often.
  applied: fc
    .record({ delta: bytesArb, state: fc.uint8Array({ minLength: 1, maxLength: 48 }), same: fc.boolean() })
    .map(({ delta, state, same }) => ({ type: 'applied' as const, delta: same ? state : delta, state })),
  ack: fc.constant({ type: 'ack' }),
  // Ascending, distinct indexes of items.
  replicated: fc
    .uniqueArray(fc.integer({ min: 0, max: 1023 }), { maxLength: 6 })
    .map((indexes) => ({ type: 'replicated' as const, refused: [...indexes].sort((a, b) => a - b) })),
  replayed: fc.record({ type: fc.constant('replayed'), result: fc.uint8Array({ minLength: 1, maxLength: 48 }) }),
  claimed: fc.record(
    {
      type: fc.constant('claimed'),
      ok: fc.boolean(),
      fingerprint: textArb(128),
      promised: ballotArb,
      accepted: fc.record({ ballot: ballotArb, applier: peerIdArb }),
    },
    { requiredKeys: ['type', 'ok', 'fingerprint', 'promised'] },
  ),
  state: fc.record({ type: fc.constant('state'), state: bytesArb }, { requiredKeys: ['type'] }),
  members: fc.record({ type: fc.constant('members'), members: fc.array(memberArb, { maxLength: 4 }) }),
  'sync-equal': fc.constant({ type: 'sync-equal' }),
  'sync-arcs': fc.record({
    type: fc.constant('sync-arcs'),
    ringVersion: hashArb,
    arcs: fc.array(fc.record({ end: tokenArb, hash: hash16Arb }), { maxLength: 5 }),
  }),
  'sync-differ': fc.record({ type: fc.constant('sync-differ'), differ: fc.array(fc.boolean(), { maxLength: 20 }) }),
  'sync-page-data': fc.record({ type: fc.constant('sync-page-data'), pages: fc.array(bytesArb, { maxLength: 5 }) }),
  'sync-states': fc.record({ type: fc.constant('sync-states'), states: keyStatesArb, want: fc.array(keyArb, { maxLength: 5 }) }),
  error: fc.record({
    type: fc.constant('error'),
    code: fc.constantFrom('BAD_REQUEST', 'TYPE_MISMATCH', 'INVALID_VALUE', 'TOO_LARGE', 'CLOCK_DRIFT', 'UNAVAILABLE', 'INTERNAL'),
    message: textArb(4096, 0),
  }),
  // Field bounds only: whether parts fit together is the receiver's check (large-messages.ts).
  'large-part': fc.record({
    type: fc.constant('large-part'),
    transfer: safeNatArb,
    index: fc.nat(MAX_LARGE_PARTS - 1),
    size: fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: MAX_MESSAGE_BYTES })),
    digest: digestArb,
    data: fc.uint8Array({ minLength: 1, maxLength: 48 }),
  }),
  'large-pull': fc.record({ type: fc.constant('large-pull'), transfer: safeNatArb, index: fc.nat(MAX_LARGE_PARTS - 1) }),
  'large-stored': fc.constant({ type: 'large-stored' }),
  'large-ready': fc.record({
    type: fc.constant('large-ready'),
    transfer: safeNatArb,
    size: fc.integer({ min: 1, max: MAX_MESSAGE_BYTES }),
    digest: digestArb,
  }),
  'large-data': fc.record({ type: fc.constant('large-data'), data: fc.uint8Array({ minLength: 1, maxLength: 48 }) }),
  heartbeat: fc.record({ type: fc.constant('heartbeat'), member: memberArb, seq: safeNatArb, time: safeNatArb }),
  rumor: fc.record({ type: fc.constant('rumor'), key: keyArb, state: bytesArb }),
}

export const MESSAGE_TYPES = Object.keys(arbs) as MessageType[]

/**
 * fast-check builds records without a prototype; decoded messages are plain objects.
 * structuredClone makes them comparable with toStrictEqual (which also sees stray
 * `undefined` properties that toEqual would forgive).
 */
export const messageArbs = Object.fromEntries(MESSAGE_TYPES.map((t) => [t, arbs[t].map((m) => structuredClone(m))])) as typeof arbs

export const anyMessageArb: fc.Arbitrary<Message> = fc.oneof(...MESSAGE_TYPES.map((t) => messageArbs[t] as fc.Arbitrary<Message>))
