// The table the generic CRDT suites run against: for each type, how to generate operations,
// how to run them, the sequential postcondition of one operation, and a reference model
// (a plain, obviously correct replicated structure: sets of operations, tombstones kept).
import fc from 'fast-check'
import { expect } from 'vitest'
import {
  canonicalJson,
  compareTimestamps,
  GCounter,
  HybridLogicalClock,
  LWWRegister,
  ORSet,
  PNCounter,
  type Crdt,
  type GCounterState,
  type JsonValue,
  type LWWRegisterState,
  type ORSetState,
  type PNCounterState,
  type Timestamp,
  type Witnessing,
} from '../../crdts/index.js'

/**
 * Actor ids of the replicas. The last two sort differently in UTF-16 and UTF-8, which keeps
 * the codecs honest about using one order consistently.
 */
export const ACTORS = ['alice', 'bob', 'carol', '\u{1F986}duck', '\uFF61halfwidth'] as const

export interface Replica {
  readonly index: number
  readonly actor: string
  readonly clock: HybridLogicalClock
  /** The wall clock the replica's HLC reads; set by LWW operations before they run. */
  wallMs: number
}

export function makeReplicas(n: number): Replica[] {
  return Array.from({ length: n }, (_, index) => {
    const replica: Replica = {
      index,
      actor: ACTORS[index % ACTORS.length] as string,
      wallMs: 0,
      clock: new HybridLogicalClock({ now: () => replica.wallMs }),
    }
    return replica
  })
}

export interface ModelSpec<M, Op, S> {
  empty(): M
  /** The model's delta for `op` at a replica whose model state is `m`; `opId` is unique. */
  delta(m: M, replica: Replica, op: Op, opId: number, implDelta: S): M
  merge(a: M, b: M): M
  /** The value the implementation must show, in the terms of `observe`. */
  value(m: M): unknown
}

export interface TypeSpec<S, Op, M> {
  readonly name: string
  readonly crdt: Crdt<S, unknown> & Witnessing<S>
  readonly op: fc.Arbitrary<Op>
  /** Runs the mutator for `op` at `replica` on its current state `s`; returns the delta. */
  mutate(s: S, replica: Replica, op: Op): S
  /** Asserts the sequential effect of `op`: `after` is merge(before, delta). */
  checkMutation(before: S, after: S, replica: Replica, op: Op, delta: S): void
  /** The implementation's value, in the form the model's value takes. */
  observe(s: S): unknown
  readonly model: ModelSpec<M, Op, S>
  /** The value after every operation of `log` has reached a replica. */
  sequential(log: readonly { replica: Replica; op: Op; delta: S }[]): unknown
}

// The table is heterogeneous; each spec is type-checked where it is defined.
export type AnySpec = TypeSpec<any, any, any>

const amount = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 5 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 2 ** 40 }) })

/** A small pool of elements, so operations collide on the same element often. */
export const element: fc.Arbitrary<JsonValue> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<JsonValue>('a', 'b', 'c', 1, 2, null, true, 'é', { k: 1, a: [1] }, ['x', 2]) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<JsonValue> },
)

function sumOf(m: ReadonlyMap<number, number>): number {
  let total = 0
  for (const n of m.values()) total += n
  return total
}

function unionMaps<K, V>(a: ReadonlyMap<K, V>, b: ReadonlyMap<K, V>): Map<K, V> {
  const out = new Map(a)
  for (const [k, v] of b) out.set(k, v)
  return out
}

/** Model of both counters: every operation by id with its signed amount. */
const counterModel = <S>(sign: (op: CounterOp) => number): ModelSpec<ReadonlyMap<number, number>, CounterOp, S> => ({
  empty: () => new Map(),
  delta: (_m, _r, op, opId) => new Map([[opId, sign(op) * op.amount]]),
  merge: unionMaps,
  value: sumOf,
})

function counterEntries(s: GCounterState): Map<string, number> {
  return new Map(s.actors.map((actor, i) => [actor, s.counts[i] as number]))
}

function expectRaised(before: GCounterState, after: GCounterState, actor: string, by: number): void {
  const b = counterEntries(before)
  const a = counterEntries(after)
  expect(a.get(actor) ?? 0).toBe((b.get(actor) ?? 0) + by)
  a.delete(actor)
  b.delete(actor)
  expect(a).toEqual(b)
}

export interface CounterOp {
  readonly kind: 'inc' | 'dec'
  readonly amount: number
}

export const gcounterSpec: TypeSpec<GCounterState, CounterOp, ReadonlyMap<number, number>> = {
  name: 'gcounter',
  crdt: GCounter,
  op: fc.record({ kind: fc.constant('inc' as const), amount }),
  mutate: (s, r, op) => GCounter.increment(s, r.actor, op.amount),
  checkMutation(before, after, r, op) {
    expect(GCounter.value(after)).toBe(GCounter.value(before) + op.amount)
    expectRaised(before, after, r.actor, op.amount)
  },
  observe: (s) => GCounter.value(s),
  model: counterModel(() => 1),
  sequential: (log) => log.reduce((sum, { op }) => sum + op.amount, 0),
}

export const pncounterSpec: TypeSpec<PNCounterState, CounterOp, ReadonlyMap<number, number>> = {
  name: 'pncounter',
  crdt: PNCounter,
  op: fc.record({ kind: fc.constantFrom('inc' as const, 'dec' as const), amount }),
  mutate: (s, r, op) => (op.kind === 'inc' ? PNCounter.increment(s, r.actor, op.amount) : PNCounter.decrement(s, r.actor, op.amount)),
  checkMutation(before, after, r, op) {
    const sign = op.kind === 'inc' ? 1 : -1
    expect(PNCounter.value(after)).toBe(PNCounter.value(before) + sign * op.amount)
    expectRaised(before.p, after.p, r.actor, op.kind === 'inc' ? op.amount : 0)
    expectRaised(before.n, after.n, r.actor, op.kind === 'dec' ? op.amount : 0)
  },
  observe: (s) => PNCounter.value(s),
  model: counterModel((op) => (op.kind === 'inc' ? 1 : -1)),
  sequential: (log) => log.reduce((sum, { op }) => sum + (op.kind === 'inc' ? op.amount : -op.amount), 0),
}

export interface SetOp {
  readonly kind: 'add' | 'remove'
  readonly element: JsonValue
}

/**
 * The add-wins reference: every add by id, and the ids each operation saw and superseded
 * (a remove supersedes the element's adds its replica observed; so does a re-add).
 */
export interface SetModel {
  readonly adds: ReadonlyMap<number, string>
  readonly removed: ReadonlySet<number>
}

function liveAdds(m: SetModel, key: string): number[] {
  return [...m.adds].filter(([id, k]) => k === key && !m.removed.has(id)).map(([id]) => id)
}

function setModelValue(m: SetModel): string[] {
  const keys = new Set<string>()
  for (const [id, key] of m.adds) if (!m.removed.has(id)) keys.add(key)
  return [...keys].sort()
}

function contextDots(s: ORSetState): Set<string> {
  const out = new Set<string>()
  for (const [actor, { contiguous, cloud }] of s.context) {
    for (let c = 1; c <= contiguous; c++) out.add(`${actor}:${c}`)
    for (const c of cloud) out.add(`${actor}:${c}`)
  }
  return out
}

export const orsetSpec: TypeSpec<ORSetState, SetOp, SetModel> = {
  name: 'orset',
  crdt: ORSet,
  op: fc.record({ kind: fc.constantFrom('add' as const, 'remove' as const), element }),
  mutate: (s, r, op) => (op.kind === 'add' ? ORSet.add(s, r.actor, op.element) : ORSet.remove(s, op.element)),
  checkMutation(before, after, r, op) {
    const key = canonicalJson(op.element)
    const others = (s: ORSetState) => s.entries.filter((e) => e.key !== key)
    // Other elements keep their dots; the element itself is present iff this was an add.
    expect(others(after)).toEqual(others(before))
    expect(ORSet.has(after, op.element)).toBe(op.kind === 'add')
    const expectedValue = new Set(ORSet.value(before).map((v) => canonicalJson(v)))
    if (op.kind === 'add') expectedValue.add(key)
    else expectedValue.delete(key)
    expect(ORSet.value(after).map((v) => canonicalJson(v))).toEqual([...expectedValue].sort())
    const seenBefore = contextDots(before)
    const seenAfter = contextDots(after)
    if (op.kind === 'add') {
      // Exactly one fresh dot of this actor, now the element's only dot.
      const fresh = [...seenAfter].filter((d) => !seenBefore.has(d))
      expect(fresh).toHaveLength(1)
      expect(fresh[0]?.startsWith(`${r.actor}:`)).toBe(true)
      const entry = after.entries.find((e) => e.key === key)
      expect(entry?.dots.map((d) => `${d.actor}:${d.counter}`)).toEqual(fresh)
    } else {
      expect(seenAfter).toEqual(seenBefore)
    }
  },
  observe: (s) => ORSet.value(s).map((v) => canonicalJson(v)),
  model: {
    empty: () => ({ adds: new Map(), removed: new Set() }),
    delta(m, _r, op, opId) {
      const key = canonicalJson(op.element)
      return {
        adds: op.kind === 'add' ? new Map([[opId, key]]) : new Map(),
        removed: new Set(liveAdds(m, key)),
      }
    },
    merge: (a, b) => ({ adds: unionMaps(a.adds, b.adds), removed: new Set([...a.removed, ...b.removed]) }),
    value: setModelValue,
  },
  // Sequential add-wins semantics need the causal information the model carries; the
  // convergence test compares against the model merged over the whole log instead.
  sequential: () => undefined,
}

export interface RegisterOp {
  /** What the replica's wall clock reads when it writes; a small range makes ties common. */
  readonly wallMs: number
  readonly value: JsonValue
}

interface RegisterWrite {
  readonly timestamp: Timestamp
  readonly actor: string
  readonly json: string
}

function latest(writes: Iterable<RegisterWrite>): RegisterWrite | undefined {
  let best: RegisterWrite | undefined
  for (const w of writes) {
    if (best === undefined) best = w
    else {
      const t = compareTimestamps(w.timestamp, best.timestamp)
      if (t > 0 || (t === 0 && w.actor > best.actor)) best = w
    }
  }
  return best
}

function writeOf(delta: LWWRegisterState): RegisterWrite {
  if (delta === null) throw new Error('a set must produce a write')
  return { timestamp: delta.timestamp, actor: delta.actor, json: delta.json }
}

export const lwwSpec: TypeSpec<LWWRegisterState, RegisterOp, ReadonlyMap<number, RegisterWrite>> = {
  name: 'lww',
  crdt: LWWRegister,
  op: fc.record({ wallMs: fc.integer({ min: 0, max: 3 }), value: element }),
  mutate(s, r, op) {
    r.wallMs = op.wallMs
    return LWWRegister.set(s, r.actor, op.value, r.clock.now())
  },
  checkMutation(before, after, r, op, delta) {
    const { timestamp: ts, actor } = writeOf(delta)
    expect(actor).toBe(r.actor)
    const wins = before === null || compareTimestamps(ts, before.timestamp) > 0 ||
      (compareTimestamps(ts, before.timestamp) === 0 && r.actor > before.actor)
    expect(LWWRegister.value(after)).toEqual(wins ? canonicalValue(op.value) : LWWRegister.value(before))
  },
  observe: (s) => s?.json,
  model: {
    empty: () => new Map(),
    delta: (_m, _r, _op, opId, implDelta) => new Map([[opId, writeOf(implDelta)]]),
    merge: unionMaps,
    value: (m) => latest(m.values())?.json,
  },
  sequential: (log) => latest(log.map(({ delta }) => writeOf(delta)))?.json,
}

/** The value as stored: a canonical copy (so -0 reads back as 0). */
function canonicalValue(v: JsonValue): JsonValue {
  return JSON.parse(canonicalJson(v)) as JsonValue
}

export const SPECS: readonly AnySpec[] = [gcounterSpec, pncounterSpec, orsetSpec, lwwSpec]
