// `npm run bench -- storage [--quick] [--ops N] [--concurrency C] [--synchronous FULL] [--out DIR]`
//
// What a durable rumordb write costs on this machine, in one run:
//   (a) the practical limit: raw better-sqlite3 upserts of rows like rumordb's (same
//       open path, schema and pragmas, same blob sizes, same keys) in transactions as
//       large as the ones rumordb's group commit formed in (b);
//   (b) counter increments and OR-set adds through the embedded API, `concurrency` in
//       flight, each awaited until committed;
//   (c) the latency of one awaited write at a time, beside a one-row raw transaction.
// (a) and (b) alternate in rounds, so that load from other processes on a shared
// machine skews both alike. It prints (b)/(a) per type against the goals and writes the
// raw numbers to <out>/<YYYY-MM-DD>-storage.json.
//
// `npm run bench -- storage --growth [--quick]` runs bench/storage-growth.ts instead: the
// same costs as a store grows to 10^6 keys and one set to 10^6 elements, and start-up.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import type { Profiler } from 'node:inspector'
import { parseArgs } from 'node:util'
import { crdtTypes, encodeTimestamp, ZERO_TIMESTAMP } from '../crdts/index.js'
import { openDatabase, type CrdtTypeName, type Database } from '../src/index.js'
import { seededRandom, type Random } from '../src/base/random.js'
import type { SynchronousMode } from '../src/store/sqlite-open.js'
import { positiveInt, synchronousOption } from './lib/args.js'
import { runConcurrent, timeSequential } from './lib/load.js'
import { RawKeysTable, upsertInBatches, type Committer } from './lib/raw-keys-table.js'
import { describeMachine, machineInfo } from './lib/machine.js'
import { topSelfTime, withCpuProfile, type ProfileEntry } from './lib/profile.js'
import { startProgress, withProgress as runPhase } from './lib/progress.js'
import { DEFAULT_RESULTS_DIR, writeReport, type BenchReport } from './lib/report.js'
import { opsPerSecond, summarizeFlagged, type FlaggedSummary } from './lib/stats.js'
import { formatNumber, formatTable } from './lib/table.js'
import { benchMain } from './lib/bench-main.js'
import { cpuMsSince, opsPerCommit, storeStats } from './lib/store-stats.js'
import { main as growthMain } from './storage-growth.js'

/** The issue's goals: concurrent writes reach half the raw limit; one write's p99 stays under 2 ms. */
export const GOALS = { minConcurrentRatio: 0.5, maxSingleWriteP99Ms: 2 } as const

export interface StorageBenchOptions {
  /** Writes per type in the concurrent phases, (a) and (b). */
  readonly ops: number
  /** Writes in flight in (b). */
  readonly concurrency: number
  /** Sequential writes timed per type in (c). */
  readonly samples: number
  readonly counterKeys: number
  readonly setKeys: number
  /** Distinct elements each set draws from: bounds a set's size. */
  readonly setElements: number
  readonly synchronous: SynchronousMode
  readonly seed: number
  readonly outDir: string
  readonly progress: boolean
  /** When set, (b) runs under the CPU profiler: storage-b-<kind>-<round>.cpuprofile files go here. */
  readonly profileDir?: string
}

const FULL: StorageBenchOptions = {
  ops: 100_000,
  concurrency: 64,
  samples: 5_000,
  counterKeys: 10_000,
  setKeys: 300,
  setElements: 64,
  synchronous: 'NORMAL',
  seed: 1,
  outDir: DEFAULT_RESULTS_DIR,
  progress: process.stderr.isTTY === true,
}

/** Same workload shape as FULL (so numbers compare), fewer measured writes. */
const QUICK: StorageBenchOptions = { ...FULL, ops: 10_000, samples: 1_000 }
const PROFILE_TOP = 15

type Kind = 'counter' | 'set'
const KINDS: readonly Kind[] = ['counter', 'set']

/** One write of the workload: the key, and for sets the element added. */
interface Write {
  readonly key: string
  readonly element: string
}

interface RawThroughput {
  readonly ops: number
  readonly ms: number
  /** Process CPU time (user + system, all threads): unlike `ms`, blind to I/O waits and preemption. */
  readonly cpuMs: number
  readonly opsPerSecond: number
  /** Writes per transaction, matched to (b)'s measured writes per commit. */
  readonly opsPerTransaction: number
  /** Rows per transaction after writes to the same key collapse, as in rumordb's overlay. */
  readonly rowsPerTransaction: number
}

export interface KindResult {
  readonly raw: RawThroughput & {
    /** Mean encoded state size of the kind in rumordb after warm-up: the raw rows' size. */
    readonly stateBytes: number
    readonly hlcBytes: number
    /** Milliseconds per one-row upsert transaction, one at a time: the floor under (c). */
    readonly latencyMs: FlaggedSummary
  }
  readonly concurrent: {
    readonly ops: number
    readonly ms: number
    readonly cpuMs: number
    readonly opsPerSecond: number
    readonly commits: number
    readonly opsPerCommit: number
    /** 'measured' from the store's commit counters, or 'assumed' (= concurrency) when hidden. */
    readonly opsPerCommitSource: 'measured' | 'assumed'
    /** With --profile: the functions with the most self time during the phase. */
    readonly profile?: ProfileEntry[]
  }
  /**
   * (c): milliseconds per awaited write, one at a time. `unflagged` leaves out the writes
   * during which the OS preempted the process; the goal is judged on `all`.
   */
  readonly latencyMs: FlaggedSummary
  /** (b) ops/s ÷ (a) ops/s. */
  readonly ratio: number
  readonly pass: { readonly ratio: boolean; readonly p99: boolean }
}

export interface StorageResults {
  readonly sqliteVersion: string
  readonly goals: typeof GOALS
  readonly counter: KindResult
  readonly set: KindResult
}

export type StorageReport = BenchReport<StorageBenchOptions, StorageResults>

export async function main(args: string[]): Promise<void> {
  // --growth: the store and set growth series of bench/storage-growth.ts, its own options.
  if (args.includes('--growth')) return growthMain(args.filter((a) => a !== '--growth'))
  await benchMain(args, { usage: USAGE, parse: parseOptions, run: runStorageBenchmark, format: formatReport })
}

const USAGE = `usage: npm run bench -- storage [--quick] [--ops N] [--concurrency C] [--samples N]
                                [--synchronous NORMAL|FULL] [--seed N] [--out DIR] [--profile DIR]
       npm run bench -- storage --growth [--quick] [options]   (bench/storage-growth.ts)`

export function parseOptions(args: string[]): StorageBenchOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      ops: { type: 'string' },
      concurrency: { type: 'string' },
      samples: { type: 'string' },
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
    ops: positiveInt('--ops', values.ops, base.ops),
    concurrency: positiveInt('--concurrency', values.concurrency, base.concurrency),
    samples: positiveInt('--samples', values.samples, base.samples),
    seed: positiveInt('--seed', values.seed, base.seed),
    synchronous,
    outDir: values.out ?? base.outDir,
    profileDir: values.profile,
  }
}

/** (a) and (b) alternate in this many rounds, so a neighbour's load hits both alike. */
const ROUNDS = 5
/** Unmeasured writes that warm the raw path up, per kind. */
const RAW_WARMUP_OPS = 5_000
/** Unmeasured sequential writes before (c), per kind. */
const LATENCY_WARMUP_OPS = 500
const CRDT_TYPE = { counter: 'pncounter', set: 'orset' } as const satisfies Record<Kind, CrdtTypeName>

/** Runs the benchmark in a temporary directory, writes the report and returns it with its path. */
export async function runStorageBenchmark(o: StorageBenchOptions): Promise<{ report: StorageReport; path: string }> {
  const date = new Date().toISOString()
  const machine = machineInfo(['better-sqlite3'])
  const dir = mkdtempSync(join(tmpdir(), 'rumordb-bench-storage-'))
  let db: Database | undefined
  let table: RawKeysTable | undefined
  try {
    db = await openDatabase({ dataDir: join(dir, 'rumordb'), synchronous: o.synchronous })
    table = RawKeysTable.open(join(dir, 'raw.sqlite'), o.synchronous)
    const measured = {} as Record<Kind, KindResult>
    for (const kind of KINDS) await populate(db, kind, o)
    for (const kind of KINDS) {
      const shape = { type: CRDT_TYPE[kind], stateBytes: await meanStateBytes(db, kind, o), hlcBytes: HLC_BYTES }
      const commit = table.committer(shape, o.seed)
      const throughput = await measureThroughput(db, commit, kind, o)
      const latency = await measureLatency(db, commit, kind, o)
      const raw = { ...throughput.raw, stateBytes: shape.stateBytes, hlcBytes: shape.hlcBytes, latencyMs: latency.raw }
      measured[kind] = verdicts(raw, throughput.concurrent, latency.engine)
    }
    const results: StorageResults = { sqliteVersion: table.sqliteVersion(), goals: GOALS, ...measured }
    const report: StorageReport = { benchmark: 'storage', date, options: o, machine, machineAfter: machineInfo(['better-sqlite3']), results }
    return { report, path: writeReport(o.outDir, report) }
  } finally {
    await db?.close()
    table?.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---------------------------------------------------------------- workload

function keyName(kind: Kind, i: number): string {
  return `${kind}/${i}`
}

function elementName(j: number): string {
  return `member-${j}`
}

/** The next write of a phase. (a) and (b) draw from the same seed, so they touch the same keys. */
function drawWrite(kind: Kind, rng: Random, o: StorageBenchOptions): Write {
  if (kind === 'counter') return { key: keyName(kind, rng.int(o.counterKeys)), element: '' }
  const key = keyName(kind, rng.int(o.setKeys))
  return { key, element: elementName(rng.int(o.setElements)) }
}

function issue(db: Database, kind: Kind, w: Write): Promise<unknown> {
  return kind === 'counter' ? db.counter(w.key).increment(1) : db.set(w.key).add(w.element)
}

/** Every key the workload uses, at its steady size: each counter once, each set full. */
function populationOf(kind: Kind, o: StorageBenchOptions): Write[] {
  const out: Write[] = []
  if (kind === 'counter') {
    for (let i = 0; i < o.counterKeys; i++) out.push({ key: keyName(kind, i), element: '' })
  } else {
    for (let j = 0; j < o.setElements; j++) {
      for (let i = 0; i < o.setKeys; i++) out.push({ key: keyName(kind, i), element: elementName(j) })
    }
  }
  return out
}

/** Distinct seeds per phase and kind, all derived from the one the run prints. */
function seedFor(o: StorageBenchOptions, phase: 'concurrent' | 'sequential' | 'warmup', kind: Kind): number {
  return o.seed * 8 + (phase === 'concurrent' ? 0 : phase === 'sequential' ? 2 : 4) + (kind === 'counter' ? 0 : 1)
}

// ---------------------------------------------------------------- measurements

/** Brings every key to its steady size through rumordb (unmeasured; also warms the JIT up). */
async function populate(db: Database, kind: Kind, o: StorageBenchOptions): Promise<void> {
  const population = populationOf(kind, o)
  await runPhase(`warm-up: populate ${kind}s`, population.length, o.progress, (progress) =>
    runConcurrent(population.length, o.concurrency, (i) => issue(db, kind, population[i] as Write), { onProgress: progress }),
  )
}

const HLC_BYTES = encodeTimestamp(ZERO_TIMESTAMP).length

/** Mean size of the kind's encoded states, as rumordb stores them. */
async function meanStateBytes(db: Database, kind: Kind, o: StorageBenchOptions): Promise<number> {
  const type = CRDT_TYPE[kind]
  const codec = crdtTypes[type] as unknown as { encode(state: unknown): Uint8Array }
  const keys = kind === 'counter' ? o.counterKeys : o.setKeys
  let bytes = 0
  for (let i = 0; i < keys; i++) bytes += codec.encode(await db.readState(keyName(kind, i), type)).length
  return Math.round(bytes / keys)
}

/**
 * (a) and (b), alternating in rounds over the same key sequence. (a) commits as many
 * writes per transaction as rumordb's group commit formed in (b) so far.
 */
async function measureThroughput(
  db: Database,
  commit: Committer,
  kind: Kind,
  o: StorageBenchOptions,
): Promise<{ concurrent: KindResult['concurrent']; raw: RawThroughput }> {
  const population = populationOf(kind, o).map((w) => w.key)
  upsertInBatches(commit, population.length, o.concurrency, (i) => population[i] as string)
  const warm = seededRandom(seedFor(o, 'warmup', kind))
  upsertInBatches(commit, Math.min(o.ops, RAW_WARMUP_OPS), o.concurrency, () => drawWrite(kind, warm, o).key)

  const engineKeys = seededRandom(seedFor(o, 'concurrent', kind))
  const rawKeys = seededRandom(seedFor(o, 'concurrent', kind))
  const before = storeStats(db)
  let engineMs = 0
  let rawMs = 0
  let engineCpuMs = 0
  let rawCpuMs = 0
  let transactions = 0
  let rows = 0
  let done = 0
  const profiles: Profiler.Profile[] = []
  const bar = startProgress(`(a)+(b) ${kind}, C=${o.concurrency}`, 2 * o.ops, o.progress)
  try {
    for (let round = 0; round < ROUNDS && done < o.ops; round++) {
      const n = Math.ceil((o.ops - done) / (ROUNDS - round))
      const run = (): Promise<number> =>
        runConcurrent(n, o.concurrency, () => issue(db, kind, drawWrite(kind, engineKeys, o)), {
          onProgress: (k) => bar.update(2 * done + k),
        })
      const engineCpu = process.cpuUsage()
      if (o.profileDir !== undefined) {
        mkdirSync(o.profileDir, { recursive: true })
        const profiled = await withCpuProfile(join(o.profileDir, `storage-b-${kind}-${round + 1}.cpuprofile`), run)
        engineMs += profiled.result
        profiles.push(profiled.profile)
      } else {
        engineMs += await run()
      }
      engineCpuMs += cpuMsSince(engineCpu)
      const batch = opsPerCommit(before, storeStats(db))?.opsPerCommit ?? o.concurrency
      const rawCpu = process.cpuUsage()
      const start = performance.now()
      const part = upsertInBatches(commit, n, batch, () => drawWrite(kind, rawKeys, o).key, (k) =>
        bar.update(2 * done + n + k),
      )
      rawMs += performance.now() - start
      rawCpuMs += cpuMsSince(rawCpu)
      transactions += part.transactions
      rows += part.rows
      done += n
    }
  } finally {
    bar.stop()
  }
  const commits = opsPerCommit(before, storeStats(db))
  return {
    concurrent: {
      ops: o.ops,
      ms: engineMs,
      cpuMs: engineCpuMs,
      opsPerSecond: opsPerSecond(o.ops, engineMs),
      commits: commits?.commits ?? Math.ceil(o.ops / o.concurrency),
      opsPerCommit: commits?.opsPerCommit ?? o.concurrency,
      opsPerCommitSource: commits === undefined ? 'assumed' : 'measured',
      ...(profiles.length === 0 ? {} : { profile: topSelfTime(profiles, PROFILE_TOP) }),
    },
    raw: {
      ops: o.ops,
      ms: rawMs,
      cpuMs: rawCpuMs,
      opsPerSecond: opsPerSecond(o.ops, rawMs),
      opsPerTransaction: o.ops / transactions,
      rowsPerTransaction: rows / transactions,
    },
  }
}

/** (c) through rumordb, then the same keys as one-row raw transactions. */
async function measureLatency(
  db: Database,
  commit: Committer,
  kind: Kind,
  o: StorageBenchOptions,
): Promise<{ engine: FlaggedSummary; raw: FlaggedSummary }> {
  const warm = seededRandom(seedFor(o, 'warmup', kind))
  await timeSequential(Math.min(o.samples, LATENCY_WARMUP_OPS), () => issue(db, kind, drawWrite(kind, warm, o)))
  const engineKeys = seededRandom(seedFor(o, 'sequential', kind))
  const engine = await runPhase(`(c) one ${kind} write at a time`, o.samples, o.progress, (progress) =>
    timeSequential(o.samples, () => issue(db, kind, drawWrite(kind, engineKeys, o)), { onProgress: progress }),
  )
  const rawKeys = seededRandom(seedFor(o, 'sequential', kind))
  const raw = await timeSequential(o.samples, () => commit(new Set([drawWrite(kind, rawKeys, o).key])))
  return { engine: summarizeFlagged(engine.ms, engine.preempted), raw: summarizeFlagged(raw.ms, raw.preempted) }
}

// ---------------------------------------------------------------- reporting

function verdicts(raw: KindResult['raw'], concurrent: KindResult['concurrent'], latencyMs: FlaggedSummary): KindResult {
  const ratio = concurrent.opsPerSecond / raw.opsPerSecond
  return {
    raw,
    concurrent,
    latencyMs,
    ratio,
    pass: { ratio: ratio >= GOALS.minConcurrentRatio, p99: latencyMs.all.p99 < GOALS.maxSingleWriteP99Ms },
  }
}

export function formatReport(report: StorageReport): string {
  const { options: o, results: r } = report
  const both = (f: (k: KindResult) => string): string[] => [f(r.counter), f(r.set)]
  const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL')
  const ms = (n: number): string => n.toFixed(3)
  const us = (cpuMs: number, ops: number): string => ((cpuMs * 1000) / ops).toFixed(1)
  const table = formatTable(
    ['', 'counter', 'set', 'goal'],
    [
      ['(a) raw SQLite upserts, ops/s', ...both((k) => formatNumber(k.raw.opsPerSecond)), ''],
      ['    writes / rows per transaction', ...both((k) => `${k.raw.opsPerTransaction.toFixed(1)} / ${k.raw.rowsPerTransaction.toFixed(1)}`), ''],
      ['    state bytes', ...both((k) => String(k.raw.stateBytes)), ''],
      ['(b) rumordb concurrent, ops/s', ...both((k) => formatNumber(k.concurrent.opsPerSecond)), ''],
      ['    writes per commit', ...both((k) => `${k.concurrent.opsPerCommit.toFixed(1)}${k.concurrent.opsPerCommitSource === 'assumed' ? ' (assumed)' : ''}`), ''],
      ['(b)/(a)', ...both((k) => `${k.ratio.toFixed(2)} ${verdict(k.pass.ratio)}`), `>= ${GOALS.minConcurrentRatio}`],
      ['CPU µs per write, (a) / (b)', ...both((k) => `${us(k.raw.cpuMs, k.raw.ops)} / ${us(k.concurrent.cpuMs, k.concurrent.ops)}`), ''],
      ['(c) one write at a time, p50 ms', ...both((k) => ms(k.latencyMs.all.p50)), ''],
      ['(c) one write at a time, p99 ms', ...both((k) => `${ms(k.latencyMs.all.p99)} ${verdict(k.pass.p99)}`), `< ${GOALS.maxSingleWriteP99Ms} ms`],
      ['    max ms', ...both((k) => ms(k.latencyMs.all.max)), ''],
      ['    writes preempted by the OS', ...both((k) => `${k.latencyMs.flagged} / ${k.latencyMs.all.count}`), ''],
      ['    p99 ms of writes not preempted', ...both((k) => (k.latencyMs.unflagged === null ? '-' : ms(k.latencyMs.unflagged.p99))), ''],
      ['    raw one-row transaction, p50 ms', ...both((k) => ms(k.raw.latencyMs.all.p50)), ''],
      ['    raw one-row transaction, p99 ms', ...both((k) => ms(k.raw.latencyMs.all.p99)), ''],
    ],
  )
  return [
    `storage: ${o.ops} writes/type at C=${o.concurrency}, ${o.samples} sequential samples/type, ` +
      `${o.counterKeys} counters, ${o.setKeys} sets of <= ${o.setElements}, synchronous ${o.synchronous}, seed ${o.seed}`,
    `machine: ${describeMachine(report.machine)}`,
    `after:   load ${report.machineAfter?.loadAverage.join(' ') ?? '?'}; better-sqlite3 ${report.machine.packages['better-sqlite3']}, SQLite ${r.sqliteVersion}`,
    '',
    table,
    ...KINDS.flatMap((kind) => formatProfile(kind, r[kind].concurrent.profile)),
  ].join('\n')
}

function formatProfile(kind: Kind, profile: readonly ProfileEntry[] | undefined): string[] {
  if (profile === undefined) return []
  return [
    '',
    `(b) ${kind}: most self time (profiled run: the profiler lowers throughput)`,
    ...profile.map((e) => `  ${(e.share * 100).toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(6)} ms  ${e.name}`),
  ]
}
