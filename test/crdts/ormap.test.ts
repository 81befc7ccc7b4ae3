// Maps (crdts/ormap.ts) by property: histories of field writes, field removals (nested too)
// and merges at three replicas. The join is a semilattice; deltas are what the mutators say;
// every replica converges; concurrent edits of different fields both survive; a field
// removal is observed-remove; encodings are canonical and decoding is strict.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CrdtDecodeError,
  FieldTypeError,
  GCounter,
  HybridLogicalClock,
  LWWRegister,
  ORMap,
  ORSet,
  PNCounter,
  removalOf,
  type CrdtTypeName,
  type ORMapState,
} from '../../crdts/index.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261203)
const ACTORS = ['alice', 'bob', '\u{1F986}duck'] as const
const PATHS: readonly string[][] = [['a'], ['b'], ['n', 'x'], ['n', 'y'], ['n']]
const FIELD_TYPES = ['gcounter', 'pncounter', 'orset', 'lww'] as const

type Step =
  | { kind: 'write'; at: number; path: number; type: (typeof FIELD_TYPES)[number]; arg: number }
  | { kind: 'remove'; at: number; path: number }
  | { kind: 'merge'; at: number; from: number }

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), at: fc.nat(2), path: fc.nat(PATHS.length - 1), type: fc.constantFrom(...FIELD_TYPES), arg: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('remove' as const), at: fc.nat(2), path: fc.nat(PATHS.length - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('merge' as const), at: fc.nat(2), from: fc.nat(2) }) },
)

interface Run {
  readonly replicas: ORMapState[]
  /** Every state a replica held, for the semilattice laws. */
  readonly seen: ORMapState[]
  /** (before, delta, after) of each applied mutation. */
  readonly mutations: { before: ORMapState; delta: ORMapState; after: ORMapState }[]
}

function write(s: ORMapState, actor: string, clock: HybridLogicalClock, path: readonly string[], type: CrdtTypeName, arg: number): ORMapState {
  return ORMap.update(s, path, type, (current) => {
    switch (type) {
      case 'gcounter':
        return GCounter.increment(current as never, actor, arg + 1)
      case 'pncounter':
        return arg % 2 === 0 ? PNCounter.increment(current as never, actor, arg + 1) : PNCounter.decrement(current as never, actor, arg)
      case 'orset':
        return arg === 3 ? ORSet.remove(current as never, arg - 1) : ORSet.add(current as never, actor, arg)
      default:
        return LWWRegister.set(current as never, actor, { by: actor, arg }, clock.now())
    }
  })
}

function run(steps: readonly Step[]): Run {
  let wall = 1000
  const clocks = ACTORS.map(() => new HybridLogicalClock({ now: () => wall }))
  const replicas: ORMapState[] = ACTORS.map(() => ORMap.empty())
  const seen: ORMapState[] = []
  const mutations: Run['mutations'] = []
  for (const s of steps) {
    wall += 7
    const before = replicas[s.at] as ORMapState
    let delta: ORMapState
    if (s.kind === 'merge') {
      delta = replicas[s.from] as ORMapState
    } else if (s.kind === 'remove') {
      delta = ORMap.remove(before, PATHS[s.path] as string[])
    } else {
      try {
        delta = write(before, ACTORS[s.at] as string, clocks[s.at] as HybridLogicalClock, PATHS[s.path] as string[], s.type, s.arg)
      } catch (err) {
        // A field (or a map on the way) that shows another type refuses the write; nothing changes.
        if (err instanceof FieldTypeError) continue
        throw err
      }
    }
    const after = ORMap.merge(before, delta)
    if (s.kind !== 'merge') mutations.push({ before, delta, after })
    replicas[s.at] = after
    seen.push(after)
  }
  return { replicas, seen, mutations }
}

const history = fc.array(step, { minLength: 1, maxLength: 40 })
const params = { seed: SEED, numRuns: 200 }
const same = (a: ORMapState, b: ORMapState): boolean => ORMap.equals(a, b) && Buffer.from(ORMap.encode(a)).equals(Buffer.from(ORMap.encode(b)))

describe(`maps (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/crdts/ormap.test.ts)`, () => {
  it('merge is commutative, associative and idempotent on every state of random histories', () => {
    fc.assert(
      fc.property(history, fc.nat(), fc.nat(), fc.nat(), (steps, i, j, k) => {
        const { seen } = run(steps)
        const [a, b, c] = [seen[i % seen.length], seen[j % seen.length], seen[k % seen.length]] as [ORMapState, ORMapState, ORMapState]
        expect(same(ORMap.merge(a, b), ORMap.merge(b, a))).toBe(true)
        expect(same(ORMap.merge(ORMap.merge(a, b), c), ORMap.merge(a, ORMap.merge(b, c)))).toBe(true)
        expect(same(ORMap.merge(a, a), a)).toBe(true)
      }),
      params,
    )
  })

  it('every replica converges once each has every other state; a delta is covered by its witness', () => {
    fc.assert(
      fc.property(history, (steps) => {
        const { replicas, mutations } = run(steps)
        const all = replicas.reduce((x, y) => ORMap.merge(x, y), ORMap.empty())
        const orders = [replicas, [...replicas].reverse()]
        for (const order of orders) expect(same(order.reduce((x, y) => ORMap.merge(x, y), ORMap.empty()), all)).toBe(true)
        for (const { delta, after, before } of mutations) {
          expect(ORMap.covers(after, ORMap.witness(delta))).toBe(true)
          expect(ORMap.covers(all, ORMap.witness(delta))).toBe(true)
          // A state without the write covers it only if the write changed nothing a reader sees
          // (removing an element a set does not hold, say).
          if (ORMap.covers(before, ORMap.witness(delta))) expect(ORMap.value(after)).toEqual(ORMap.value(before))
        }
      }),
      params,
    )
  })

  it('encodes canonically and decodes to an equal state; the removal rules hold', () => {
    fc.assert(
      fc.property(history, (steps) => {
        for (const s of run(steps).seen) {
          const bytes = ORMap.encode(s)
          const back = ORMap.decode(bytes)
          expect(same(back, s)).toBe(true)
          expect(Buffer.from(ORMap.encode(back)).equals(Buffer.from(bytes))).toBe(true)
          // Deleting the whole map (removal.ts): a tombstone, which covers everything it saw.
          const removal = removalOf('map')
          const t = removal.tombstoneOf(s)
          expect(removal.isTombstone(t)).toBe(true)
          expect(removal.isEmpty(removal.without(s, t))).toBe(true)
          expect(ORMap.value(removal.without(s, t) as ORMapState)).toEqual({})
        }
      }),
      params,
    )
  })

  it('decoding mutated encodings throws CrdtDecodeError or gives back the same bytes', () => {
    fc.assert(
      fc.property(history, fc.array(fc.tuple(fc.nat(), fc.nat(255)), { minLength: 1, maxLength: 3 }), (steps, flips) => {
        const { seen } = run(steps)
        const bytes = [...ORMap.encode(seen[seen.length - 1] as ORMapState)]
        for (const [at, value] of flips) bytes[at % bytes.length] = value
        const input = Uint8Array.from(bytes)
        let decoded: ORMapState
        try {
          decoded = ORMap.decode(input)
        } catch (err) {
          expect(err).toBeInstanceOf(CrdtDecodeError)
          return
        }
        expect(Buffer.from(ORMap.encode(decoded)).equals(Buffer.from(input))).toBe(true)
      }),
      params,
    )
  })

  it('concurrent edits of different fields both survive; a field removal removes only what it saw', () => {
    const wall = 5000
    const clock = new HybridLogicalClock({ now: () => wall })
    const base = write(ORMap.empty(), 'alice', clock, ['likes'], 'pncounter', 4)
    // Two replicas from the same document.
    const a = ORMap.merge(base, write(base, 'alice', clock, ['name'], 'lww', 1))
    const bEdit = write(base, 'bob', clock, ['likes'], 'pncounter', 0)
    const b = ORMap.merge(base, bEdit)
    const aRemoved = ORMap.merge(a, ORMap.remove(a, ['likes']))
    const joined = ORMap.merge(aRemoved, b)
    // a's name survives; b's increment of 1, made without seeing the removal, survives it; a's 5 likes do not.
    expect(ORMap.value(joined)).toEqual({ likes: 1, name: { by: 'alice', arg: 1 } })
    expect(same(joined, ORMap.merge(b, aRemoved))).toBe(true)
    // A nested map removed as a whole, while a field inside it is written elsewhere.
    const doc = write(ORMap.empty(), 'alice', clock, ['addr', 'city'], 'lww', 2)
    const cut = ORMap.merge(doc, ORMap.remove(doc, ['addr']))
    const moved = ORMap.merge(doc, write(doc, 'bob', clock, ['addr', 'zip'], 'gcounter', 0))
    expect(ORMap.value(ORMap.merge(cut, moved))).toEqual({ addr: { zip: 1 } })
  })

  it('refuses bad paths and names, deep nesting, and a write of another type to a field', () => {
    const s = write(ORMap.empty(), 'alice', new HybridLogicalClock({ now: () => 1 }), ['n'], 'gcounter', 0)
    expect(() => write(s, 'alice', new HybridLogicalClock({ now: () => 1 }), ['n'], 'lww', 0)).toThrow(FieldTypeError)
    expect(() => write(s, 'alice', new HybridLogicalClock({ now: () => 1 }), ['n', 'deeper'], 'lww', 0)).toThrow(/map field "n" holds a gcounter, not a map/)
    expect(() => ORMap.remove(s, [])).toThrow(RangeError)
    expect(() => ORMap.remove(s, [''])).toThrow(/must not be empty/)
    expect(() => ORMap.remove(s, ['x'.repeat(300)])).toThrow(/longer than 256/)
    expect(() => ORMap.remove(s, Array.from({ length: 9 }, () => 'a'))).toThrow(/deeper than 8/)
    // Nine maps deep does not decode.
    let deep = s
    for (let i = 0; i < 8; i++) deep = ORMap.fieldDelta('m', [{ type: 'map', state: deep }])
    expect(() => ORMap.decode(ORMap.encode(deep))).toThrow(/nested more than 8 deep/)
    expect(ORMap.decode(ORMap.encode((deep.fields[0]?.content[0]?.state as ORMapState)))).toBeDefined()
  })
})
