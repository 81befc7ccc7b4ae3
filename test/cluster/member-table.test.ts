import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encode as varint } from 'uint8-varint'
import { MESSAGE_TAGS } from '../../src/wire/codec.js'
import { MAX_ADDRS, MAX_PEER_ID_BYTES, MAX_VNODES, WIRE_VERSION } from '../../src/wire/limits.js'
import { InvalidMemberRecordError, MemberTableDecodeError } from '../../src/cluster/membership/errors.js'
import * as memberTable from '../../src/cluster/membership/member-table.js'
import type { MemberRecordInput, MemberTable } from '../../src/cluster/membership/member-table.js'

const { announce, decode, encode, equals, leave, merge } = memberTable

// Small pools make different records for the same peer, at the same incarnation, common:
// that is where the tie-break rules are exercised. Astral ids check code point order.
const peerIdArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('a', 'b', 'c', 'é', '\u{1F600}', '\uFFFD', '12D3KooWQm') },
  { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 8, unit: 'grapheme' }) },
)
const recordArb: fc.Arbitrary<MemberRecordInput> = fc.record({
  peerId: peerIdArb,
  addrs: fc.subarray(['/ip4/10.0.0.1/tcp/4001', '/ip4/10.0.0.2/tcp/4001', '/ip6/::1/tcp/4001', '/dns4/x/tcp/1']),
  vnodes: fc.constantFrom(0, 1, 128, 300),
  incarnation: fc.integer({ min: 0, max: 3 }),
  status: fc.constantFrom('alive' as const, 'left' as const),
})
const tableOf = (records: readonly MemberRecordInput[]): MemberTable =>
  records.reduce((table, record) => merge(table, announce(memberTable.empty(), record)), memberTable.empty())
const tableArb = fc.array(recordArb, { maxLength: 8 }).map(tableOf)

const alive = (peerId: string, incarnation: number, addrs: string[] = ['/a'], vnodes = 128): MemberRecordInput => ({
  peerId,
  addrs,
  vnodes,
  incarnation,
})

function expectSameTable(a: MemberTable, b: MemberTable): void {
  expect(equals(a, b)).toBe(true)
  expect(encode(a)).toEqual(encode(b))
}

describe('member table merge rules', () => {
  it('a higher incarnation wins whichever side it is on', () => {
    const old = announce(memberTable.empty(), alive('p', 1, ['/old']))
    const bumped = announce(memberTable.empty(), alive('p', 2, ['/new']))
    expect(merge(old, bumped).get('p')!.addrs).toEqual(['/new'])
    expect(merge(bumped, old).get('p')!.addrs).toEqual(['/new'])
  })

  it("'left' beats 'alive' at the same incarnation, and a rejoin bumps past it", () => {
    const joined = announce(memberTable.empty(), alive('p', 4))
    const gone = merge(joined, leave(joined, 'p'))
    expect(gone.get('p')!.status).toBe('left')
    // A stale alive record gossiped after the leave does not resurrect the peer.
    expect(merge(gone, joined).get('p')!.status).toBe('left')
    expect(announce(gone, alive('p', 4))).toEqual(memberTable.empty())
    expect(memberTable.nextIncarnation(gone, 'p')).toBe(5)
    const back = merge(gone, announce(gone, alive('p', 5)))
    expect(back.get('p')!.status).toBe('alive')
  })

  it('breaks exact ties on canonical content, the same way on every side', () => {
    const x = announce(memberTable.empty(), alive('p', 1, ['/x'], 128))
    const y = announce(memberTable.empty(), alive('p', 1, ['/y'], 128))
    expectSameTable(merge(x, y), merge(y, x))
    expect(merge(x, y).get('p')!.addrs).toEqual(['/y'])
  })

  it('announce returns only what changes the table', () => {
    const table = merge(memberTable.empty(), announce(memberTable.empty(), alive('p', 3)))
    expect(announce(table, alive('p', 3)).size).toBe(0)
    expect(announce(table, alive('p', 2, ['/z'])).size).toBe(0)
    expect(announce(table, alive('q', 0)).size).toBe(1)
    expect(leave(table, 'unknown').size).toBe(0)
    const left = merge(table, leave(table, 'p'))
    expect(leave(left, 'p').size).toBe(0)
    expect(left.get('p')).toMatchObject({ incarnation: 3, status: 'left', addrs: ['/a'], vnodes: 128 })
  })

  it('normalizes addresses, defaults vnodes and status, and freezes records', () => {
    const delta = announce(memberTable.empty(), { peerId: 'p', addrs: ['/b', '/a', '/b'], incarnation: 0 })
    const record = delta.get('p')!
    expect(record).toEqual({ peerId: 'p', addrs: ['/a', '/b'], vnodes: 128, incarnation: 0, status: 'alive' })
    expect(Object.isFrozen(record)).toBe(true)
    expect(Object.isFrozen(record.addrs)).toBe(true)
  })

  it('refuses records outside the limits', () => {
    const bad: MemberRecordInput[] = [
      alive('', 0),
      alive('x'.repeat(MAX_PEER_ID_BYTES + 1), 0),
      alive('\uD800', 0),
      alive('p', -1),
      alive('p', 1.5),
      alive('p', 0, ['/a'], MAX_VNODES + 1),
      alive('p', 0, ['/a'], -1),
      alive('p', 0, ['']),
      alive('p', 0, Array.from({ length: MAX_ADDRS + 1 }, (_, i) => `/a/${i}`)),
    ]
    for (const input of bad) expect(() => announce(memberTable.empty(), input)).toThrow(InvalidMemberRecordError)
    expect(() => announce(memberTable.empty(), { ...alive('p', 0), status: 'dead' as 'left' })).toThrow(InvalidMemberRecordError)
  })

  it('lists members in code point order, and the alive ones for the ring', () => {
    const table = tableOf([alive('\u{1F600}', 0), alive('\uFFFD', 0), alive('b', 0), { ...alive('a', 0), status: 'left' }])
    // UTF-16 order would put U+1F600 (a surrogate pair) before U+FFFD.
    expect(memberTable.members(table).map((r) => r.peerId)).toEqual(['a', 'b', '\uFFFD', '\u{1F600}'])
    expect(memberTable.aliveMembers(table).map((r) => r.peerId)).toEqual(['b', '\uFFFD', '\u{1F600}'])
  })
})

describe('member table laws', () => {
  it('merge is commutative, associative and idempotent, with the empty table as identity', () => {
    fc.assert(
      fc.property(tableArb, tableArb, tableArb, (a, b, c) => {
        expectSameTable(merge(a, b), merge(b, a))
        expectSameTable(merge(merge(a, b), c), merge(a, merge(b, c)))
        expectSameTable(merge(a, a), a)
        expectSameTable(merge(a, memberTable.empty()), a)
      }),
      { numRuns: 300 },
    )
  })

  it('a delta joined into its table gives the table the mutation describes', () => {
    fc.assert(
      fc.property(tableArb, recordArb, (table, input) => {
        const next = merge(table, announce(table, input))
        // The announced record is in, unless the table already held one that beats it.
        const winner = next.get(input.peerId)!
        const candidate = announce(memberTable.empty(), input).get(input.peerId)!
        expect(memberTable.compareRecords(winner, candidate)).toBeGreaterThanOrEqual(0)
        const held = table.get(input.peerId)
        if (held === undefined || memberTable.compareRecords(held, candidate) < 0) expect(winner).toEqual(candidate)
        else expect(winner).toBe(held)
      }),
      { numRuns: 300 },
    )
  })

  it('round-trips through the codec (the wire encoding), and equal tables give equal bytes', () => {
    fc.assert(
      fc.property(fc.array(recordArb, { maxLength: 10 }), (records) => {
        const table = tableOf(records)
        const bytes = encode(table)
        expect(bytes[0]).toBe(WIRE_VERSION)
        expect(bytes[1]).toBe(MESSAGE_TAGS.members)
        expectSameTable(decode(bytes), table)
        expect(encode(decode(bytes))).toEqual(bytes)
        expect(encode(tableOf([...records].reverse()))).toEqual(bytes)
      }),
      { numRuns: 300 },
    )
  })

  it('converges under any delivery order, with duplicates, through the codec', () => {
    type Op = { kind: 'announce'; record: MemberRecordInput } | { kind: 'leave'; peerId: string }
    const opArb: fc.Arbitrary<[number, Op]> = fc.tuple(
      fc.integer({ min: 0, max: 2 }),
      fc.oneof(
        recordArb.map((record): Op => ({ kind: 'announce', record })),
        peerIdArb.map((peerId): Op => ({ kind: 'leave', peerId })),
      ),
    )
    fc.assert(
      fc.property(
        fc.array(opArb, { minLength: 1, maxLength: 25 }),
        fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (ops, shuffleSeeds, duplicates) => {
          // Each op runs at one replica against its local state; its delta is broadcast.
          const local: MemberTable[] = [memberTable.empty(), memberTable.empty(), memberTable.empty()]
          const wire: Uint8Array[] = []
          for (const [replica, op] of ops) {
            const state = local[replica]!
            const delta = op.kind === 'announce' ? announce(state, op.record) : leave(state, op.peerId)
            local[replica] = merge(state, delta)
            wire.push(encode(delta))
          }
          for (const d of duplicates) wire.push(wire[d % wire.length]!)
          const everything = wire.map(decode).reduce(merge, memberTable.empty())
          const finals = local.map((state, replica) => {
            const order = shuffled(wire, shuffleSeeds[replica]!)
            return order.reduce((s, bytes) => merge(s, decode(bytes)), state)
          })
          for (const state of finals) expectSameTable(state, everything)
        },
      ),
      { numRuns: 300 },
    )
  })
})

/** Deterministic Fisher-Yates driven by a generated number (fast-check shrinks it). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items]
  let state = seed >>> 0
  for (let i = out.length - 1; i > 0; i--) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0
    const j = state % (i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

// Hand-built protobuf: a frame is [version][tag][Members], a Member is field 1 of Members.
const field = (n: number, bytes: number[]): number[] => [(n << 3) | 2, ...varint(bytes.length), ...bytes]
const text = (n: number, s: string): number[] => field(n, [...new TextEncoder().encode(s)])
const uint = (n: number, value: number): number[] => [n << 3, ...varint(value)]
const member = (...fields: number[][]): number[] => field(1, fields.flat())
const frame = (...members: number[][]): number[] => [WIRE_VERSION, MESSAGE_TAGS.members, ...members.flat()]

describe('member table decoding', () => {
  const sample = tableOf([alive('a', 1, ['/x', '/y']), { ...alive('b', 7), status: 'left' }])

  it('encodes the empty table as the members message with no member', () => {
    expect(encode(memberTable.empty())).toEqual(Uint8Array.from([WIRE_VERSION, MESSAGE_TAGS.members]))
  })

  it('rejects each kind of malformed input with MemberTableDecodeError', () => {
    const bytes = encode(sample)
    const a = text(1, 'a')
    const cases: [string, number[]][] = [
      ['empty input', []],
      ['another message', [WIRE_VERSION, MESSAGE_TAGS.ack]],
      ['unknown version', [WIRE_VERSION + 1, MESSAGE_TAGS.members]],
      ['trailing byte', [...bytes, 0]],
      ['truncated', [...bytes.slice(0, -1)]],
      ['non-minimal varint', frame(member(a, [0x18, 0x81, 0x00]))],
      ['fields out of order', frame(member(uint(3, 1), a))],
      ['incarnation above 2^53', frame(member(a, [0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]))],
      // One record: id "a", vnodes 1, and what the case names.
      ['bad status', frame(member(a, uint(3, 1), uint(5, 2)))],
      ['empty peer id', frame(member(uint(3, 1)))],
      ['invalid UTF-8', frame(member(field(1, [0xff]), uint(3, 1)))],
      ['vnodes too large', frame(member(a, uint(3, MAX_VNODES + 1)))],
      ['too many addresses', frame(member(a, ...Array.from({ length: MAX_ADDRS + 1 }, (_, i) => text(2, `/a/${String(i).padStart(2, '0')}`))))],
      ['unsorted addresses', frame(member(a, text(2, 'b'), text(2, 'a'), uint(3, 1)))],
      ['duplicate address', frame(member(a, text(2, 'b'), text(2, 'b'), uint(3, 1)))],
      ['unsorted peers', frame(member(text(1, 'b'), uint(3, 1)), member(a, uint(3, 1)))],
      ['duplicate peers', frame(member(a, uint(3, 1)), member(a, uint(3, 1)))],
      ['peer id too long', frame(member(text(1, 'a'.repeat(MAX_PEER_ID_BYTES + 1)), uint(3, 1)))],
    ]
    // The well-formed version of the hand-built records decodes, so each case fails for its reason.
    expect(decode(Uint8Array.from(frame(member(a, text(2, 'a'), text(2, 'b'), uint(3, 1), uint(5, 1))))).get('a')).toEqual({
      peerId: 'a',
      addrs: ['a', 'b'],
      vnodes: 1,
      incarnation: 0,
      status: 'left',
    })
    for (const [name, input] of cases) {
      expect(() => decode(Uint8Array.from(input)), name).toThrow(MemberTableDecodeError)
    }
  })

  it('takes records from peers only when valid and canonical, joining a peer named twice', () => {
    const record = { peerId: 'p', addrs: ['/a', '/b'], vnodes: 128, incarnation: 1, status: 'alive' as const }
    expect(memberTable.fromRecords([record]).get('p')).toEqual(record)
    const newer = { ...record, incarnation: 2 }
    expect(memberTable.fromRecords([newer, record]).get('p')).toEqual(newer)
    expect(memberTable.fromRecords([record, newer]).get('p')).toEqual(newer)
    for (const bad of [{ ...record, addrs: ['/b', '/a'] }, { ...record, addrs: ['/a', '/a'] }, { ...record, peerId: '' }, { ...record, vnodes: MAX_VNODES + 1 }]) {
      expect(() => memberTable.fromRecords([bad])).toThrow(InvalidMemberRecordError)
    }
  })

  it('on fuzzed and mutated input, either throws MemberTableDecodeError or decodes canonically', () => {
    const check = (bytes: Uint8Array): void => {
      let table: MemberTable
      try {
        table = decode(bytes)
      } catch (error) {
        expect(error).toBeInstanceOf(MemberTableDecodeError)
        return
      }
      expect(encode(table)).toEqual(bytes)
    }
    const valid = fc.array(recordArb, { maxLength: 6 }).map((records) => encode(tableOf(records)))
    const mutated = fc
      .tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'truncate'))
      .map(([bytes, at, value, how]) => {
        const out = [...bytes]
        const i = at % (out.length + 1)
        if (how === 'set' && i < out.length) out[i] = value
        if (how === 'insert') out.splice(i, 0, value)
        if (how === 'delete') out.splice(i, 1)
        if (how === 'truncate') out.length = i
        return Uint8Array.from(out)
      })
    const random = fc.uint8Array({ maxLength: 64 }).map((tail) => Uint8Array.from([WIRE_VERSION, MESSAGE_TAGS.members, ...tail]))
    fc.assert(fc.property(fc.oneof(mutated, random, fc.uint8Array({ maxLength: 32 })), check), { numRuns: 3000 })
  })
})
