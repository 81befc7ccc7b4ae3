// `npm run bench -- storage --growth [--quick] [--store-sizes 10000,100000,1000000]
//   [--set-sizes 1000,10000,100000,1000000] [--ops N] [--concurrency C] [--synchronous FULL]
//   [--seed N] [--out DIR] [--profile DIR]`
//
// Whether the cost of one operation grows with the data (issue 13), in one run:
//   (1) store growth: one store of PN-counters grown to each size (the fill is not timed),
//       then `ops` concurrent durable increments (C in flight, each awaited until committed;
//       existing keys drawn at random, a share of new ones) beside raw better-sqlite3 upserts
//       of the same rows into a table of the same size, and beside the same writes on a copy
//       of the store at its smallest size, all alternating in rounds (bench/lib/growth-counters.ts);
//   (2) start-up: after each store size, the store opened in a fresh process, locally and as a
//       networked node with no peers: time to open, time until the anti-entropy index is whole,
//       the longest event-loop stall meanwhile, memory per key (bench/lib/growth-startup.ts);
//   (3) set growth: one OR-set grown to each size, one awaited add at a time, beside a raw
//       upsert of a blob as large as its state (bench/lib/growth-set.ts).
// Judged against the goals: counter writes at the largest store ≥ 0.8 × at the
// smallest; a networked open of the largest store ready in ≤ 2 s, no stall over 100 ms, ≤
// 200 bytes per key; one set add at the largest size ≤ 10 × one at the smallest. Writes
// the raw numbers to <out>/<YYYY-MM-DD>-storage-growth.json.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { positiveInt, sizesOption, synchronousOption } from './lib/args.js'
import { benchMain } from './lib/bench-main.js'
import {
  CounterStore,
  counterPaths,
  fillCounters,
  measureCounterSize,
  RawCounters,
  type CounterGrowthOptions,
  type CounterSizeResult,
} from './lib/growth-counters.js'
import { measureSetGrowth, type SetGrowthOptions, type SetSizeResult } from './lib/growth-set.js'
import { INDEXING_PREFIX, measureStartupInChild, STALL_RESOLUTION_MS, type OpenMode, type StartupResult } from './lib/growth-startup.js'
import { describeMachine, machineInfo } from './lib/machine.js'
import type { ProfileEntry } from './lib/profile.js'
import { RawKeysTable } from './lib/raw-keys-table.js'
import { DEFAULT_RESULTS_DIR, writeReport, type BenchReport } from './lib/report.js'
import { formatNumber, formatTable } from './lib/table.js'

/** The goals for growth. */
export const GOALS = {
  /** Counter writes at the largest store size, as a share of their rate at the smallest. */
  minWriteRatio: 0.8,
  /** A networked open of the largest store: ready (index whole) within this. */
  maxReadyMs: 2_000,
  /** The longest event-loop stall while it starts: a proxy for answering /healthz throughout. */
  maxStallMs: 100,
  /** Memory held per key once ready (RSS growth after gc). */
  maxBytesPerKey: 200,
  /** One set add at the largest size, as a multiple of one at the smallest. */
  maxSetAddGrowth: 10,
} as const

export interface GrowthBenchOptions extends Omit<CounterGrowthOptions, 'profileDir'> {
  readonly storeSizes: readonly number[]
  readonly set: Omit<SetGrowthOptions, 'synchronous' | 'seed'>
  /** Readiness checks while a networked node starts, and how long to wait for it. */
  readonly startupPollMs: number
  readonly startupTimeoutMs: number
  readonly outDir: string
  readonly profileDir?: string
}

const FULL: GrowthBenchOptions = {
  storeSizes: [10_000, 100_000, 1_000_000],
  ops: 30_000,
  concurrency: 64,
  fillConcurrency: 256,
  newKeyShare: 0.1,
  warmupOps: 5_000,
  rounds: 5,
  set: {
    sizes: [1_000, 10_000, 100_000, 1_000_000],
    samples: 200,
    minSamples: 5,
    budgetMs: 15_000,
    warmupAdds: 3,
    maxAddMs: 30_000,
  },
  startupPollMs: 10,
  startupTimeoutMs: 10 * 60_000,
  synchronous: 'NORMAL',
  seed: 1,
  outDir: DEFAULT_RESULTS_DIR,
  progress: process.stderr.isTTY === true,
}

/** Under a minute: two store sizes up to 10^5 keys, the set up to 10^4 elements. */
const QUICK: GrowthBenchOptions = {
  ...FULL,
  storeSizes: [10_000, 100_000],
  ops: 10_000,
  warmupOps: 2_000,
  set: { ...FULL.set, sizes: [1_000, 10_000], budgetMs: 3_000 },
}

export interface Verdict {
  readonly description: string
  /** null: not judged (not enough sizes measured). */
  readonly pass: boolean | null
  readonly measured: string
}

export interface StartupAtSize {
  readonly target: number
  readonly local: StartupResult
  /** The first networked open: the index is built from the store. */
  readonly networked: StartupResult
  /** Opened again after the networked open closed cleanly: the index is loaded from what that close saved. */
  readonly restart: StartupResult
}

export interface GrowthResults {
  readonly sqliteVersion: string
  readonly goals: typeof GOALS
  readonly counters: readonly CounterSizeResult[]
  readonly startup: readonly StartupAtSize[]
  readonly set: readonly SetSizeResult[]
  readonly verdicts: {
    readonly writes: Verdict
    readonly ready: Verdict
    readonly coldReady: Verdict
    readonly stall: Verdict
    readonly memory: Verdict
    readonly setAdd: Verdict
  }
  readonly notes: readonly string[]
}

export type GrowthReport = BenchReport<GrowthBenchOptions, GrowthResults>

const USAGE = `usage: npm run bench -- storage --growth [--quick] [--store-sizes 10000,100000,1000000]
         [--set-sizes 1000,10000,100000,1000000] [--ops N] [--concurrency C]
         [--synchronous NORMAL|FULL] [--seed N] [--out DIR] [--profile DIR]`

export async function main(args: string[]): Promise<void> {
  await benchMain(args, { usage: USAGE, parse: parseOptions, run: runGrowthBenchmark, format: formatReport })
}

export function parseOptions(args: string[]): GrowthBenchOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      'store-sizes': { type: 'string' },
      'set-sizes': { type: 'string' },
      ops: { type: 'string' },
      concurrency: { type: 'string' },
      synchronous: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      profile: { type: 'string' },
    },
  })
  const base = values.quick === true ? QUICK : FULL
  const synchronous = synchronousOption(values.synchronous, base.synchronous)
  return {
    ...base,
    storeSizes: sizesOption('--store-sizes', values['store-sizes'], base.storeSizes),
    set: { ...base.set, sizes: sizesOption('--set-sizes', values['set-sizes'], base.set.sizes) },
    ops: positiveInt('--ops', values.ops, base.ops),
    concurrency: positiveInt('--concurrency', values.concurrency, base.concurrency),
    seed: positiveInt('--seed', values.seed, base.seed),
    synchronous,
    outDir: values.out ?? base.outDir,
    ...(values.profile === undefined ? {} : { profileDir: values.profile }),
  }
}

/** Runs every series in a temporary directory, writes the report and returns it with its path. */
export async function runGrowthBenchmark(o: GrowthBenchOptions): Promise<{ report: GrowthReport; path: string }> {
  const date = new Date().toISOString()
  const machine = machineInfo(['better-sqlite3'])
  const dir = mkdtempSync(join(tmpdir(), 'rumordb-bench-growth-'))
  if (o.profileDir !== undefined) mkdirSync(o.profileDir, { recursive: true })
  try {
    const { counters, startup, sqliteVersion } = await storeGrowth(dir, o)
    const set = await measureSetGrowth(join(dir, 'set'), join(dir, 'set-raw.sqlite'), { ...o.set, synchronous: o.synchronous, seed: o.seed })
    const results: GrowthResults = {
      sqliteVersion,
      goals: GOALS,
      counters,
      startup,
      set,
      verdicts: judge(counters, startup, set),
      notes: notes(o),
    }
    const report: GrowthReport = { benchmark: 'storage-growth', date, options: o, machine, machineAfter: machineInfo(['better-sqlite3']), results }
    return { report, path: writeReport(o.outDir, report) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** Store growth, (1), with start-up, (2), after each size. */
async function storeGrowth(
  dir: string,
  o: GrowthBenchOptions,
): Promise<{ counters: CounterSizeResult[]; startup: StartupAtSize[]; sqliteVersion: string }> {
  const paths = counterPaths(dir)
  const main = new CounterStore(paths.main, o.synchronous)
  const table = RawKeysTable.open(paths.raw, o.synchronous)
  const raw = new RawCounters(table)
  const counters: CounterSizeResult[] = []
  const startup: StartupAtSize[] = []
  let smallest: CounterStore | undefined
  try {
    for (const [i, target] of o.storeSizes.entries()) {
      const fill = await fillCounters(main, target, o)
      if (i === 0 && o.storeSizes.length > 1) {
        await main.close()
        smallest = main.copyTo(paths.smallest)
      }
      const reference = i === 0 ? undefined : smallest?.copyTo(paths.reference)
      try {
        counters.push(await measureCounterSize(main, raw, reference, fill, target, o))
      } finally {
        await reference?.close()
      }
      await main.close()
      // In this order: a local open leaves no saved index, the networked one saves it at close.
      const local = await startupOf(main, 'local', target, o)
      const networked = await startupOf(main, 'networked', target, o)
      startup.push({ target, local, networked, restart: await startupOf(main, 'restart', target, o) })
    }
    return { counters, startup, sqliteVersion: table.sqliteVersion() }
  } finally {
    await main.close()
    table.close()
  }
}

function startupOf(store: CounterStore, mode: OpenMode, target: number, o: GrowthBenchOptions): Promise<StartupResult> {
  return measureStartupInChild({
    dataDir: store.dataDir,
    mode,
    synchronous: o.synchronous,
    pollMs: o.startupPollMs,
    timeoutMs: o.startupTimeoutMs,
    ...(o.profileDir === undefined ? {} : { profilePath: join(o.profileDir, `growth-startup-${mode}-${target}.cpuprofile`) }),
  })
}

// ---------------------------------------------------------------- verdicts

const keysText = (n: number): string => `${formatNumber(n)} keys`

export function judge(counters: readonly CounterSizeResult[], startup: readonly StartupAtSize[], set: readonly SetSizeResult[]): GrowthResults['verdicts'] {
  const first = counters[0]
  const last = counters[counters.length - 1]
  const writes: Verdict =
    first === undefined || last === undefined || first === last
      ? { description: `counter writes at the largest store ≥ ${GOALS.minWriteRatio} × at the smallest`, pass: null, measured: 'needs two store sizes' }
      : {
          description: `counter writes at ${keysText(last.keys)} ≥ ${GOALS.minWriteRatio} × at ${keysText(first.keys)} (same rounds)`,
          pass: last.ratioToSmallest >= GOALS.minWriteRatio,
          measured: `${last.ratioToSmallest.toFixed(2)}×: ${formatNumber(last.engine.opsPerSecond)} vs ${formatNumber(last.reference?.opsPerSecond ?? 0)} writes/s`,
        }
  const big = startup[startup.length - 1]
  const at = big === undefined ? 'the largest store' : keysText(big.networked.keys)
  const none = (description: string): Verdict => ({ description, pass: null, measured: 'no start-up measured' })
  const readyIn = (x: StartupResult, what: string): Verdict => ({
    description: `${what} of ${at} ready (index whole) in ≤ ${formatNumber(GOALS.maxReadyMs)} ms`,
    pass: x.readyMs <= GOALS.maxReadyMs,
    measured: `${formatNumber(x.readyMs)} ms (openDatabase resolved after ${formatNumber(x.openMs)} ms)`,
  })
  const ready: Verdict = big === undefined ? none(`networked restart ready in ≤ ${GOALS.maxReadyMs} ms`) : readyIn(big.restart, 'networked restart after a clean close (saved index)')
  const coldReady: Verdict =
    big === undefined ? none(`first networked open ready in ≤ ${GOALS.maxReadyMs} ms`) : readyIn(big.networked, 'first networked open (index built from the store, as after a crash)')
  const stall: Verdict =
    big === undefined
      ? none(`longest event-loop stall ≤ ${GOALS.maxStallMs} ms`)
      : {
          description:
            `longest event-loop stall after openDatabase resolved while ${at} start networked, first open and restart, ≤ ${GOALS.maxStallMs} ms ` +
            '(/healthz answered: rumordb start listens once openDatabase resolved)',
          pass: Math.max(big.networked.maxStallAfterOpenMs, big.restart.maxStallAfterOpenMs) <= GOALS.maxStallMs,
          measured:
            `${formatNumber(big.networked.maxStallAfterOpenMs, 1)} / ${formatNumber(big.restart.maxStallAfterOpenMs, 1)} ms ` +
            `(inside openDatabase: ${formatNumber(big.networked.maxStallMs, 1)} / ${formatNumber(big.restart.maxStallMs, 1)} ms)`,
        }
  const memory: Verdict =
    big === undefined
      ? none(`≤ ${GOALS.maxBytesPerKey} bytes per key`)
      : {
          description: `memory of a networked node on ${at} ≤ ${GOALS.maxBytesPerKey} bytes per key (RSS growth, after gc)`,
          pass: big.networked.rssPerKey <= GOALS.maxBytesPerKey,
          measured: `${formatNumber(big.networked.rssPerKey)} B/key RSS, ${formatNumber(big.networked.heapPerKey)} B/key heap`,
        }
  const measured = set.filter((s) => s.adds !== null)
  const s0 = measured[0]
  const sN = measured[measured.length - 1]
  const setAdd: Verdict =
    s0 === undefined || sN === undefined || s0 === sN
      ? { description: `one set add at the largest size ≤ ${GOALS.maxSetAddGrowth} × at the smallest`, pass: null, measured: 'needs two measured set sizes' }
      : {
          description: `one set add at ${formatNumber(sN.elements)} elements ≤ ${GOALS.maxSetAddGrowth} × at ${formatNumber(s0.elements)} (median)`,
          pass: (sN.ratioToSmallest ?? Infinity) <= GOALS.maxSetAddGrowth,
          measured: `${(sN.ratioToSmallest ?? NaN).toFixed(1)}×: ${ms(sN.adds?.all.p50 ?? NaN)} vs ${ms(s0.adds?.all.p50 ?? NaN)} ms`,
        }
  return { writes, ready, coldReady, stall, memory, setAdd }
}

function notes(o: GrowthBenchOptions): string[] {
  const share = `${Math.round(o.newKeyShare * 100)}%`
  return [
    `Store: PN-counters k/0, k/1, … in one local database (openDatabase, synchronous ${o.synchronous}), filled by increments ` +
      `with ${o.fillConcurrency} in flight (untimed; its pace is shown). At each size: ${formatNumber(o.warmupOps)} untimed writes, then ` +
      `${formatNumber(o.ops)} timed increments, ${o.concurrency} in flight, each awaited until committed; ${share} create a key, the rest go to ` +
      'existing keys drawn at random.',
    `Raw: the same key sequence upserted into a better-sqlite3 table of the same size (rumordb's open path, schema and pragmas; ` +
      "rows of the counters' mean encoded size), in transactions as large as rumordb's group commits in the same round. " +
      `"vs smallest": the same writes on a copy of the store taken at its smallest size, in the same ${o.rounds} alternating rounds ` +
      '(rumordb, raw, smallest copy), so load from other processes skews both alike.',
    'Start-up: after each store size, the closed store opened in a fresh Node process (--expose-gc): local (openDatabase on the ' +
      'data directory), networked (a transport with no peers, so the engine starts as in a cluster; the first networked open ' +
      'builds the anti-entropy index from the store) and restart (networked again after that open closed cleanly: it loads the ' +
      'index the close saved). "index whole": until ' +
      `db.syncStatus() stops saying '${INDEXING_PREFIX}', polled every ${o.startupPollMs} ms; local opens have no index. "CPU ms": this process's CPU time until ready. "longest stall": ` +
      `the largest event-loop delay from the call until ready (monitorEventLoopDelay, ${STALL_RESOLUTION_MS} ms resolution, so up to that ` +
      'much over the stall; GC pauses and time the OS gave to other processes count), and the same from openDatabase resolving until ' +
      'ready (rumordb start listens for HTTP only then). "longest gap after open": the longest time ' +
      "between two status polls beyond the interval, this process's CPU time in it, and how far the index build was then. " +
      'Memory: process.memoryUsage() after gc, before the call and once ready with the database open, per key.',
    `Set: one OR-set; before each size its elements are preloaded while the database is closed (built with the pure OR-set API as adds ` +
      'of another actor and written through the store: growing it by awaited API adds would take far longer than the measurement). Then untimed adds ' +
      `(${o.set.warmupAdds}, the first decoding the stored state) and up to ${o.set.samples} timed adds of new elements, one at a time ` +
      `(fewer where an add is slow: a ${formatNumber(o.set.budgetMs / 1000, 0)} s budget, at least ${o.set.minSamples}); raw: one-row ` +
      'upserts of a blob as large as the encoded state, one transaction each.',
  ]
}

// ---------------------------------------------------------------- report

const ms = (n: number): string => (n >= 100 ? formatNumber(n) : n >= 1 ? n.toFixed(2) : n.toFixed(3))
const ratio = (n: number | null): string => (n === null ? '-' : `${n.toFixed(2)}×`)
const mib = (bytes: number): string => `${formatNumber(bytes / 2 ** 20)} MiB`
const verdictOf = (v: Verdict): string => (v.pass === null ? 'not judged' : v.pass ? 'PASS' : 'FAIL')

export function formatReport(report: GrowthReport): string {
  const { options: o, results: r } = report
  const firstRaw = r.counters[0]?.raw.opsPerSecond ?? NaN
  const firstEngine = r.counters[0]?.engine.opsPerSecond ?? NaN
  const us = (cpuMs: number, ops: number): string => ((cpuMs * 1000) / ops).toFixed(1)
  const counterRows = r.counters.map((c) => [
    formatNumber(c.keys),
    formatNumber(c.fill.opsPerSecond),
    formatNumber(c.engine.opsPerSecond),
    formatNumber(c.raw.opsPerSecond),
    ratio(c.ratioToRaw),
    c.reference === null ? '-' : formatNumber(c.reference.opsPerSecond),
    ratio(c.ratioToSmallest),
    ratio(c.engine.opsPerSecond / firstEngine),
    ratio(c.raw.opsPerSecond / firstRaw),
    `${c.engine.opsPerCommit.toFixed(1)}${c.engine.opsPerCommitSource === 'assumed' ? ' (assumed)' : ''}`,
    `${us(c.engine.cpuMs, c.engine.ops)} / ${us(c.raw.cpuMs, c.raw.ops)}`,
  ])
  const startupRows = r.startup.flatMap((s) =>
    [s.local, s.networked, s.restart].map((x) => [
      formatNumber(x.keys),
      x.mode,
      formatNumber(x.openMs),
      x.mode === 'local' ? '-' : formatNumber(x.readyMs),
      formatNumber(x.readyCpuMs),
      `${formatNumber(x.maxStallMs, 1)} / ${formatNumber(x.maxStallAfterOpenMs, 1)}`,
      x.mode === 'local' ? '-' : `${formatNumber(x.longestPollGap.ms)} (CPU ${formatNumber(x.longestPollGap.cpuMs)}) ${gapAt(x.longestPollGap.reason)}`,
      formatNumber(x.rssPerKey),
      formatNumber(x.heapPerKey),
      mib(x.after.rss),
      mib(x.peakRssBytes),
    ]),
  )
  const setRows = r.set.map((s) =>
    s.adds === null
      ? [formatNumber(s.elements), formatNumber(s.stateBytes), `skipped: ${s.skipped ?? '?'}`]
      : [
          formatNumber(s.elements),
          formatNumber(s.stateBytes),
          ms(s.adds.all.p50),
          ms(s.adds.all.p99),
          ms(s.raw?.all.p50 ?? NaN),
          ratio(s.ratioToRaw),
          ratio(s.ratioToSmallest),
          `${s.adds.all.count}`,
          ms(s.warmupMs[0] ?? NaN),
          formatNumber(s.preloadMs / 1000, 1),
        ],
  )
  const v = r.verdicts
  return [
    `storage --growth: store ${o.storeSizes.map((n) => formatNumber(n)).join(' / ')} keys, set ${o.set.sizes.map((n) => formatNumber(n)).join(' / ')} elements; ` +
      `${formatNumber(o.ops)} timed writes per size at C=${o.concurrency} (${Math.round(o.newKeyShare * 100)}% new keys), synchronous ${o.synchronous}, seed ${o.seed}`,
    `machine: ${describeMachine(report.machine)}`,
    `after:   load ${report.machineAfter?.loadAverage.join(' ') ?? '?'}; better-sqlite3 ${report.machine.packages['better-sqlite3']}, SQLite ${r.sqliteVersion}`,
    '',
    '(1) Store growth: concurrent durable counter increments (writes/s)',
    formatTable(
      ['keys', 'fill', 'rumordb', 'raw SQLite', 'rumordb/raw', 'smallest store', 'vs smallest (same rounds)', 'vs first size', 'raw vs first size', 'writes/commit', 'CPU µs/write rumordb / raw'],
      counterRows,
    ),
    ...r.counters.flatMap((c) => formatProfile(`(1) rumordb writes at ${formatNumber(c.keys)} keys`, c.engine.profile)),
    '',
    '(2) Start-up, each open in a fresh process (memory: growth after gc, per key, database open)',
    formatTable(['keys', 'open', 'openDatabase ms', 'index whole ms', 'CPU ms', 'longest stall / after open ms', 'longest gap after open', 'RSS B/key', 'heap B/key', 'RSS once ready', 'peak RSS'], startupRows),
    ...r.startup.flatMap((s) => formatProfile(`(2) networked open of ${formatNumber(s.networked.keys)} keys, until ready`, s.networked.profile)),
    '',
    '(3) Set growth: one awaited OR-set add at a time (ms)',
    formatTable(['elements', 'state bytes', 'add p50', 'add p99', 'raw upsert p50', 'add/raw', 'vs smallest', 'adds timed', 'first add after open', 'preload s'], setRows),
    '',
    ...[v.writes, v.ready, v.coldReady, v.stall, v.memory, v.setAdd].map((x) => `goal: ${x.description}: ${verdictOf(x)} (${x.measured})`),
    '',
    'Notes:',
    ...r.notes.map((n, i) => `  ${i + 1}. ${n}`),
  ].join('\n')
}

/** Where in the index build a gap between readiness checks fell: "at 12%" of the keys, or "at ready". */
function gapAt(reason: string): string {
  const m = /\((\d+) of (\d+) keys\)/.exec(reason)
  if (m === null) return reason === '' ? 'at ready' : ''
  return `at ${Math.round((Number(m[1]) / Math.max(1, Number(m[2]))) * 100)}%`
}

function formatProfile(title: string, profile: readonly ProfileEntry[] | undefined): string[] {
  if (profile === undefined) return []
  return [
    '',
    `${title}: most self time (profiled run: the profiler slows it down)`,
    ...profile.map((e) => `  ${(e.share * 100).toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(6)} ms  ${e.name}`),
  ]
}
