// Frames a well-behaved encoder never produces, crafted with the generated protobuf codecs
// or by hand: each must be refused with WireDecodeError and a message that names the
// problem.
import { describe, expect, it } from 'vitest'
import { decodeMessage, encodeMessage, MESSAGE_TAGS } from '../../src/wire/codec.js'
import { WireDecodeError, WireEncodeError } from '../../src/wire/errors.js'
import { MAX_FRAME_BYTES, MAX_KEYS_PER_BATCH } from '../../src/wire/limits.js'
import type { MessageType } from '../../src/wire/messages.js'
import * as pb from '../../src/wire/rumordb-pb.js'

function frame(type: MessageType, payload: Uint8Array | readonly number[]): Uint8Array {
  return Uint8Array.from([1, MESSAGE_TAGS[type], ...payload])
}

function expectRefused(bytes: Uint8Array, message: RegExp): void {
  let error: unknown
  try {
    decodeMessage(bytes)
  } catch (err) {
    error = err
  }
  expect(error).toBeInstanceOf(WireDecodeError)
  expect((error as Error).message).toMatch(message)
}

const member = (over: Partial<pb.Member> = {}): pb.Member => ({ peerId: 'p', addrs: [], vnodes: 1, incarnation: 0, status: 0, ...over })
const states = (n: number): pb.KeyState[] => Array.from({ length: n }, (_, i) => ({ key: `k${i}`, state: new Uint8Array(1) }))

describe('frame header', () => {
  it('refuses empty and one-byte frames', () => {
    expectRefused(new Uint8Array(0), /0 bytes, shorter than its 2-byte header/)
    expectRefused(Uint8Array.from([1]), /1 bytes, shorter than its 2-byte header/)
  })

  it('refuses other format versions', () => {
    expectRefused(Uint8Array.from([2, MESSAGE_TAGS.ack]), /wire format version 2 is not supported; this node speaks version 1/)
    expectRefused(Uint8Array.from([0, MESSAGE_TAGS.ack]), /version 0 is not supported/)
  })

  it('refuses unknown type tags', () => {
    expectRefused(Uint8Array.from([1, 0x7f]), /message type tag 0x7f is unknown/)
    expectRefused(Uint8Array.from([1, 0x00]), /message type tag 0x00 is unknown/)
  })
})

describe('size limits', () => {
  it('refuses a frame over 4 MiB before reading it, and accepts one of exactly 4 MiB', () => {
    const key = 'k'
    // Header 2 + key field 3 + state tag 1 + 4-byte length = 10 bytes around the state.
    const atLimit = encodeMessage({ type: 'replicate', key, state: new Uint8Array(MAX_FRAME_BYTES - 10) })
    expect(atLimit.length).toBe(MAX_FRAME_BYTES)
    expect(decodeMessage(atLimit).type).toBe('replicate')

    const over = new Uint8Array(MAX_FRAME_BYTES + 1)
    over.set(atLimit)
    expectRefused(over, /4194305 bytes, above MAX_FRAME_BYTES \(4194304\)/)
    expect(() => encodeMessage({ type: 'replicate', key, state: new Uint8Array(MAX_FRAME_BYTES - 9) })).toThrow(
      /frame is 4194305 bytes, above MAX_FRAME_BYTES/,
    )
    expect(() => encodeMessage({ type: 'rumor', key, state: new Uint8Array(MAX_FRAME_BYTES + 1) })).toThrow(WireEncodeError)
  })

  it('refuses a batch of 1025 states, and accepts 1024', () => {
    expect(decodeMessage(frame('sync-push', pb.SyncPush.encode({ states: states(MAX_KEYS_PER_BATCH) }))).type).toBe('sync-push')
    expectRefused(frame('sync-push', pb.SyncPush.encode({ states: states(1025) })), /sync-push: states has 1025 entries; at most 1024/)
    // Far over the limit, protons stops reading the list early.
    expectRefused(frame('sync-push', pb.SyncPush.encode({ states: states(5000) })), /too many elements/)
    expectRefused(
      frame('sync-states', pb.SyncStates.encode({ states: [], want: Array.from({ length: 1025 }, (_, i) => `k${i}`) })),
      /want has 1025 entries/,
    )
  })

  it('refuses a replicate-batch of 1025 deltas, and accepts 1024; refused indexes come ascending, each once', () => {
    expect(decodeMessage(frame('replicate-batch', pb.ReplicateBatch.encode({ items: states(MAX_KEYS_PER_BATCH) }))).type).toBe('replicate-batch')
    expectRefused(frame('replicate-batch', pb.ReplicateBatch.encode({ items: states(1025) })), /replicate-batch: items has 1025 entries; at most 1024/)
    expectRefused(frame('replicate-batch', pb.ReplicateBatch.encode({ items: [{ key: '', state: new Uint8Array(1) }] })), /items\[0\]\.key is empty/)
    expect(decodeMessage(frame('replicated', pb.Replicated.encode({ refused: [0, 5, 1023] })))).toEqual({ type: 'replicated', refused: [0, 5, 1023] })
    expectRefused(frame('replicated', pb.Replicated.encode({ refused: [5, 0] })), /ascending indexes, got 5 then 0/)
    expectRefused(frame('replicated', pb.Replicated.encode({ refused: [7, 7] })), /ascending indexes, got 7 then 7/)
    expectRefused(frame('replicated', pb.Replicated.encode({ refused: [1024] })), /refused\[0\]/)
  })

  it('refuses more than 1024 arcs or digest entries', () => {
    const arcs = Array.from({ length: 1025 }, (_, i) => BigInt(i))
    expectRefused(frame('sync-keys', pb.SyncKeys.encode({ ringVersion: new Uint8Array(0), arcs, entries: [] })), /arcs has 1025 entries/)
    const hashes = arcs.map((end) => ({ end, hash: new Uint8Array(16) }))
    expectRefused(frame('sync-arcs', pb.SyncArcs.encode({ ringVersion: new Uint8Array(0), arcs: hashes })), /arcs has 1025 entries/)
  })

  it('refuses more than 512 compared ranges, an aggregate count that does not match, and a bitmap that does not match its count', () => {
    const bounds = (n: number): bigint[] => Array.from({ length: 2 * n }, (_, i) => BigInt(i))
    const ok = pb.SyncRanges.encode({ ringVersion: new Uint8Array(0), ranges: bounds(512), hashes: new Uint8Array(512 * 16) })
    expect(decodeMessage(frame('sync-ranges', ok)).type).toBe('sync-ranges')
    expectRefused(frame('sync-ranges', pb.SyncRanges.encode({ ringVersion: new Uint8Array(0), ranges: bounds(513), hashes: new Uint8Array(513 * 16) })), /too many elements/)
    expectRefused(frame('sync-ranges', pb.SyncRanges.encode({ ringVersion: new Uint8Array(0), ranges: bounds(3), hashes: new Uint8Array(2 * 16) })), /16 bytes per range/)
    expectRefused(frame('sync-ranges', pb.SyncRanges.encode({ ringVersion: new Uint8Array(0), ranges: [1n], hashes: new Uint8Array(0) })), /sync-ranges/)
    expect(decodeMessage(frame('sync-differ', pb.SyncDiffer.encode({ count: 9, differ: new Uint8Array([0xff, 0x01]) })))).toEqual({
      type: 'sync-differ',
      differ: Array.from({ length: 9 }, () => true),
    })
    expectRefused(frame('sync-differ', pb.SyncDiffer.encode({ count: 9, differ: new Uint8Array([0xff]) })), /differ must be 2 bytes for 9 ranges/)
    expectRefused(frame('sync-differ', pb.SyncDiffer.encode({ count: 513, differ: new Uint8Array(65) })), /count must be at most 512/)
    // Bits above the count are not canonical.
    expectRefused(frame('sync-differ', pb.SyncDiffer.encode({ count: 9, differ: new Uint8Array([0xff, 0x03]) })), /sync-differ/)
  })

  it('refuses more than 4096 members and more than 64 addresses per member', () => {
    const members = Array.from({ length: 4097 }, (_, i) => member({ peerId: `p${i}` }))
    expectRefused(frame('members', pb.Members.encode({ members })), /members has 4097 entries; at most 4096/)
    const addrs = Array.from({ length: 65 }, (_, i) => `/ip4/10.0.0.${i}`)
    expectRefused(frame('join', pb.Join.encode({ member: member({ addrs }) })), /member.addrs has 65 entries; at most 64/)
  })
})

describe('field checks', () => {
  it('refuses a 1025-byte key and an empty key', () => {
    expect(decodeMessage(frame('read', pb.Read.encode({ key: 'k'.repeat(1024) }))).type).toBe('read')
    expectRefused(frame('read', pb.Read.encode({ key: 'k'.repeat(1025) })), /read: key is 1025 UTF-8 bytes long; at most 1024/)
    expectRefused(frame('read', []), /read: key is empty/)
  })

  it('refuses keys that are not well-formed UTF-8', () => {
    // A UTF-8-encoded lone surrogate (CESU-8), an invalid byte, an overlong NUL.
    expectRefused(frame('read', [0x0a, 3, 0xed, 0xa0, 0x80]), /lone surrogate|canonical/)
    expectRefused(frame('read', [0x0a, 1, 0xff]), /read:/)
    expectRefused(frame('read', [0x0a, 2, 0xc0, 0x80]), /read:/)
  })

  it('refuses a 15-byte digest and a 17-byte arc hash', () => {
    const entries = [{ key: 'k', digest: new Uint8Array(15) }]
    expectRefused(
      frame('sync-keys', pb.SyncKeys.encode({ ringVersion: new Uint8Array(0), arcs: [], entries })),
      /sync-keys: entries\[0\].digest is 15 bytes; must be exactly 16/,
    )
    const arcs = [{ end: 1n, hash: new Uint8Array(17) }]
    expectRefused(frame('sync-arcs', pb.SyncArcs.encode({ ringVersion: new Uint8Array(0), arcs })), /arcs\[0\].hash is 17 bytes; must be exactly 16/)
  })

  it('refuses a ring version or root longer than 64 bytes', () => {
    expectRefused(frame('sync-root', pb.SyncRoot.encode({ ringVersion: new Uint8Array(65), root: new Uint8Array(16) })), /ringVersion is 65 bytes; at most 64/)
  })

  it('refuses JSON elements and values that are not canonical JSON', () => {
    const apply = (op: number, json: string): Uint8Array => frame('apply', pb.Apply.encode({ key: 'k', op, amount: 0, json }))
    expect(decodeMessage(apply(4, '{"a":2,"b":1}'))).toEqual({ type: 'apply', key: 'k', op: { type: 'orset', op: 'add', element: { a: 2, b: 1 } } })
    expectRefused(apply(4, '{"b":1,"a":2}'), /apply: op.element: JSON text is not in canonical form/)
    expectRefused(apply(5, '{ "a":1}'), /op.element: JSON text is not in canonical form/)
    expectRefused(apply(6, '1.0'), /op.value: JSON text is not in canonical form/)
    expectRefused(apply(6, '-0'), /op.value: JSON text is not in canonical form/)
    expectRefused(apply(6, '"\\u0061"'), /op.value: JSON text is not in canonical form/)
    expectRefused(apply(6, 'undefined'), /op.value: not valid JSON text/)
    expectRefused(apply(6, ''), /op.value: not valid JSON text/)
    expectRefused(apply(6, JSON.stringify('x'.repeat(70_000))), /op.value: JSON value is larger than 65536 bytes/)
  })

  it('refuses operation codes and fields that do not belong together', () => {
    const apply = (fields: Partial<pb.Apply>): Uint8Array => frame('apply', pb.Apply.encode({ key: 'k', op: 1, amount: 0, json: '', ...fields }))
    expect(decodeMessage(apply({ op: 3, amount: 2 ** 53 - 1 }))).toEqual({
      type: 'apply',
      key: 'k',
      op: { type: 'pncounter', op: 'decrement', amount: 2 ** 53 - 1 },
    })
    expectRefused(apply({ op: 0 }), /apply: operation code 0 is unknown/)
    expect(decodeMessage(apply({ op: 7 }))).toEqual({ type: 'apply', key: 'k', op: { op: 'delete' } })
    expectRefused(apply({ op: 8 }), /operation code 8 is unknown/)
    expectRefused(apply({ op: 7, json: '1' }), /a delete carries a JSON value/)
    expectRefused(apply({ op: 7, amount: 1 }), /operation code 7 carries an amount/)
    expectRefused(apply({ op: 1, json: '1' }), /counter operation code 1 carries a JSON value/)
    // A path makes the operation a map's: a field write, or (7) the removal of the field.
    expect(decodeMessage(apply({ op: 2, amount: 3, path: ['a', 'b'] }))).toEqual({
      type: 'apply',
      key: 'k',
      op: { type: 'map', op: 'update', path: ['a', 'b'], update: { type: 'pncounter', op: 'increment', amount: 3 } },
    })
    expect(decodeMessage(apply({ op: 7, path: ['a'] }))).toEqual({ type: 'apply', key: 'k', op: { type: 'map', op: 'remove', path: ['a'] } })
    expectRefused(apply({ op: 2, path: [''] }), /op.path: a map field name must not be empty/)
    expectRefused(apply({ op: 2, path: Array.from({ length: 9 }, () => 'a') }), /op.path: a map field path must name 1 to 8 fields, got 9/)
    expectRefused(apply({ op: 2, path: ['x'.repeat(257)] }), /op.path: a map field name is longer than 256 UTF-8 bytes/)
    expectRefused(apply({ op: 4, json: '1', amount: 1 }), /operation code 4 carries an amount/)
    // Amounts above 2^53 - 1 by hand (protons will not write them from a number): protons
    // refuses to read them into a number, before our safe-integer check would.
    const header = [0x0a, 1, 0x6b, 0x10, 0x01, 0x18]
    expectRefused(frame('apply', [...header, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]), /apply: payload is not valid protobuf/)
    expectRefused(frame('apply', [...header, ...new Array<number>(9).fill(0xff), 0x01]), /apply: payload is not valid protobuf/)
    expectRefused(apply({ idempotencyKey: '' }), /idempotencyKey is empty/)
    // A time to live: 1 ms to 2^40 ms, never on a delete.
    expect(decodeMessage(apply({ op: 1, amount: 1, ttlMs: 2 ** 40 }))).toEqual({ type: 'apply', key: 'k', op: { type: 'gcounter', op: 'increment', amount: 1 }, ttlMs: 2 ** 40 })
    expectRefused(apply({ op: 1, amount: 1, ttlMs: 0 }), /ttlMs/)
    expectRefused(apply({ op: 1, amount: 1, ttlMs: 2 ** 40 + 1 }), /ttlMs/)
    expectRefused(apply({ op: 7, ttlMs: 1000 }), /a delete takes no ttlMs/)
  })

  it('refuses unknown status and error codes, and a missing member', () => {
    expectRefused(frame('join', pb.Join.encode({ member: member({ status: 2 }) })), /member.status code 2 is unknown/)
    expectRefused(frame('heartbeat', pb.Heartbeat.encode({ seq: 1 })), /heartbeat: member is missing/)
    expectRefused(frame('join', pb.Join.encode({ member: member({ vnodes: 1025 }) })), /member.vnodes must be an integer in 0..1024/)
    expectRefused(frame('join', pb.Join.encode({ member: member({ peerId: '' }) })), /member.peerId is empty/)
    expectRefused(frame('error', pb.ErrorReply.encode({ code: 0, message: 'm' })), /error: error code 0 is unknown/)
    expectRefused(frame('error', pb.ErrorReply.encode({ code: 8, message: 'm' })), /error code 8 is unknown/)
    expectRefused(frame('error', pb.ErrorReply.encode({ code: 1, message: 'x'.repeat(4097) })), /message is 4097 UTF-8 bytes long; at most 4096/)
  })

  it('refuses repeated, reordered and padded fields as non-canonical', () => {
    const key = [0x0a, 1, 0x6b]
    const state = [0x12, 1, 0x07]
    expect(decodeMessage(frame('rumor', [...key, ...state]))).toEqual({ type: 'rumor', key: 'k', state: Uint8Array.from([7]) })
    expectRefused(frame('rumor', [...state, ...key]), /rumor: payload is not in canonical form/)
    expectRefused(frame('rumor', [...key, ...key, ...state]), /not in canonical form/)
    // The state length as a two-byte varint.
    expectRefused(frame('rumor', [...key, 0x12, 0x81, 0x00, 0x07]), /not in canonical form/)
    // A default written out: an empty key field on an ack.
    expectRefused(frame('ack', [0x0a, 0x00]), /ack: payload is not in canonical form/)
    // The right field number with the wrong wire type.
    expectRefused(frame('heartbeat', [...pb.Heartbeat.encode({ member: member(), seq: 0 }), 0x11, 0, 0, 0, 0, 0, 0, 0, 0]), /heartbeat:/)
  })
})
