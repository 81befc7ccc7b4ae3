// `npm run bench -- sync [--quick] [--sizes 10000,100000,1000000] [--diffs 10] [--seed S] [--max-rounds R] [--out DIR]
//                        [--set-elements 1000000] [--skip-set] [--set-only] [--list-pages-from BYTES]`
//
// How anti-entropy's cost grows with the store: two replicas (nodes a and b, n = 2, the
// library's default ring of 1,024 arcs) hold the same N G-counters, then `diffs` keys
// change (⌈diffs / 2⌉ on a, the rest on b, one increment each through Replica.apply), and
// a runs rounds with b (AntiEntropy.runRound) until both stores hold equal digests for
// every key, compared key by key (bench/lib/sync-fixture.ts). Per N: rounds, bytes each
// way through the real wire codec, wall time of the rounds, keys each round listed, and
// one round's bytes while nothing differs. Judged: every N settles in ≤ 3 rounds, and the
// bytes to settle at the largest N are ≤ 2 × those at the smallest (10^6 vs 10^4 by
// default). Writes the raw numbers to <out>/<YYYY-MM-DD>-sync.json.
//
// Then the set part (bench/lib/sync-set.ts; --skip-set leaves it out, --set-only runs it
// alone): one OR-set of --set-elements elements (10^6; 10^5 with --quick) reconciled to a
// wiped replica, and again after `diffs` elements were added apart on both sides. Per case:
// rounds, bytes each way, their ratio to the state's size, wall time, pages received.
// Judged: each case settles in ≤ 3 rounds; the wiped replica moves ≤ 1.1 × the state's
// bytes, the added elements ≤ 5 % of them. Two replicas of a 10^6-element set (16 MB
// encoded, 3,976 pages) peak at 1.7 GB RSS (`--set-only`, 2 cores, 32 s in all); the
// keys part at 10^6 peaks higher (2.4 GB), and the parts run one after the other.
//
// Memory: the in-memory stores and indexes hold about 2.3 KB per key for both nodes
// (2.3 GB of heap and 2.5 GB peak RSS at 10^6: node b's store shares a's stored entries),
// which fits Node's default heap on a machine with 16 GiB or more (about 4 GiB). When the
// heap limit is below what the largest size needs (HEAP_BYTES_PER_KEY, with room for the
// rounds and the final comparison), main() re-runs this command in a child Node with a
// larger --max-old-space-size (bench/lib/heap.ts); to choose it yourself:
//   NODE_OPTIONS=--max-old-space-size=6144 npm run bench -- sync
// Preloading 10^6 keys takes about a minute on 2 cores, mostly each node's
// ArcIndex.rebuild; larger semi-spaces (--max-semi-space-size) did not shorten it.
import { parseArgs } from 'node:util'
import { positiveInt, sizesOption } from './lib/args.js'
import { benchMain } from './lib/bench-main.js'
import { heapLimitBytes, runWithHeap } from './lib/heap.js'
import { describeMachine, machineInfo } from './lib/machine.js'
import { startProgress } from './lib/progress.js'
import { DEFAULT_RESULTS_DIR, writeReport, type BenchReport } from './lib/report.js'
import {
  buildIndexes,
  createSyncPair,
  keysEqual,
  loadStoreData,
  makeDifferences,
  statsSince,
  storesEqual,
  type Changes,
  type SyncPair,
  type Traffic,
} from './lib/sync-fixture.js'
import { formatSetPart, measureSet, setNotes, type SetOptions, type SetResults } from './lib/sync-set.js'
import { formatNumber, formatTable } from './lib/table.js'
import type { AntiEntropyStats, RoundOutcome } from '../src/cluster/anti-entropy/anti-entropy.js'

/** The goals: few differences settle in a few rounds, and their cost hardly grows with the store. */
export const GOALS = { maxRounds: 3, maxBytesRatio: 2 } as const

/** Heap the largest size needs, per key (both nodes), with room for the rounds and the final comparison. */
const HEAP_BYTES_PER_KEY = 3_200
const HEAP_BASE_BYTES = 512 * 2 ** 20
/** Heap the set part needs per element (both replicas of the set, a round's assembled copies). */
const HEAP_BYTES_PER_ELEMENT = 2_000

export interface SyncBenchOptions {
  readonly sizes: readonly number[]
  readonly diffs: number
  readonly seed: number
  /** A size not settled after this many rounds is FAIL. */
  readonly maxRounds: number
  readonly outDir: string
  readonly progress: boolean
  /** Elements of the set part's one set; 0: no set part. */
  readonly setElements: number
  /** Anti-entropy's listPagesFromBytes in the set part (undefined: its default, 64 KiB). */
  readonly listPagesFromBytes?: number
}

const FULL: SyncBenchOptions = {
  sizes: [10_000, 100_000, 1_000_000],
  diffs: 10,
  seed: 1,
  maxRounds: 200,
  outDir: DEFAULT_RESULTS_DIR,
  progress: process.stderr.isTTY === true,
  setElements: 1_000_000,
}

const QUICK: SyncBenchOptions = { ...FULL, sizes: [1_000, 10_000, 100_000], setElements: 100_000 }

export interface RoundRecord extends Traffic {
  readonly outcome: RoundOutcome
  /** States a merged (RoundResult.received) and pushed (sent). */
  readonly received: number
  readonly sent: number
  readonly ms: number
}

export interface SizeResult {
  readonly keys: number
  /** Ring tokens: arcs of the shared range. */
  readonly arcs: number
  readonly changed: Changes
  readonly preload: {
    /** Both stores: one written through Store.write, the other a copy of its data. */
    readonly storeMs: number
    readonly indexMsA: number
    readonly indexMsB: number
    readonly stateBytes: number
    readonly heapUsedBytes: number
    readonly rssBytes: number
  }
  /** One round before the changes, while both replicas hold the same keys. */
  readonly idle: RoundRecord
  readonly settled: boolean
  /** Rounds run: until the stores were equal, or the limit. */
  readonly rounds: number
  readonly bytesAtoB: number
  readonly bytesBtoA: number
  readonly bytes: number
  /** Wall time of the rounds only (not the checks between them). */
  readonly settleMs: number
  /** The whole-store comparison that confirmed the replicas equal. */
  readonly verifyMs: number
  readonly perRound: readonly RoundRecord[]
  /** One more round once settled: anti-entropy's own view (expected 'equal', as cheap as idle). */
  readonly after: RoundRecord | null
  /** AntiEntropy.stats of each node over the settling rounds. */
  readonly stats: { readonly a: AntiEntropyStats; readonly b: AntiEntropyStats }
  /** The process's peak RSS so far (all sizes up to this one). */
  readonly peakRssBytes: number
}

export interface Verdict {
  readonly description: string
  /** null: not judged (fewer than two sizes). */
  readonly pass: boolean | null
  readonly measured: string
  readonly ratio?: number
}

export interface SyncResults {
  readonly goals: typeof GOALS
  readonly sizes: readonly SizeResult[]
  readonly verdicts: { readonly rounds: Verdict; readonly bytes: Verdict }
  /** The set part; null when skipped. */
  readonly set: SetResults | null
  readonly heapLimitBytes: number
  readonly peakRssBytes: number
  readonly notes: readonly string[]
}

export type SyncReport = BenchReport<SyncBenchOptions, SyncResults>

const USAGE =
  'usage: npm run bench -- sync [--quick] [--sizes 10000,100000,1000000] [--diffs 10] [--seed S] [--max-rounds R] [--out DIR] ' +
  '[--set-elements 1000000] [--skip-set] [--set-only] [--list-pages-from BYTES]'

export async function main(args: string[]): Promise<void> {
  let perPart = 0
  try {
    const o = parseOptions(args)
    // The parts run one after the other: the larger of the two.
    perPart = Math.max(0, ...o.sizes.map((keys) => keys * HEAP_BYTES_PER_KEY), o.setElements * HEAP_BYTES_PER_ELEMENT)
  } catch {
    // benchMain prints the usage.
  }
  const neededBytes = HEAP_BASE_BYTES + perPart
  if (await runWithHeap(neededBytes)) return
  await benchMain(args, { usage: USAGE, parse: parseOptions, run: runSyncBenchmark, format: formatReport })
}

export function parseOptions(args: string[]): SyncBenchOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      sizes: { type: 'string' },
      diffs: { type: 'string' },
      seed: { type: 'string' },
      'max-rounds': { type: 'string' },
      out: { type: 'string' },
      'set-elements': { type: 'string' },
      'skip-set': { type: 'boolean' },
      'set-only': { type: 'boolean' },
      'list-pages-from': { type: 'string' },
    },
  })
  const base = values.quick === true ? QUICK : FULL
  if (values['set-only'] === true && (values['skip-set'] === true || values.sizes !== undefined)) {
    throw new RangeError('--set-only runs no key sizes: it goes with neither --skip-set nor --sizes')
  }
  const sizes = values['set-only'] === true ? [] : sizesOption('--sizes', values.sizes, base.sizes)
  const diffs = positiveInt('--diffs', values.diffs, base.diffs)
  if (sizes.length > 0 && diffs > Math.min(...sizes)) throw new RangeError(`--diffs ${diffs} is more than the smallest size holds`)
  const setElements = values['skip-set'] === true ? 0 : positiveInt('--set-elements', values['set-elements'], base.setElements)
  if (setElements > 0 && diffs > setElements) throw new RangeError(`--diffs ${diffs} is more than --set-elements ${setElements}`)
  const listPagesFrom = values['list-pages-from']
  return {
    ...base,
    sizes,
    diffs,
    seed: positiveInt('--seed', values.seed, base.seed),
    maxRounds: positiveInt('--max-rounds', values['max-rounds'], base.maxRounds),
    outDir: values.out ?? base.outDir,
    setElements,
    ...(listPagesFrom === undefined ? {} : { listPagesFromBytes: positiveInt('--list-pages-from', listPagesFrom, 0) }),
  }
}

/** The set part's options, from the run's. */
export function setOptionsOf(o: SyncBenchOptions): SetOptions {
  return {
    elements: o.setElements,
    diffs: o.diffs,
    seed: o.seed,
    maxRounds: o.maxRounds,
    progress: o.progress,
    ...(o.listPagesFromBytes === undefined ? {} : { listPagesFromBytes: o.listPagesFromBytes }),
  }
}

/** Measures every size in turn (one pair of replicas at a time), writes the report and returns it with its path. */
export async function runSyncBenchmark(o: SyncBenchOptions): Promise<{ report: SyncReport; path: string }> {
  const date = new Date().toISOString()
  const machine = machineInfo()
  const sizes: SizeResult[] = []
  for (const keys of o.sizes) sizes.push((await measureSize(keys, o)).result)
  const set = o.setElements > 0 ? await measureSet(setOptionsOf(o)) : null
  const results: SyncResults = {
    goals: GOALS,
    sizes,
    verdicts: judge(sizes, o.diffs),
    set,
    heapLimitBytes: heapLimitBytes(),
    peakRssBytes: peakRssBytes(),
    notes: notes(o),
  }
  const report: SyncReport = { benchmark: 'sync', date, options: o, machine, machineAfter: machineInfo(), results }
  return { report, path: writeReport(o.outDir, report) }
}

/** The states, differences and anti-entropy random streams of a run, all from its one seed. */
function seedFor(o: SyncBenchOptions, stream: 'states' | 'diffs' | 'rounds'): number {
  return o.seed * 4 + (stream === 'states' ? 0 : stream === 'diffs' ? 1 : 2)
}

/**
 * One size: preload, one idle round, the changes, then rounds until the stores are equal.
 * Returns the pair too, so a caller can check the replicas itself.
 */
export async function measureSize(keys: number, o: SyncBenchOptions): Promise<{ result: SizeResult; pair: SyncPair }> {
  const bar = startProgress(`sync ${formatNumber(keys)}: store, index a, b`, 3 * keys, o.progress)
  let pair: SyncPair
  let loaded: Awaited<ReturnType<typeof loadStoreData>>
  let indexMs: { a: number; b: number }
  try {
    loaded = await loadStoreData(keys, seedFor(o, 'states'), (done) => bar.update(done))
    pair = createSyncPair(seedFor(o, 'rounds'), loaded.data)
    indexMs = buildIndexes(pair, (node) => bar.update(node === 'a' ? 2 * keys : 3 * keys))
  } finally {
    bar.stop()
  }
  const memory = process.memoryUsage()
  const { a, b, meter } = pair
  meter.take()
  const idle = await timedRound(pair)
  const changed = await makeDifferences(pair, keys, o.diffs, seedFor(o, 'diffs'))
  const changedKeys = [...changed.onA, ...changed.onB]
  const before = { a: { ...a.antiEntropy.stats }, b: { ...b.antiEntropy.stats } }
  meter.take()
  const perRound: RoundRecord[] = []
  let settled = false
  let verifyMs = 0
  while (!settled && perRound.length < o.maxRounds) {
    perRound.push(await timedRound(pair))
    // The changed keys first (cheap), then every key of both stores.
    if (keysEqual(a.store, b.store, changedKeys)) {
      const started = performance.now()
      settled = storesEqual(a.store, b.store)
      verifyMs += performance.now() - started
    }
  }
  const stats = { a: statsSince(before.a, a.antiEntropy.stats), b: statsSince(before.b, b.antiEntropy.stats) }
  const after = settled ? await timedRound(pair) : null
  const sum = (pick: (r: RoundRecord) => number): number => perRound.reduce((total, r) => total + pick(r), 0)
  const result: SizeResult = {
    keys,
    arcs: pair.view.ring.tokens.length,
    changed,
    preload: {
      storeMs: loaded.ms,
      indexMsA: indexMs.a,
      indexMsB: indexMs.b,
      stateBytes: loaded.stateBytes,
      heapUsedBytes: memory.heapUsed,
      rssBytes: memory.rss,
    },
    idle,
    settled,
    rounds: perRound.length,
    bytesAtoB: sum((r) => r.bytesAtoB),
    bytesBtoA: sum((r) => r.bytesBtoA),
    bytes: sum((r) => r.bytesAtoB + r.bytesBtoA),
    settleMs: sum((r) => r.ms),
    verifyMs,
    perRound,
    after,
    stats,
    peakRssBytes: peakRssBytes(),
  }
  return { result, pair }
}

async function timedRound(pair: SyncPair): Promise<RoundRecord> {
  const started = performance.now()
  const result = await pair.a.antiEntropy.runRound('b')
  const ms = performance.now() - started
  return { outcome: result.outcome, received: result.received, sent: result.sent, ms, ...pair.meter.take() }
}

function peakRssBytes(): number {
  return process.resourceUsage().maxRSS * 1024
}

/** Both goals, from the measured sizes; the bytes goal compares the largest size with the smallest. */
export function judge(sizes: readonly SizeResult[], diffs: number): SyncResults['verdicts'] {
  const unsettled = sizes.find((s) => !s.settled)
  const most = Math.max(0, ...sizes.map((s) => s.rounds))
  const least = Math.min(...sizes.map((s) => s.rounds))
  const plural = (n: number): string => `${n} round${n === 1 ? '' : 's'}`
  const rounds: Verdict = {
    description: `${diffs} differences settle in ≤ ${GOALS.maxRounds} rounds at every size`,
    pass: sizes.length === 0 ? null : unsettled === undefined && most <= GOALS.maxRounds,
    measured:
      sizes.length === 0
        ? 'no sizes'
        : unsettled !== undefined
          ? `not settled within ${plural(unsettled.rounds)} at ${formatNumber(unsettled.keys)} keys`
          : most === least
            ? `${plural(most)} at every size`
            : `${least} to ${plural(most)}, ${plural(most)} at ${sizes.filter((s) => s.rounds === most).map((s) => formatNumber(s.keys)).join(', ')} keys`,
  }
  const ordered = [...sizes].sort((x, y) => x.keys - y.keys)
  const small = ordered[0]
  const large = ordered[ordered.length - 1]
  if (small === undefined || large === undefined || small.keys === large.keys) {
    return { rounds, bytes: { description: 'bytes to settle at the largest size ≤ 2 × at the smallest', pass: null, measured: 'needs two sizes' } }
  }
  const ratio = large.bytes / small.bytes
  const description = `bytes to settle at ${formatNumber(large.keys)} keys ≤ ${GOALS.maxBytesRatio} × at ${formatNumber(small.keys)} keys`
  const open = [small, large].filter((s) => !s.settled).map((s) => formatNumber(s.keys))
  const measured =
    `${ratio.toFixed(2)}×: ${formatNumber(large.bytes)} / ${formatNumber(small.bytes)} bytes` +
    (open.length > 0 ? `; not settled at ${open.join(' and ')} keys` : '')
  return { rounds, bytes: { description, pass: open.length === 0 && ratio <= GOALS.maxBytesRatio, measured, ratio } }
}

function notes(o: SyncBenchOptions): string[] {
  const set = o.setElements > 0 ? setNotes(setOptionsOf(o)) : []
  if (o.sizes.length === 0) return set
  return [
    'Nodes a and b in one process: InMemoryStore, Replica, ArcIndex (following every committed change) and AntiEntropy each; ' +
      'ring of both members with the default weight, n = 2, so every key is on both and every arc is shared. ' +
      'Every request and response goes through the wire codec (encodeMessage, decodeRequest / decodeResponse); bytes are frame bytes.',
    'Preload (not measured): G-counters k/000000…, each written once by a third node with a seeded total in 1..1000, through ' +
      "Store.write into a's store; b opens a copy of a's data; then each node's ArcIndex.rebuild.",
    `Changes: ${Math.ceil(o.diffs / 2)} keys get one increment on a and ${Math.floor(o.diffs / 2)} on b (Replica.apply), ` +
      'so each changed key is newer on one side; digests do not say which, so a round sends both sides\' states of it.',
    `Rounds: a.runRound('b') until the changed keys' digests agree and then every key of both stores does (read through ` +
      `Store.scan and compared); a size not settled after ${o.maxRounds} rounds is FAIL. "ms" is the wall time of the rounds only.`,
    'Idle: one round before the changes. After: one round once settled, anti-entropy\'s own verdict (equal expected).',
    ...set,
  ]
}

export function formatReport(report: SyncReport): string {
  const { options: o, results: r } = report
  const verdict = (v: Verdict): string => (v.pass === null ? 'not judged' : v.pass ? 'PASS' : 'FAIL')
  const s1 = (ms: number): string => (ms / 1000).toFixed(1)
  const mib = (bytes: number): string => `${formatNumber(bytes / 2 ** 20)} MiB`
  const maxOf = (s: SizeResult, pick: (x: RoundRecord) => number): number => Math.max(0, ...s.perRound.map(pick))
  const sizeRows = r.sizes.map((s) => [
    formatNumber(s.keys),
    `${s1(s.preload.storeMs)} / ${s1(s.preload.indexMsA)} / ${s1(s.preload.indexMsB)}`,
    `${formatNumber(s.idle.bytesAtoB + s.idle.bytesBtoA)} (${s.idle.outcome})`,
    s.settled ? String(s.rounds) : `FAIL (${s.rounds})`,
    formatNumber(s.bytesAtoB),
    formatNumber(s.bytesBtoA),
    formatNumber(s.bytes),
    formatNumber(s.settleMs, 1),
    formatNumber(maxOf(s, (x) => x.groups)),
    formatNumber(maxOf(s, (x) => x.listed)),
    `${s.stats.a.keysReceived} / ${s.stats.a.keysSent}`,
    s.after === null ? '-' : `${s.after.outcome}, ${formatNumber(s.after.bytesAtoB + s.after.bytesBtoA)}`,
    mib(s.preload.heapUsedBytes),
  ])
  const roundRows = r.sizes.flatMap((s) => {
    const shown = s.perRound.length <= 20 ? s.perRound : [...s.perRound.slice(0, 10), ...s.perRound.slice(-5)]
    const rows = shown.map((x) => [
      formatNumber(s.keys),
      String(s.perRound.indexOf(x) + 1),
      x.outcome,
      formatNumber(x.groups),
      `${x.narrowSteps} / ${formatNumber(x.narrowRanges)}`,
      formatNumber(x.ranges),
      formatNumber(x.listed),
      `${x.statesBtoA} / ${x.wanted} / ${x.statesAtoB}`,
      formatNumber(x.bytesAtoB),
      formatNumber(x.bytesBtoA),
      formatNumber(x.ms, 1),
    ])
    if (shown.length < s.perRound.length) rows.splice(10, 0, ['', '…', `${s.perRound.length - shown.length} more rounds`])
    return rows
  })
  const keysPart = [
    formatTable(
      ['keys', 'preload s (store / index a / b)', 'idle bytes', 'rounds', 'a→b bytes', 'b→a bytes', 'total bytes', 'rounds ms', 'max groups', 'max listed', 'a recv / sent', 'round after', 'heap after preload'],
      sizeRows,
    ),
    '',
    'Per round (groups: aggregates in sync-arcs; narrowing: sync-ranges requests and the ranges they compared; ' +
      'listed: keys a listed in sync-keys; states: b→a / wanted by b / a→b):',
    formatTable(['keys', 'round', 'outcome', 'groups', 'narrowing steps / ranges', 'listed ranges', 'listed', 'states', 'a→b bytes', 'b→a bytes', 'ms'], roundRows),
    '',
    `goal: ${r.verdicts.rounds.description}: ${verdict(r.verdicts.rounds)} (${r.verdicts.rounds.measured})`,
    `goal: ${r.verdicts.bytes.description}: ${verdict(r.verdicts.bytes)} (${r.verdicts.bytes.measured})`,
    '',
  ]
  return [
    `sync: anti-entropy between two replicas (n = 2, ${formatNumber(r.sizes[0]?.arcs ?? 1024)} arcs), ${o.diffs} keys (or set elements) differing, ` +
      `seed ${o.seed}, limit ${o.maxRounds} rounds`,
    `machine: ${describeMachine(report.machine)}`,
    `after:   load ${report.machineAfter?.loadAverage.join(' ') ?? '?'}, peak RSS ${mib(r.peakRssBytes)}, heap limit ${mib(r.heapLimitBytes)}`,
    '',
    ...(r.sizes.length > 0 ? keysPart : []),
    ...(r.set === null ? [] : [...formatSetPart(r.set), '']),
    'Notes:',
    ...r.notes.map((n, i) => `  ${i + 1}. ${n}`),
  ].join('\n')
}
