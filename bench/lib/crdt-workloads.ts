// The same CRDT work done twice, by rumordb's crdts/ and by delta-crdts: realistic states
// built from one seeded script (same actor ids, same elements, same order of operations),
// and the mutator and merge loops the benchmark times on them. Each library is driven
// through its own documented API; what is not like-for-like is listed in `FAIRNESS_NOTES`.
import {
  GCounter,
  HybridLogicalClock,
  LWWRegister,
  ORSet,
  PNCounter,
  utf8Length,
  type CrdtTypeName,
  type GCounterState,
  type LWWRegisterState,
  type ORSetState,
  type PNCounterState,
} from '../../crdts/index.js'
import { seededRandom, type Random } from '../../src/base/random.js'
import { peer, peerSetAddDelta, peerSetStrayContextEntries, peerSetWithoutStrayEntries, type PeerType } from './delta-crdts-peer.js'
import type { TimedSide } from './paired-timing.js'
import { formatNumber } from './table.js'

export interface CrdtWorkloadOptions {
  /** Writers of each counter. */
  readonly counterActors: number
  /** Elements of an OR-set before the replicas diverge. */
  readonly setElements: number
  /** Writers of the OR-set's elements. */
  readonly setActors: number
  /** Adds and removes each OR-set replica makes on its own before the merge. */
  readonly setDivergence: number
  readonly seed: number
}

/** One state, as each library holds it. */
export interface Both<O> {
  readonly ours: O
  readonly theirs: unknown
}

interface Diverged<O> {
  readonly a: Both<O>
  readonly b: Both<O>
  readonly merged: Both<O>
}

export interface CrdtFixtures {
  readonly options: CrdtWorkloadOptions
  /** rumordb-style actor ids (16 base64url characters); the sets use the first `setActors`. */
  readonly actors: readonly string[]
  readonly gcounter: Diverged<GCounterState>
  readonly pncounter: Diverged<PNCounterState>
  readonly orset: Diverged<ORSetState> & {
    /** One add of a new element by another writer, as that writer's replica returned it. */
    readonly delta: Both<ORSetState>
    readonly mergedWithDelta: Both<ORSetState>
    /** Encoded sizes of the delta as created; `theirsAddReturn` is what their replica's add() returned. */
    readonly deltaBytes: { readonly ours: number; readonly theirs: number; readonly theirsAddReturn: number }
  }
  readonly lww: Diverged<LWWRegisterState>
}

export type CaseGroup = 'mutator' | 'merge'

export interface ThroughputCase {
  readonly group: CaseGroup
  readonly type: CrdtTypeName
  readonly workload: string
  readonly ours: TimedSide
  readonly theirs: TimedSide
}

export interface SizeCase {
  readonly type: CrdtTypeName
  readonly workload: string
  readonly ours: number
  /** Their state through delta-crdts-msgpack-codec. */
  readonly theirs: number
  /** OR-set only: their causal-context entries left by the remove bug, and their bytes without them. */
  readonly theirsStrayEntries?: number
  readonly theirsWithoutStray?: number
  /** OR-set delta only: bytes of what their replica's add() returned (the whole state). */
  readonly theirsAddReturn?: number
  /** LWW only: bytes ours spends on the writer's actor id, which theirs does not store. */
  readonly oursActorBytes?: number
}

/** Wall-clock origin of the register fixtures (2026-01-01T00:00:00Z): fixed so sizes repeat. */
const T0 = 1_767_225_600_000
/** Per-actor counter totals are drawn from 1..MAX_COUNT. */
const MAX_COUNT = 100
/** Distinct values and elements the mutator loops cycle through, built before timing. */
const POOL = 1024
const REGISTER_VALUES = Array.from({ length: 16 }, (_, i) => `https://cdn.example.com/avatars/${1000 + i}.png`)

/** Something every timed loop writes its last result to, so the JIT cannot drop the work. */
const sink: { value: unknown } = { value: undefined }

export function buildFixtures(o: CrdtWorkloadOptions): CrdtFixtures {
  if (o.counterActors < 2) throw new RangeError('counterActors must be at least 2: two replicas diverge on two actors')
  if (o.setActors < 3) throw new RangeError('setActors must be at least 3: two replicas diverge and a third writes the delta')
  if (o.setElements < 3 * o.setDivergence) throw new RangeError('setElements must be at least 3 × setDivergence')
  const rng = seededRandom(o.seed)
  const actors = actorIds(Math.max(o.counterActors, o.setActors), rng)
  return {
    options: o,
    actors,
    gcounter: gcounterFixture(actors.slice(0, o.counterActors), rng),
    pncounter: pncounterFixture(actors.slice(0, o.counterActors), rng),
    orset: orsetFixture(actors.slice(0, o.setActors), o, rng),
    lww: lwwFixture(actors),
  }
}

function actorIds(n: number, rng: Random): string[] {
  return Array.from({ length: n }, () => Buffer.from(rng.bytes(12)).toString('base64url'))
}

/** Per-actor totals two replicas have seen: neither dominates, so their merge is new work. */
function divergedCounts(n: number, rng: Random): { a: number[]; b: number[] } {
  const a = Array.from({ length: n }, () => 1 + rng.int(MAX_COUNT))
  const b = Array.from({ length: n }, () => 1 + rng.int(MAX_COUNT))
  a[0] = Math.max(a[0] as number, (b[0] as number) + 1)
  b[1] = Math.max(b[1] as number, (a[1] as number) + 1)
  return { a, b }
}

// Counters: every actor's replica counts up one at a time (delta-crdts increments by 1
// only), and a replica's state is the join of all the actors' states it has received.

function ourGCounter(actors: readonly string[], counts: readonly number[]): GCounterState {
  let s = GCounter.empty()
  actors.forEach((actor, i) => {
    let r = GCounter.empty()
    for (let k = 0; k < (counts[i] as number); k++) r = GCounter.merge(r, GCounter.increment(r, actor, 1))
    s = GCounter.merge(s, r)
  })
  return s
}

function theirGCounter(actors: readonly string[], counts: readonly number[]): unknown {
  const { type, replica } = peer.gcounter
  let s = type.initial()
  actors.forEach((actor, i) => {
    const r = replica(actor)
    for (let k = 0; k < (counts[i] as number); k++) r.inc()
    s = type.join(s, r.state())
  })
  return s
}

function gcounterFixture(actors: readonly string[], rng: Random): Diverged<GCounterState> {
  const { a, b } = divergedCounts(actors.length, rng)
  return diverged(
    { ours: ourGCounter(actors, a), theirs: theirGCounter(actors, a) },
    { ours: ourGCounter(actors, b), theirs: theirGCounter(actors, b) },
    GCounter.merge,
    peer.gcounter.type,
  )
}

function ourPNCounter(actors: readonly string[], p: readonly number[], n: readonly number[]): PNCounterState {
  let s = PNCounter.empty()
  actors.forEach((actor, i) => {
    let r = PNCounter.empty()
    for (let k = 0; k < (p[i] as number); k++) r = PNCounter.merge(r, PNCounter.increment(r, actor, 1))
    for (let k = 0; k < (n[i] as number); k++) r = PNCounter.merge(r, PNCounter.decrement(r, actor, 1))
    s = PNCounter.merge(s, r)
  })
  return s
}

function theirPNCounter(actors: readonly string[], p: readonly number[], n: readonly number[]): unknown {
  const { type, replica } = peer.pncounter
  let s = type.initial()
  actors.forEach((actor, i) => {
    const r = replica(actor)
    for (let k = 0; k < (p[i] as number); k++) r.inc()
    for (let k = 0; k < (n[i] as number); k++) r.dec()
    s = type.join(s, r.state())
  })
  return s
}

function pncounterFixture(actors: readonly string[], rng: Random): Diverged<PNCounterState> {
  const p = divergedCounts(actors.length, rng)
  const n = divergedCounts(actors.length, rng)
  return diverged(
    { ours: ourPNCounter(actors, p.a, n.a), theirs: theirPNCounter(actors, p.a, n.a) },
    { ours: ourPNCounter(actors, p.b, n.b), theirs: theirPNCounter(actors, p.b, n.b) },
    PNCounter.merge,
    peer.pncounter.type,
  )
}

function diverged<O>(a: Both<O>, b: Both<O>, merge: (x: O, y: O) => O, type: PeerType): Diverged<O> {
  return { a, b, merged: { ours: merge(a.ours, b.ours), theirs: type.join(a.theirs, b.theirs) } }
}

// OR-set: each writer adds its share of the elements on its own replica; replicas A (first
// writer) and B (second writer) receive everyone's full state, then each makes its own
// removes, re-adds and adds before they merge.

interface SetOp {
  readonly op: 'add' | 'remove'
  readonly element: string
}

interface SetScript {
  /** Elements each writer adds first. */
  readonly initial: readonly (readonly string[])[]
  readonly a: readonly SetOp[]
  readonly b: readonly SetOp[]
  /** The element of the small delta. */
  readonly fresh: string
}

function shuffle<T>(items: T[], rng: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[items[i], items[j]] = [items[j] as T, items[i] as T]
  }
  return items
}

function setScript(writers: number, o: CrdtWorkloadOptions, rng: Random): SetScript {
  const elements = Array.from({ length: o.setElements }, (_, i) => `element-${i}`)
  const initial = Array.from({ length: writers }, (_, k) => elements.filter((_, i) => i % writers === k))
  const order = shuffle([...elements], rng)
  const d = o.setDivergence
  const shared = Math.max(1, Math.floor(d / 10))
  const side = (name: string, removed: readonly string[]): SetOp[] =>
    shuffle(
      [
        ...removed.map((element) => ({ op: 'remove' as const, element })),
        // Both replicas re-add the same existing elements and add the same new ones: concurrent adds.
        ...order.slice(2 * d, 2 * d + shared).map((element) => ({ op: 'add' as const, element })),
        ...Array.from({ length: shared }, (_, i) => ({ op: 'add' as const, element: `shared-${i}` })),
        ...Array.from({ length: d }, (_, i) => ({ op: 'add' as const, element: `${name}-${i}` })),
      ],
      rng,
    )
  return { initial, a: side('a-new', order.slice(0, d)), b: side('b-new', order.slice(d, 2 * d)), fresh: 'fresh-element' }
}

function ourSetOps(s: ORSetState, actor: string, ops: readonly SetOp[]): ORSetState {
  for (const { op, element } of ops) {
    s = ORSet.merge(s, op === 'add' ? ORSet.add(s, actor, element) : ORSet.remove(s, element))
  }
  return s
}

function orsetFixture(actors: readonly string[], o: CrdtWorkloadOptions, rng: Random): CrdtFixtures['orset'] {
  const script = setScript(actors.length, o, rng)
  const writer = actors.length - 1
  // Ours.
  const own = actors.map((actor, k) => ourSetOps(ORSet.empty(), actor, (script.initial[k] as string[]).map(addOp)))
  const full = own.reduce((x, y) => ORSet.merge(x, y))
  const oursA = ourSetOps(full, actors[0] as string, script.a)
  const oursB = ourSetOps(full, actors[1] as string, script.b)
  const oursDelta = ORSet.add(full, actors[writer] as string, script.fresh)
  // Theirs. Their mutators change the replica's current state object in place before
  // joining the delta, so every snapshot is taken after its replica's last mutation, and a
  // replica receives the others' states before any of them mutates again.
  const replicas = actors.map((actor, k) => {
    const r = peer.orset.replica(actor)
    for (const element of script.initial[k] as string[]) r.add(element)
    return r
  })
  const initialStates = replicas.map((r) => r.state())
  replicas.forEach((r, k) => initialStates.forEach((s, j) => j !== k && r.apply(s)))
  const [ra, rb] = replicas as [NonNullable<(typeof replicas)[0]>, NonNullable<(typeof replicas)[0]>]
  for (const { op, element } of script.a) op === 'add' ? ra.add(element) : ra.remove(element)
  for (const { op, element } of script.b) op === 'add' ? rb.add(element) : rb.remove(element)
  // Two replicas of the third writer with the same state: one for what its add() returns,
  // one for the one-dot delta (see peerSetAddDelta). Both hold the same new dot.
  const writerReplica = replicas[writer] as (typeof replicas)[0]
  const twin = peer.orset.replica(actors[writer] as string)
  twin.apply(writerReplica.state())
  const theirAddReturn = writerReplica.add(script.fresh)
  const theirDelta = peerSetAddDelta(twin.state(), actors[writer] as string, script.fresh)
  // Sized now: their first join compacts the delta's causal context in place.
  const deltaBytes = { ours: ORSet.encode(oursDelta).length, theirs: peer.encode(theirDelta).length, theirsAddReturn: peer.encode(theirAddReturn).length }
  const base = diverged({ ours: oursA, theirs: ra.state() }, { ours: oursB, theirs: rb.state() }, ORSet.merge, peer.orset.type)
  const delta = { ours: oursDelta, theirs: theirDelta }
  return {
    ...base,
    delta,
    deltaBytes,
    mergedWithDelta: { ours: ORSet.merge(oursA, oursDelta), theirs: peer.orset.type.join(ra.state(), theirDelta) },
  }
}

function addOp(element: string): SetOp {
  return { op: 'add', element }
}

// LWW register: two writers, the second later.

function lwwFixture(actors: readonly string[]): Diverged<LWWRegisterState> {
  const write = (k: number, wallMs: number): Both<LWWRegisterState> => {
    const actor = actors[k] as string
    const value = REGISTER_VALUES[k] as string
    const clock = new HybridLogicalClock({ now: () => wallMs })
    const r = peer.lww.replica(actor)
    r.write(wallMs, value)
    return { ours: LWWRegister.merge(null, LWWRegister.set(null, actor, value, clock.now())), theirs: r.state() }
  }
  return diverged(write(0, T0), write(1, T0 + 7), LWWRegister.merge, peer.lww.type)
}

// Timed loops.

/**
 * Mutators as a replica applies them: make the delta, then merge it into the replica's
 * state. Ours calls the mutator and merge; theirs calls the replica's mutator method, which
 * does both.
 */
export function mutatorCases(f: CrdtFixtures): ThroughputCase[] {
  const actor = f.actors[0] as string
  const elements = Array.from({ length: POOL }, (_, i) => `mutator-element-${i}`)
  return [
    {
      group: 'mutator',
      type: 'gcounter',
      workload: `increment, ${f.options.counterActors} actors`,
      ours: evolving(f.gcounter.merged.ours, (s) => GCounter.merge(s, GCounter.increment(s, actor, 1))),
      theirs: replicaLoop(() => peer.gcounter.replica(actor), f.gcounter.merged.theirs, (r) => r.inc()),
    },
    {
      group: 'mutator',
      type: 'pncounter',
      workload: `increment/decrement, ${f.options.counterActors} actors`,
      ours: evolving(f.pncounter.merged.ours, (s, i) =>
        PNCounter.merge(s, (i & 1) === 0 ? PNCounter.increment(s, actor, 1) : PNCounter.decrement(s, actor, 1)),
      ),
      theirs: replicaLoop(() => peer.pncounter.replica(actor), f.pncounter.merged.theirs, (r, i) => ((i & 1) === 0 ? r.inc() : r.dec())),
    },
    {
      group: 'mutator',
      type: 'orset',
      workload: `add/remove, ${formatNumber(f.options.setElements)} elements`,
      // Every sample starts again from the merged set, so it stays at its size.
      ours: evolving(
        f.orset.merged.ours,
        (s, i) => {
          const element = elements[(i >> 1) % POOL] as string
          return ORSet.merge(s, (i & 1) === 0 ? ORSet.add(s, actor, element) : ORSet.remove(s, element))
        },
        true,
      ),
      theirs: replicaLoop(
        () => peer.orset.replica(actor),
        f.orset.merged.theirs,
        (r, i) => {
          const element = elements[(i >> 1) % POOL] as string
          return (i & 1) === 0 ? r.add(element) : r.remove(element)
        },
        true,
      ),
    },
    {
      group: 'mutator',
      type: 'lww',
      workload: 'set (timestamp from the wall clock)',
      ours: (() => {
        const clock = new HybridLogicalClock({ now: Date.now })
        return evolving(f.lww.merged.ours, (s, i) =>
          LWWRegister.merge(s, LWWRegister.set(s, actor, REGISTER_VALUES[i & 15] as string, clock.now())),
        )
      })(),
      theirs: replicaLoop(() => peer.lww.replica(actor), f.lww.merged.theirs, (r, i) => r.write(Date.now(), REGISTER_VALUES[i & 15])),
    },
  ]
}

/** Our side of a mutator loop: a state that each step replaces; reset to `initial` per sample when asked. */
function evolving<S>(initial: S, step: (s: S, i: number) => S, resetPerSample = false): TimedSide {
  let s = initial
  return {
    reset: resetPerSample ? () => void (s = initial) : undefined,
    run(n) {
      for (let i = 0; i < n; i++) s = step(s, i)
      sink.value = s
    },
  }
}

/** Their side of a mutator loop: a replica that received `state`; a new one per sample when asked. */
function replicaLoop<R extends { apply(s: unknown): unknown }>(
  create: () => R,
  state: unknown,
  step: (r: R, i: number) => unknown,
  resetPerSample = false,
): TimedSide {
  const fresh = (): R => {
    const r = create()
    r.apply(state)
    return r
  }
  let r = fresh()
  return {
    reset: resetPerSample ? () => void (r = fresh()) : undefined,
    run(n) {
      let last: unknown
      for (let i = 0; i < n; i++) last = step(r, i)
      sink.value = last
    },
  }
}

/** Merges of received states into a replica's state. Full-state merges alternate the argument order. */
export function mergeCases(f: CrdtFixtures): ThroughputCase[] {
  const o = f.options
  return [
    { group: 'merge', type: 'gcounter', workload: `two ${o.counterActors}-actor states`, ...mergeLoops(f.gcounter, GCounter.merge, peer.gcounter.type) },
    { group: 'merge', type: 'pncounter', workload: `two ${o.counterActors}-actor states`, ...mergeLoops(f.pncounter, PNCounter.merge, peer.pncounter.type) },
    {
      group: 'merge',
      type: 'orset',
      workload: `two diverged ${formatNumber(o.setElements)}-element states, ${o.setActors} actors`,
      ...mergeLoops(f.orset, ORSet.merge, peer.orset.type),
    },
    {
      group: 'merge',
      type: 'orset',
      workload: `1-add delta into a ${formatNumber(o.setElements)}-element state`,
      ...mergeLoops({ a: f.orset.a, b: f.orset.delta }, ORSet.merge, peer.orset.type, false),
    },
    { group: 'merge', type: 'lww', workload: 'two states', ...mergeLoops(f.lww, LWWRegister.merge, peer.lww.type) },
  ]
}

function mergeLoops<O>(
  states: { readonly a: Both<O>; readonly b: Both<O> },
  merge: (x: O, y: O) => O,
  type: PeerType,
  alternate = true,
): { ours: TimedSide; theirs: TimedSide } {
  const { a, b } = states
  return {
    ours: {
      run(n) {
        let r: O = a.ours
        for (let i = 0; i < n; i++) r = alternate && (i & 1) === 1 ? merge(b.ours, a.ours) : merge(a.ours, b.ours)
        sink.value = r
      },
    },
    theirs: {
      run(n) {
        let r: unknown = a.theirs
        for (let i = 0; i < n; i++) r = alternate && (i & 1) === 1 ? type.join(b.theirs, a.theirs) : type.join(a.theirs, b.theirs)
        sink.value = r
      },
    },
  }
}

/** Encoded sizes of the realistic states: ours with our codec, theirs with theirs. */
export function encodedSizes(f: CrdtFixtures): SizeCase[] {
  const o = f.options
  const set = f.orset.merged.theirs
  const winner = f.lww.merged.ours
  return [
    { type: 'gcounter', workload: `${o.counterActors}-actor state`, ours: GCounter.encode(f.gcounter.merged.ours).length, theirs: peer.encode(f.gcounter.merged.theirs).length },
    { type: 'pncounter', workload: `${o.counterActors}-actor state`, ours: PNCounter.encode(f.pncounter.merged.ours).length, theirs: peer.encode(f.pncounter.merged.theirs).length },
    {
      type: 'orset',
      workload: `${formatNumber(f.orset.merged.ours.entries.length)}-element state, ${o.setActors} actors`,
      ours: ORSet.encode(f.orset.merged.ours).length,
      theirs: peer.encode(set).length,
      theirsStrayEntries: peerSetStrayContextEntries(set),
      theirsWithoutStray: peer.encode(peerSetWithoutStrayEntries(set)).length,
    },
    {
      type: 'orset',
      workload: '1-add delta',
      ours: f.orset.deltaBytes.ours,
      theirs: f.orset.deltaBytes.theirs,
      theirsAddReturn: f.orset.deltaBytes.theirsAddReturn,
    },
    {
      type: 'lww',
      workload: 'state',
      ours: LWWRegister.encode(winner).length,
      theirs: peer.encode(f.lww.merged.theirs).length,
      oursActorBytes: winner === null ? 0 : 1 + utf8Length(winner.actor),
    },
  ]
}

/** Thrown when the two libraries do not end up with the same values: then the work was not the same. */
export class WorkloadMismatchError extends Error {
  override readonly name = 'WorkloadMismatchError'
}

/**
 * Checks that both libraries hold the same values for every fixture, and that every state
 * survives its own codec. Run before and after timing: a timed loop that changed its inputs
 * would show here.
 */
export function checkAgreement(f: CrdtFixtures): void {
  const peerRoundTrip = (type: PeerType, s: unknown): unknown => type.value(type.join(type.initial(), peer.decode(peer.encode(s))))
  const same = (what: string, ours: unknown, theirs: unknown): void => {
    const a = JSON.stringify(normalize(ours))
    const b = JSON.stringify(normalize(theirs))
    if (a !== b) throw new WorkloadMismatchError(`${what}: ours ${a.slice(0, 200)} ≠ theirs ${b.slice(0, 200)}; the fixtures diverged, fix the workload`)
  }
  const check = <S>(name: string, t: { value(s: S): unknown; encode(s: S): Uint8Array; decode(b: Uint8Array): S; equals(a: S, b: S): boolean }, type: PeerType, states: Record<string, Both<S>>): void => {
    for (const [label, s] of Object.entries(states)) {
      same(`${name} ${label}`, t.value(s.ours), type.value(s.theirs))
      if (!t.equals(t.decode(t.encode(s.ours)), s.ours)) throw new WorkloadMismatchError(`${name} ${label}: our codec round trip changed the state`)
      same(`${name} ${label} after their codec`, t.value(s.ours), peerRoundTrip(type, s.theirs))
    }
  }
  check('gcounter', GCounter, peer.gcounter.type, { a: f.gcounter.a, b: f.gcounter.b, merged: f.gcounter.merged })
  check('pncounter', PNCounter, peer.pncounter.type, { a: f.pncounter.a, b: f.pncounter.b, merged: f.pncounter.merged })
  check('orset', ORSet, peer.orset.type, {
    a: f.orset.a,
    b: f.orset.b,
    merged: f.orset.merged,
    delta: f.orset.delta,
    'merged with delta': f.orset.mergedWithDelta,
  })
  check('lww', LWWRegister, peer.lww.type, { a: f.lww.a, b: f.lww.b, merged: f.lww.merged })
  const size = f.orset.merged.ours.entries.length
  const expected = f.options.setElements + Math.max(1, Math.floor(f.options.setDivergence / 10))
  if (size !== expected) throw new WorkloadMismatchError(`merged OR-set has ${size} elements, expected ${expected}`)
}

/** Sets become sorted arrays, so both libraries' values compare as JSON. */
function normalize(v: unknown): unknown {
  if (v instanceof Set) return [...v].map(String).sort()
  if (Array.isArray(v)) return v.map(String).sort()
  return v
}
