// Round trips for every message type, canonical bytes, the typed decoders, what encoding
// refuses, and what a frame costs on top of its content.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { GCounter, PNCounter } from '../../crdts/index.js'
import {
  decodeBroadcast,
  decodeMessage,
  decodeRequest,
  decodeResponse,
  encodeMessage,
  isBroadcast,
  isRequest,
  isResponse,
  MESSAGE_TAGS,
} from '../../src/wire/codec.js'
import { WireDecodeError, WireEncodeError } from '../../src/wire/errors.js'
import type { Message } from '../../src/wire/messages.js'
import { anyMessageArb, messageArbs, MESSAGE_TYPES } from './arbitraries.js'

const RUNS = 150

describe.each(MESSAGE_TYPES)('%s round trip', (type) => {
  it('decode(encode(m)) equals m, and encode(decode(frame)) is the same frame', () => {
    fc.assert(
      fc.property(messageArbs[type] as fc.Arbitrary<Message>, (msg) => {
        const frame = encodeMessage(msg)
        expect(frame[0]).toBe(1)
        expect(frame[1]).toBe(MESSAGE_TAGS[type])
        const decoded = decodeMessage(frame)
        expect(decoded).toStrictEqual(msg)
        expect(encodeMessage(decoded)).toEqual(frame)
      }),
      { numRuns: RUNS },
    )
  })
})

describe('canonical encoding', () => {
  it('gives every message type its own tag', () => {
    const tags = Object.values(MESSAGE_TAGS)
    expect(new Set(tags).size).toBe(tags.length)
    expect(Object.keys(MESSAGE_TAGS).sort()).toEqual([...MESSAGE_TYPES].sort())
  })

  it('does not depend on property order, extra properties or JSON key order', () => {
    const a = encodeMessage({
      type: 'apply',
      key: 'k',
      op: { type: 'lww', op: 'set', value: { b: [1, { y: 2, x: 1 }], a: null } },
      idempotencyKey: 'i',
    })
    const b = encodeMessage({
      idempotencyKey: 'i',
      op: { value: { a: null, b: [1, { x: 1, y: 2 }] }, op: 'set', type: 'lww' },
      key: 'k',
      type: 'apply',
      extra: 'ignored',
    } as Message)
    expect(b).toEqual(a)
  })

  it('decoded messages own their bytes: changing the frame afterwards changes nothing', () => {
    const frame = encodeMessage({ type: 'rumor', key: 'k', state: Uint8Array.from([7, 7, 7]) })
    const decoded = decodeMessage(frame) as { state: Uint8Array }
    frame.fill(0)
    expect([...decoded.state]).toEqual([7, 7, 7])
    expect(decoded.state.buffer.byteLength).toBe(3)
  })

  it('frames own their memory (not a slice of a shared pool)', () => {
    const frame = encodeMessage({ type: 'ack' })
    expect(frame.buffer.byteLength).toBe(frame.length)
  })

  it('keeps arc tokens unsigned across the whole 64-bit range', () => {
    const ends = [0n, 1n, 2n ** 63n - 1n, 2n ** 63n, 2n ** 64n - 1n]
    const msg: Message = { type: 'sync-keys', ringVersion: new Uint8Array(0), arcs: ends, entries: [] }
    expect(decodeMessage(encodeMessage(msg))).toStrictEqual(msg)
  })
})

describe('typed decoders', () => {
  it('accept only their own kind of message', () => {
    fc.assert(
      fc.property(anyMessageArb, (msg) => {
        const frame = encodeMessage(msg)
        const kinds = [isRequest(msg), isResponse(msg), isBroadcast(msg)]
        expect(kinds.filter(Boolean)).toHaveLength(1)
        const decoders = [decodeRequest, decodeResponse, decodeBroadcast]
        decoders.forEach((decode, i) => {
          if (kinds[i]) expect(decode(frame)).toStrictEqual(msg)
          else expect(() => decode(frame)).toThrow(WireDecodeError)
        })
      }),
      { numRuns: 200 },
    )
  })

  it('says what it expected', () => {
    expect(() => decodeRequest(encodeMessage({ type: 'ack' }))).toThrow(/expected a request, got a ack message/)
  })
})

describe('encoding refuses what peers would refuse', () => {
  const cases: [string, unknown, RegExp][] = [
    ['no type', { key: 'k' }, /unknown type undefined/],
    ['unknown type', { type: 'nope' }, /unknown type "nope"/],
    ['null', null, /unknown type/],
    ['empty key', { type: 'read', key: '' }, /key is empty/],
    ['non-string key', { type: 'read', key: 42 }, /key must be a string/],
    ['lone surrogate in key', { type: 'read', key: 'a\ud800' }, /lone surrogate/],
    ['1025-byte key', { type: 'read', key: 'é'.repeat(512) + 'x' }, /1025 UTF-8 bytes/],
    ['negative amount', { type: 'apply', key: 'k', op: { type: 'gcounter', op: 'increment', amount: -1 } }, /op.amount/],
    ['fractional amount', { type: 'apply', key: 'k', op: { type: 'pncounter', op: 'decrement', amount: 1.5 } }, /op.amount/],
    ['unsafe amount', { type: 'apply', key: 'k', op: { type: 'pncounter', op: 'increment', amount: 2 ** 53 } }, /op.amount/],
    ['wrong operation for type', { type: 'apply', key: 'k', op: { type: 'gcounter', op: 'decrement', amount: 1 } }, /not an operation/],
    ['undefined element', { type: 'apply', key: 'k', op: { type: 'orset', op: 'add' } }, /op.element.*undefined/],
    ['non-JSON value', { type: 'apply', key: 'k', op: { type: 'lww', op: 'set', value: new Date(0) } }, /op.value.*Date/],
    ['empty idempotency key', { type: 'apply', key: 'k', op: { type: 'lww', op: 'set', value: 1 }, idempotencyKey: '' }, /idempotencyKey is empty/],
    ['state not bytes', { type: 'rumor', key: 'k', state: [1, 2] }, /state must be a Uint8Array/],
    ['15-byte digest', { type: 'sync-keys', ringVersion: new Uint8Array(0), arcs: [], entries: [{ key: 'k', digest: new Uint8Array(15) }] }, /digest is 15 bytes; must be exactly 16/],
    ['negative arc', { type: 'sync-keys', ringVersion: new Uint8Array(0), arcs: [-1n], entries: [] }, /arcs\[0\]/],
    ['2^64 arc', { type: 'sync-arcs', ringVersion: new Uint8Array(0), arcs: [{ end: 2n ** 64n, hash: new Uint8Array(16) }] }, /arcs\[0\].end/],
    ['number arc', { type: 'sync-keys', ringVersion: new Uint8Array(0), arcs: [5], entries: [] }, /must be a bigint/],
    ['unknown status', { type: 'join', member: { peerId: 'p', addrs: [], vnodes: 1, incarnation: 0, status: 'dead' } }, /status must be 'alive' or 'left'/],
    ['too many vnodes', { type: 'join', member: { peerId: 'p', addrs: [], vnodes: 1025, incarnation: 0, status: 'alive' } }, /vnodes/],
    ['missing member', { type: 'heartbeat', seq: 1 }, /member must be an object/],
    ['unknown error code', { type: 'error', code: 'OOPS', message: '' }, /code must be one of/],
    ['1025 states', { type: 'sync-push', states: Array.from({ length: 1025 }, (_, i) => ({ key: `k${i}`, state: new Uint8Array(1) })) }, /states has 1025 entries; at most 1024/],
    ['1025 batched deltas', { type: 'replicate-batch', items: Array.from({ length: 1025 }, (_, i) => ({ key: `k${i}`, state: new Uint8Array(1) })) }, /items has 1025 entries; at most 1024/],
    ['batched delta without a key', { type: 'replicate-batch', items: [{ key: 'k', state: new Uint8Array(1) }, { state: new Uint8Array(1) }] }, /items\[1\].key/],
    ['a hint age without hintFor', { type: 'replicate', key: 'k', state: new Uint8Array(1), hintAgeMs: 5 }, /hintAgeMs without hintFor/],
    ['a negative hint age', { type: 'replicate', key: 'k', state: new Uint8Array(1), hintFor: 'p', hintAgeMs: -1 }, /hintAgeMs/],
    ['a hint age past uint32', { type: 'replicate', key: 'k', state: new Uint8Array(1), hintFor: 'p', hintAgeMs: 2 ** 32 }, /hintAgeMs/],
    ['page digests not a multiple of 16 bytes', { type: 'sync-push', states: [{ key: 'k', state: new Uint8Array(1), pageDigests: new Uint8Array(17) }] }, /pageDigests must hold 1 to 65536 digests of 16 bytes, got 17 bytes/],
    ['an empty page list', { type: 'sync-push', states: [{ key: 'k', state: new Uint8Array(1), pageDigests: new Uint8Array(0) }] }, /pageDigests must hold/],
    ['65537 listed pages', { type: 'sync-states', states: [{ key: 'k', state: new Uint8Array(1), pageDigests: new Uint8Array(65_537 * 16) }], want: [] }, /pageDigests is 1048592 bytes/],
    ['1025 pages asked for', { type: 'sync-pages', key: 'k', digests: new Uint8Array(1025 * 16) }, /digests is 16400 bytes/],
    ['1025 pages answered', { type: 'sync-page-data', pages: Array.from({ length: 1025 }, () => new Uint8Array(1)) }, /pages has 1025 entries; at most 1024/],
    ['refused indexes out of order', { type: 'replicated', refused: [3, 1] }, /ascending indexes, got 3 then 1/],
    ['a refused index twice', { type: 'replicated', refused: [2, 2] }, /ascending indexes, got 2 then 2/],
    ['a refused index past a batch', { type: 'replicated', refused: [1024] }, /refused\[0\]/],
    ['4097 members', { type: 'members', members: Array.from({ length: 4097 }, () => ({ peerId: 'p', addrs: [], vnodes: 1, incarnation: 0, status: 'alive' })) }, /members has 4097 entries; at most 4096/],
  ]

  it.each(cases)('%s', (_name, msg, message) => {
    expect(() => encodeMessage(msg as Message)).toThrow(WireEncodeError)
    expect(() => encodeMessage(msg as Message)).toThrow(message)
  })
})

describe('frame sizes', () => {
  // A libp2p peer id as rumordb uses it for actor ids.
  const actor = '12D3KooWGzBQZ5pBDWYqSuhqyVqsAYtBk3fsg7S6RjyEDPmp1Wdm'

  it('a replicate of a small counter delta costs at most 16 bytes over key + delta', () => {
    const cases = [
      ['gcounter', GCounter.encode(GCounter.increment(GCounter.empty(), actor, 1))],
      ['pncounter', PNCounter.encode(PNCounter.increment(PNCounter.empty(), actor, 5))],
    ] as const
    for (const [name, delta] of cases) {
      const key = 'counters/page-views'
      const frame = encodeMessage({ type: 'replicate', key, state: delta })
      const overhead = frame.length - Buffer.byteLength(key) - delta.length
      console.log(`replicate of a ${name} delta: ${frame.length} bytes = key ${key.length} + delta ${delta.length} + ${overhead} overhead`)
      expect(overhead).toBeLessThanOrEqual(16)
      expect(overhead).toBe(6)
    }
  })

  it('fixed costs per message type', () => {
    const sizes = {
      ack: encodeMessage({ type: 'ack' }).length,
      'sync-equal': encodeMessage({ type: 'sync-equal' }).length,
      'state (absent)': encodeMessage({ type: 'state' }).length,
      'rumor k=1 s=1': encodeMessage({ type: 'rumor', key: 'k', state: new Uint8Array(1) }).length,
      'read k=1': encodeMessage({ type: 'read', key: 'k' }).length,
    }
    console.log('frame sizes', sizes)
    expect(sizes).toEqual({ ack: 2, 'sync-equal': 2, 'state (absent)': 2, 'rumor k=1 s=1': 8, 'read k=1': 5 })
  })

  it('sends an applied state equal to its delta once, and refuses an empty state', () => {
    const delta = new Uint8Array(40).fill(3)
    const same = encodeMessage({ type: 'applied', delta, state: new Uint8Array(delta) })
    const other = encodeMessage({ type: 'applied', delta, state: new Uint8Array(40).fill(4) })
    expect(other.length - same.length).toBe(42)
    expect(decodeResponse(same)).toEqual({ type: 'applied', delta, state: delta })
    expect(() => encodeMessage({ type: 'applied', delta, state: new Uint8Array(0) })).toThrow(WireEncodeError)
  })
})
