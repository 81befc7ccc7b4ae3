// The set part of `npm run bench -- sync` (bench/sync.ts): one big OR-set between nodes a and
// b of the two-node fixture (sync-fixture.ts), reconciled by anti-entropy, which sends a set
// kept in pages by its prefix and page digests and lets the other side ask only for the
// pages it lacks (src/cluster/page-transfer/page-lists.ts). Two cases, each on a fresh pair:
//
//   wiped: a holds the set, b holds nothing (a replica that lost its disk);
//   diffs: both hold it, then a few elements are added on a and a few on b (Replica.apply,
//          no replication), so each side holds pages the other lacks.
//
// Rounds are a.runRound('b') followed by pair.quiet(): a node pushed a page list pulls the
// pages after its answer, so a round is counted as done once that pull merged too. Rounds
// run until the two stores hold the same digest of the set.
import { ORSet, type ORSetEntry, type ORSetState } from '../../crdts/index.js'
import { contextFromDots } from '../../crdts/causal-context.js'
import { splitPagedORSet } from '../../crdts/orset-pages.js'
import { seededRandom } from '../../src/base/random.js'
import type { AntiEntropyStats, RoundOutcome } from '../../src/cluster/anti-entropy/anti-entropy.js'
import { LIST_PAGES_FROM_BYTES } from '../../src/cluster/page-transfer/page-lists.js'
import { startProgress } from './progress.js'
import { actorOf, buildIndexes, createSyncPair, statsSince, type SyncPair, type SyncPairOptions, type Traffic } from './sync-fixture.js'
import { formatNumber, formatTable } from './table.js'

/** The goals for one set: few rounds; a wiped replica gets about the state's size; a few differences cost a few pages. */
export const SET_GOALS = { maxRounds: 3, maxWipedBytesRatio: 1.1, maxDiffsBytesRatio: 0.05 } as const

export const SET_KEY = 'big-set'

/** Elements added per progress update while building the set. */
const BUILD_STEP = 16_384

export interface SetOptions {
  readonly elements: number
  /** Elements added after both hold the set: ⌈diffs / 2⌉ on a, the rest on b. */
  readonly diffs: number
  readonly seed: number
  readonly maxRounds: number
  readonly progress: boolean
  readonly listPagesFromBytes?: number
}

export interface SetRound extends Traffic {
  readonly outcome: RoundOutcome
  /** runRound and the pulls it set off (pair.quiet()). */
  readonly ms: number
}

export interface SetCase {
  readonly name: 'wiped' | 'diffs'
  /** Bytes of a's state of the set when the rounds start: what the ratios divide by. */
  readonly stateBytes: number
  /** Pages of that state (its version-2 encoding), and the state's prefix (header and causal context). */
  readonly pages: number
  readonly prefixBytes: number
  /** Elements added on a and on b (diffs only). */
  readonly added: { readonly onA: readonly string[]; readonly onB: readonly string[] }
  /** Merging the encoded set into the replicas that start with it, and the local adds. */
  readonly prepareMs: number
  readonly settled: boolean
  readonly rounds: number
  readonly bytesAtoB: number
  readonly bytesBtoA: number
  readonly bytes: number
  /** bytes / stateBytes. */
  readonly ratio: number
  readonly settleMs: number
  readonly perRound: readonly SetRound[]
  /** AntiEntropy.stats of each node over the rounds (pagesReceived, pageBytesReceived among them). */
  readonly stats: { readonly a: AntiEntropyStats; readonly b: AntiEntropyStats }
  /** process.memoryUsage() once the replicas held the set, before the rounds. */
  readonly heapUsedBytes: number
  readonly rssBytes: number
  /** The process's peak RSS after the rounds (everything run so far). */
  readonly peakRssBytes: number
}

export interface SetVerdict {
  readonly description: string
  readonly pass: boolean
  readonly measured: string
}

export interface SetResults {
  readonly goals: typeof SET_GOALS
  readonly elements: number
  /** The encoded set both cases start from, and building and encoding it. */
  readonly encodedBytes: number
  readonly buildMs: number
  readonly cases: readonly SetCase[]
  readonly verdicts: {
    readonly wipedRounds: SetVerdict
    readonly wipedBytes: SetVerdict
    readonly diffsRounds: SetVerdict
    readonly diffsBytes: SetVerdict
  }
}

/** `e0000123`: short elements whose order as JSON keys is their numeric order. */
export function elementName(i: number, count: number): string {
  return `e${String(i).padStart(Math.max(7, String(count - 1).length), '0')}`
}

/**
 * A set of `count` elements added by one actor (a third node, "c"), built as a state rather
 * than by `count` adds (which would take hours): entries in key order, one dot each, the
 * causal context made of those dots.
 */
export function seededSet(count: number, onProgress: (done: number) => void = () => undefined): ORSetState {
  const actor = actorOf('c')
  const entries: ORSetEntry[] = []
  for (let i = 0; i < count; i++) {
    const value = elementName(i, count)
    entries.push({ key: JSON.stringify(value), value, dots: [{ actor, counter: i + 1 }] })
    if ((i + 1) % BUILD_STEP === 0) onProgress(i + 1)
  }
  onProgress(count)
  return { entries, context: contextFromDots(entries.map((e) => e.dots[0]!)) }
}

/** Builds and encodes the set once, then measures both cases, each on its own pair. */
export async function measureSet(o: SetOptions): Promise<SetResults> {
  const bar = startProgress(`set ${formatNumber(o.elements)}: build`, o.elements, o.progress)
  const started = performance.now()
  let encoded: Uint8Array
  try {
    encoded = ORSet.encode(seededSet(o.elements, (done) => bar.update(done)))
  } finally {
    bar.stop()
  }
  const buildMs = performance.now() - started
  // Each pair is dropped before the next is made: two replicas of a 10^6-element set hold about 1 GB.
  const wiped = withoutPair(await measureCase('wiped', encoded, o))
  const diffs = withoutPair(await measureCase('diffs', encoded, o))
  return { goals: SET_GOALS, elements: o.elements, encodedBytes: encoded.length, buildMs, cases: [wiped, diffs], verdicts: judgeSet(wiped, diffs) }
}

/** One case on a fresh pair: prepare the replicas, then rounds from a until both hold the same digest of the set. */
export async function measureCase(name: SetCase['name'], encoded: Uint8Array, o: SetOptions): Promise<SetCase & { pair: SyncPair }> {
  const options: SyncPairOptions = o.listPagesFromBytes === undefined ? {} : { listPagesFromBytes: o.listPagesFromBytes }
  const pair = createSyncPair(o.seed * 4 + 2, undefined, options)
  const { a, b, meter } = pair
  buildIndexes(pair)
  const steps = name === 'wiped' ? 1 : 3
  const bar = startProgress(`set ${formatNumber(o.elements)} ${name}: prepare`, steps, o.progress)
  const started = performance.now()
  let added: SetCase['added'] = { onA: [], onB: [] }
  try {
    await a.replica.merge(SET_KEY, encoded)
    bar.update(1)
    if (name === 'diffs') {
      await b.replica.merge(SET_KEY, encoded)
      bar.update(2)
      added = await addElements(pair, o.elements, o.diffs, o.seed * 4 + 1)
      bar.update(3)
    }
  } finally {
    bar.stop()
  }
  const prepareMs = performance.now() - started
  const memory = process.memoryUsage()
  const state = a.store.getKey(SET_KEY)?.state ?? new Uint8Array(0)
  const split = splitPagedORSet(state)
  const before = { a: { ...a.antiEntropy.stats }, b: { ...b.antiEntropy.stats } }
  await pair.quiet()
  meter.take()
  const perRound: SetRound[] = []
  let settled = false
  const rounds = startProgress(`set ${formatNumber(o.elements)} ${name}: rounds`, o.maxRounds, o.progress)
  try {
    while (!settled && perRound.length < o.maxRounds) {
      const began = performance.now()
      const result = await a.antiEntropy.runRound('b')
      await pair.quiet()
      perRound.push({ outcome: result.outcome, ms: performance.now() - began, ...meter.take() })
      rounds.update(perRound.length)
      settled = sameSet(pair)
    }
  } finally {
    rounds.stop()
  }
  const sum = (pick: (r: SetRound) => number): number => perRound.reduce((total, r) => total + pick(r), 0)
  const bytes = sum((r) => r.bytesAtoB + r.bytesBtoA)
  return {
    name,
    stateBytes: state.length,
    pages: split?.pages.length ?? 0,
    prefixBytes: split?.prefix.length ?? 0,
    added,
    prepareMs,
    settled,
    rounds: perRound.length,
    bytesAtoB: sum((r) => r.bytesAtoB),
    bytesBtoA: sum((r) => r.bytesBtoA),
    bytes,
    ratio: state.length === 0 ? 0 : bytes / state.length,
    settleMs: sum((r) => r.ms),
    perRound,
    stats: { a: statsSince(before.a, a.antiEntropy.stats), b: statsSince(before.b, b.antiEntropy.stats) },
    heapUsedBytes: memory.heapUsed,
    rssBytes: memory.rss,
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    pair,
  }
}

function withoutPair({ pair: _pair, ...measured }: SetCase & { pair: SyncPair }): SetCase {
  return measured
}

/** Both stores hold the set, with the same digest. */
export function sameSet(pair: SyncPair): boolean {
  const x = pair.a.store.getKey(SET_KEY)
  const y = pair.b.store.getKey(SET_KEY)
  return x !== undefined && y !== undefined && Buffer.compare(x.digest, y.digest) === 0
}

/**
 * ⌈diffs / 2⌉ new elements on a and the rest on b, each just after a seeded existing element
 * (`e0123456+a0`), so they fall into pages spread over the set.
 */
async function addElements(pair: SyncPair, count: number, diffs: number, seed: number): Promise<SetCase['added']> {
  const rng = seededRandom(seed)
  const onA: string[] = []
  const onB: string[] = []
  for (let i = 0; i < diffs; i++) {
    const side = i < Math.ceil(diffs / 2) ? onA : onB
    side.push(`${elementName(rng.int(count), count)}+${side === onA ? 'a' : 'b'}${i}`)
  }
  for (const element of onA) await pair.a.replica.apply(SET_KEY, { type: 'orset', op: 'add', element })
  for (const element of onB) await pair.b.replica.apply(SET_KEY, { type: 'orset', op: 'add', element })
  return { onA, onB }
}

export function judgeSet(wiped: SetCase, diffs: SetCase): SetResults['verdicts'] {
  const roundsVerdict = (c: SetCase, what: string): SetVerdict => ({
    description: `${what} settles in ≤ ${SET_GOALS.maxRounds} rounds`,
    pass: c.settled && c.rounds <= SET_GOALS.maxRounds,
    measured: c.settled ? `${c.rounds} round${c.rounds === 1 ? '' : 's'}` : `not settled within ${c.rounds} rounds`,
  })
  const bytesVerdict = (c: SetCase, what: string, limit: number): SetVerdict => ({
    description: `${what}: bytes ≤ ${limit} × the state's size`,
    pass: c.settled && c.ratio <= limit,
    measured: `${c.ratio.toFixed(3)}×: ${formatNumber(c.bytes)} / ${formatNumber(c.stateBytes)} bytes${c.settled ? '' : '; not settled'}`,
  })
  const wipedWhat = 'a wiped replica of the set'
  const diffsWhat = `${diffs.added.onA.length + diffs.added.onB.length} elements added apart`
  return {
    wipedRounds: roundsVerdict(wiped, wipedWhat),
    wipedBytes: bytesVerdict(wiped, wipedWhat, SET_GOALS.maxWipedBytesRatio),
    diffsRounds: roundsVerdict(diffs, diffsWhat),
    diffsBytes: bytesVerdict(diffs, diffsWhat, SET_GOALS.maxDiffsBytesRatio),
  }
}

export function setNotes(o: SetOptions): string[] {
  return [
    `Set: one OR-set of ${formatNumber(o.elements)} elements (e0000000…, 8 bytes each), built as a state (one dot each, by a third actor) ` +
      'and merged with Replica.merge into the replicas that start with it; stored in pages (crdts/orset-pages.ts), ' +
      `listed by its pages in anti-entropy from ${formatNumber(o.listPagesFromBytes ?? LIST_PAGES_FROM_BYTES)} bytes of state.`,
    'Set, wiped: a holds it, b holds nothing. Set, diffs: both hold it, then ' +
      `${Math.ceil(o.diffs / 2)} elements are added on a and ${Math.floor(o.diffs / 2)} on b (Replica.apply), each after a seeded existing element. ` +
      "Rounds: a.runRound('b') and the page pulls it set off, until both stores hold the same digest of the set. " +
      'Ratios divide all bytes of the rounds (both ways) by the size of a\'s state when the rounds start; the whole-state path ' +
      'sent a differing set whole both ways (about 2 × its size) and skipped any state above one sync batch (2,080,768 bytes).',
  ]
}

export function formatSetPart(r: SetResults): string[] {
  const verdict = (v: SetVerdict): string => (v.pass ? 'PASS' : 'FAIL')
  const mib = (bytes: number): string => `${formatNumber(bytes / 2 ** 20)} MiB`
  const caseRows = r.cases.map((c) => [
    c.name,
    `${formatNumber(c.stateBytes)} (${formatNumber(c.pages)} pages)`,
    formatNumber(c.prepareMs / 1000, 1),
    c.settled ? String(c.rounds) : `FAIL (${c.rounds})`,
    formatNumber(c.bytesAtoB),
    formatNumber(c.bytesBtoA),
    formatNumber(c.bytes),
    c.ratio.toFixed(3),
    formatNumber(c.settleMs, 1),
    `${c.stats.a.pagesReceived} / ${c.stats.b.pagesReceived}`,
    `${formatNumber(c.stats.a.pageBytesReceived)} / ${formatNumber(c.stats.b.pageBytesReceived)}`,
    `${mib(c.rssBytes)} / ${mib(c.peakRssBytes)}`,
  ])
  const roundRows = r.cases.flatMap((c) =>
    c.perRound.map((x, i) => [
      c.name,
      String(i + 1),
      x.outcome,
      String(x.listedStates),
      `${formatNumber(x.pagesAsked)} / ${formatNumber(x.pagesSent)}`,
      formatNumber(x.pageBytes),
      formatNumber(x.bytesAtoB),
      formatNumber(x.bytesBtoA),
      formatNumber(x.ms, 1),
    ]),
  )
  const v = r.verdicts
  return [
    `set: one OR-set of ${formatNumber(r.elements)} elements, ${formatNumber(r.encodedBytes)} bytes encoded (built and encoded in ${formatNumber(r.buildMs / 1000, 1)} s)`,
    formatTable(
      ['case', 'state bytes', 'prepare s', 'rounds', 'a→b bytes', 'b→a bytes', 'total bytes', 'bytes / state', 'rounds ms', 'pages recv a / b', 'page bytes recv a / b', 'RSS before rounds / peak'],
      caseRows,
    ),
    '',
    'Per round (listed: states sent by their page lists; pages asked / sent in sync-pages and sync-page-data):',
    formatTable(['case', 'round', 'outcome', 'listed', 'pages asked / sent', 'page bytes', 'a→b bytes', 'b→a bytes', 'ms'], roundRows),
    '',
    ...[v.wipedRounds, v.wipedBytes, v.diffsRounds, v.diffsBytes].map((x) => `goal: ${x.description}: ${verdict(x)} (${x.measured})`),
  ]
}
