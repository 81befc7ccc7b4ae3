// A store of counters grown to 10^4 … 10^6 keys, and what concurrent durable increments
// cost at each size (bench/storage-growth.ts), beside raw better-sqlite3 upserts of the
// same rows into a table of the same size, and beside the same writes on a copy of the
// store at its smallest size: all three alternate in rounds, so that load from other
// processes on a shared machine skews them alike and "ratio to the smallest size" compares
// numbers taken in the same minute.
import { cpSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import type { Profiler } from 'node:inspector'
import { encodeTimestamp, PNCounter, ZERO_TIMESTAMP, type PNCounterState } from '../../crdts/index.js'
import { openDatabase, type Database } from '../../src/index.js'
import { seededRandom, type Random } from '../../src/base/random.js'
import type { SynchronousMode } from '../../src/store/sqlite-open.js'
import { runConcurrent } from './load.js'
import { topSelfTime, withCpuProfile, type ProfileEntry } from './profile.js'
import { startProgress } from './progress.js'
import { RawKeysTable, upsertInBatches, type Committer } from './raw-keys-table.js'
import { opsPerSecond } from './stats.js'
import { cpuMsSince, opsPerCommit, storeStats } from './store-stats.js'

export interface CounterGrowthOptions {
  /** Timed writes per size and party (rumordb, raw, the smallest store). */
  readonly ops: number
  /** Writes in flight while timed. */
  readonly concurrency: number
  /** Writes in flight while filling (not timed). */
  readonly fillConcurrency: number
  /** Share of timed writes that create a key; the others go to existing keys drawn at random. */
  readonly newKeyShare: number
  /** Untimed writes to existing keys before timing, per store and to the raw table (warm caches and the JIT). */
  readonly warmupOps: number
  /** Timed writes alternate between the parties in this many rounds. */
  readonly rounds: number
  readonly synchronous: SynchronousMode
  readonly seed: number
  readonly progress: boolean
  /** When set, rumordb's timed writes run under the CPU profiler; .cpuprofile files go here. */
  readonly profileDir?: string
}

export interface Throughput {
  readonly ops: number
  readonly ms: number
  /** Process CPU time (user + system, all threads): blind to I/O waits and preemption. */
  readonly cpuMs: number
  readonly opsPerSecond: number
}

export interface CounterSizeResult {
  readonly target: number
  /** Keys in the store when the timed writes began, and after them (new keys added). */
  readonly keys: number
  readonly keysAfter: number
  /** The fill up to `target` (untimed phase, its pace shown for what it says about growth). */
  readonly fill: { readonly writes: number; readonly ms: number; readonly opsPerSecond: number }
  readonly engine: Throughput & {
    readonly opsPerCommit: number
    /** 'measured' from the store's commit counters, or 'assumed' (= concurrency) when hidden. */
    readonly opsPerCommitSource: 'measured' | 'assumed'
    readonly profile?: ProfileEntry[]
  }
  readonly raw: Throughput & {
    /** Writes per transaction: rumordb's writes per commit in the same round. */
    readonly opsPerTransaction: number
    readonly rowsPerTransaction: number
    readonly stateBytes: number
    readonly hlcBytes: number
  }
  /** The same writes on a copy of the store at the smallest size, in the same rounds; null at the smallest. */
  readonly reference: (Throughput & { readonly keys: number }) | null
  /** rumordb ops/s ÷ raw ops/s. */
  readonly ratioToRaw: number
  /** rumordb ops/s ÷ the smallest store's ops/s in the same rounds (1 at the smallest). */
  readonly ratioToSmallest: number
}

const HLC_BYTES = encodeTimestamp(ZERO_TIMESTAMP).length
/** Rows per transaction while filling the raw table (untimed). */
const RAW_FILL_BATCH = 8_192
/** Counters read to find the mean encoded state size of the raw rows. */
const STATE_SIZE_SAMPLE = 256

export function counterKey(i: number): string {
  return `k/${i}`
}

/** Keys of the timed writes: an existing key drawn at random, or now and then the next new one. */
export class KeyStream {
  private readonly rng: Random

  constructor(
    seed: number,
    /** Keys k/0 … k/(count - 1) exist; the next new key is k/count. */
    public count: number,
    private readonly newKeyShare: number,
  ) {
    this.rng = seededRandom(seed)
  }

  next(): string {
    if (this.rng.next() < this.newKeyShare) return counterKey(this.count++)
    return counterKey(this.rng.int(this.count))
  }
}

/** A counter store on disk: its database while open, and how many keys it holds. */
export class CounterStore {
  db: Database | undefined

  constructor(
    readonly dataDir: string,
    private readonly synchronous: SynchronousMode,
    /** Keys k/0 … k/(count - 1) exist. */
    public count = 0,
  ) {}

  async open(): Promise<Database> {
    this.db ??= await openDatabase({ dataDir: this.dataDir, synchronous: this.synchronous })
    return this.db
  }

  async close(): Promise<void> {
    await this.db?.close()
    this.db = undefined
  }

  /** The keys the database reports: counters only, so `count` unless a write went astray. */
  storedKeys(): number {
    if (this.db === undefined) throw new Error(`${this.dataDir} is closed: open it first`)
    return this.db.status().keys
  }

  /** A copy of this store's files (the store must be closed) at `dataDir`, replacing what was there. */
  copyTo(dataDir: string): CounterStore {
    if (this.db !== undefined) throw new Error(`close ${this.dataDir} before copying it`)
    rmSync(dataDir, { recursive: true, force: true })
    cpSync(this.dataDir, dataDir, { recursive: true })
    return new CounterStore(dataDir, this.synchronous, this.count)
  }
}

/** Increments new keys until the store holds `target`; untimed but reported. */
export async function fillCounters(store: CounterStore, target: number, o: CounterGrowthOptions): Promise<CounterSizeResult['fill']> {
  const db = await store.open()
  const from = store.count
  const writes = Math.max(0, target - from)
  const bar = startProgress(`fill to ${target.toLocaleString('en-US')} keys`, writes, o.progress)
  try {
    const ms = await runConcurrent(writes, o.fillConcurrency, (i) => db.counter(counterKey(from + i)).increment(1), {
      onProgress: bar.update,
      progressEvery: 4_096,
    })
    store.count = Math.max(from, target)
    return { writes, ms, opsPerSecond: opsPerSecond(writes, ms) }
  } finally {
    bar.stop()
  }
}

/** The raw table beside the store, holding the same keys (k/0 … k/(count - 1)). */
export class RawCounters {
  count = 0

  constructor(readonly table: RawKeysTable) {}

  /** Upserts rows until the table holds `target` keys (untimed). */
  fill(target: number, stateBytes: number, seed: number): void {
    const commit = this.table.committer({ type: 'pncounter', stateBytes, hlcBytes: HLC_BYTES }, seed)
    const from = this.count
    if (target > from) upsertInBatches(commit, target - from, RAW_FILL_BATCH, (i) => counterKey(from + i))
    this.count = Math.max(from, target)
  }
}

/** Mean encoded size of the store's counters, from a sample of keys. */
export async function meanCounterBytes(db: Database, count: number, seed: number): Promise<number> {
  const rng = seededRandom(seed)
  const n = Math.min(count, STATE_SIZE_SAMPLE)
  let bytes = 0
  for (let i = 0; i < n; i++) bytes += PNCounter.encode((await db.readState(counterKey(rng.int(count)), 'pncounter')) as PNCounterState).length
  return n === 0 ? 0 : Math.round(bytes / n)
}

/** Untimed increments of existing keys. */
async function warmUp(store: CounterStore, o: CounterGrowthOptions, seed: number): Promise<void> {
  const db = await store.open()
  const keys = new KeyStream(seed, store.count, 0)
  await runConcurrent(o.warmupOps, o.concurrency, () => db.counter(keys.next()).increment(1))
}

interface Tally {
  ms: number
  cpuMs: number
}

/**
 * The timed writes at one size: `main` (open, filled), the raw table at the same size, and
 * `reference` (the smallest store, or none at the smallest size), alternating in rounds.
 */
export async function measureCounterSize(
  main: CounterStore,
  raw: RawCounters,
  reference: CounterStore | undefined,
  fill: CounterSizeResult['fill'],
  target: number,
  o: CounterGrowthOptions,
): Promise<CounterSizeResult> {
  const db = await main.open()
  const refDb = reference === undefined ? undefined : await reference.open()
  const stateBytes = await meanCounterBytes(db, main.count, o.seed)
  raw.fill(main.count, stateBytes, o.seed)
  await warmUp(main, o, o.seed + 1)
  if (reference !== undefined) await warmUp(reference, o, o.seed + 1)
  const commit: Committer = raw.table.committer({ type: 'pncounter', stateBytes, hlcBytes: HLC_BYTES }, o.seed + 2)
  const rawWarm = new KeyStream(o.seed + 1, raw.count, 0)
  upsertInBatches(commit, o.warmupOps, o.concurrency, () => rawWarm.next())
  const keys = main.storedKeys()
  const referenceKeys = reference?.count ?? 0
  const streams = {
    main: new KeyStream(o.seed + 3, main.count, o.newKeyShare),
    raw: new KeyStream(o.seed + 3, raw.count, o.newKeyShare),
    reference: new KeyStream(o.seed + 3, reference?.count ?? 0, o.newKeyShare),
  }
  const engine: Tally = { ms: 0, cpuMs: 0 }
  const rawTally: Tally = { ms: 0, cpuMs: 0 }
  const refTally: Tally = { ms: 0, cpuMs: 0 }
  let transactions = 0
  let rows = 0
  let done = 0
  const profiles: Profiler.Profile[] = []
  const parties = reference === undefined ? 2 : 3
  const before = storeStats(db)
  const bar = startProgress(`timed writes at ${target.toLocaleString('en-US')}`, parties * o.ops, o.progress)
  try {
    for (let round = 0; round < o.rounds && done < o.ops; round++) {
      const n = Math.ceil((o.ops - done) / (o.rounds - round))
      const at = (part: number) => (k: number) => bar.update(parties * done + part * n + k)
      const run = (): Promise<number> =>
        runConcurrent(n, o.concurrency, () => db.counter(streams.main.next()).increment(1), { onProgress: at(0) })
      const cpu = process.cpuUsage()
      if (o.profileDir !== undefined) {
        const profiled = await withCpuProfile(join(o.profileDir, `growth-counters-${target}-${round + 1}.cpuprofile`), run)
        engine.ms += profiled.result
        profiles.push(profiled.profile)
      } else {
        engine.ms += await run()
      }
      engine.cpuMs += cpuMsSince(cpu)

      const batch = opsPerCommit(before, storeStats(db))?.opsPerCommit ?? o.concurrency
      const rawCpu = process.cpuUsage()
      const rawStart = performance.now()
      const part = upsertInBatches(commit, n, batch, () => streams.raw.next(), at(1))
      rawTally.ms += performance.now() - rawStart
      rawTally.cpuMs += cpuMsSince(rawCpu)
      transactions += part.transactions
      rows += part.rows

      if (refDb !== undefined) {
        const refCpu = process.cpuUsage()
        refTally.ms += await runConcurrent(n, o.concurrency, () => refDb.counter(streams.reference.next()).increment(1), { onProgress: at(2) })
        refTally.cpuMs += cpuMsSince(refCpu)
      }
      done += n
    }
  } finally {
    bar.stop()
  }
  const commits = opsPerCommit(before, storeStats(db))
  main.count = streams.main.count
  raw.count = streams.raw.count
  const engineOps = opsPerSecond(o.ops, engine.ms)
  const refOps = reference === undefined ? null : opsPerSecond(o.ops, refTally.ms)
  const rawOps = opsPerSecond(o.ops, rawTally.ms)
  return {
    target,
    keys,
    keysAfter: main.storedKeys(),
    fill,
    engine: {
      ops: o.ops,
      ms: engine.ms,
      cpuMs: engine.cpuMs,
      opsPerSecond: engineOps,
      opsPerCommit: commits?.opsPerCommit ?? o.concurrency,
      opsPerCommitSource: commits === undefined ? 'assumed' : 'measured',
      ...(profiles.length === 0 ? {} : { profile: topSelfTime(profiles, 15) }),
    },
    raw: {
      ops: o.ops,
      ms: rawTally.ms,
      cpuMs: rawTally.cpuMs,
      opsPerSecond: rawOps,
      opsPerTransaction: o.ops / transactions,
      rowsPerTransaction: rows / transactions,
      stateBytes,
      hlcBytes: HLC_BYTES,
    },
    reference:
      reference === undefined || refOps === null
        ? null
        : { keys: referenceKeys, ops: o.ops, ms: refTally.ms, cpuMs: refTally.cpuMs, opsPerSecond: refOps },
    ratioToRaw: engineOps / rawOps,
    ratioToSmallest: refOps === null ? 1 : engineOps / refOps,
  }
}

/** Where a run keeps its stores: the growing one, its copy at the smallest size, and the raw table. */
export function counterPaths(dir: string): { main: string; smallest: string; reference: string; raw: string } {
  return { main: join(dir, 'counters'), smallest: join(dir, 'counters-smallest'), reference: join(dir, 'counters-reference'), raw: join(dir, 'counters-raw.sqlite') }
}
