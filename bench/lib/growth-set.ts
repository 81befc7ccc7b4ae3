// One OR-set grown to 10^3 … 10^6 elements, and what one awaited add costs at each size,
// beside a raw SQLite upsert of a blob as large as the set's state (bench/storage-growth.ts):
// what writing the whole state would cost, which an add no longer does (a set is stored in
// pages, one per chunk of ~256 elements, and an add writes the pages it changed).
//
// Growing a set to 10^6 elements by awaited adds would take tens of minutes even at ~2 ms
// an add, and the growth itself is not what is measured. The elements are preloaded, while the
// database is closed: built with the pure OR-set API as adds of one "preload" actor, merged
// into the stored state and written through the store. The measured adds then go through
// the embedded API (`db.set(key).add`) with the database's own actor.
import { contextMax, encodeTimestamp, ORSet, ZERO_TIMESTAMP, type ORSetState } from '../../crdts/index.js'
import { openDatabase, type Database } from '../../src/index.js'
import { openDataDirectory } from '../../src/store/index.js'
import type { SynchronousMode } from '../../src/store/sqlite-open.js'
import { timeSequential } from './load.js'
import { RawKeysTable } from './raw-keys-table.js'
import { summarizeFlagged, type FlaggedSummary } from './stats.js'

export const SET_KEY = 'growth/set'
/** The actor whose adds the preload stands for: another replica, as far as the database knows. */
export const PRELOAD_ACTOR = 'growth-preload'
const HLC_BYTES = encodeTimestamp(ZERO_TIMESTAMP).length
/** Raw blobs cycled through: a 10^6-element state is ~16 MB, so only a few. */
const RAW_BLOB_POOL = 2
/** Raw upserts timed per size, at least (cheap next to the adds they are compared with). */
const MIN_RAW_SAMPLES = 20

export interface SetGrowthOptions {
  /** Set sizes to measure at, ascending. */
  readonly sizes: readonly number[]
  /** Adds timed per size, at most. */
  readonly samples: number
  /** Adds timed per size, at least (a slow size gets these, whatever the budget). */
  readonly minSamples: number
  /** Time budget for the timed adds of one size: fewer samples where one add is slow. */
  readonly budgetMs: number
  /** Untimed adds after each open; the first decodes the stored state. */
  readonly warmupAdds: number
  /** A size whose last warm-up add took longer than this is skipped, with the reason. */
  readonly maxAddMs: number
  readonly synchronous: SynchronousMode
  readonly seed: number
}

export interface SetSizeResult {
  readonly target: number
  /** Elements in the set when the timed adds began. */
  readonly elements: number
  /** Encoded state when the timed adds began: the raw blob's size. */
  readonly stateBytes: number
  /** Building the preloaded elements and writing them (not measured against anything). */
  readonly preloadMs: number
  /** Each warm-up add, in order (the first one decodes the stored state). */
  readonly warmupMs: readonly number[]
  /** Why the size was not measured; absent when it was. */
  readonly skipped?: string
  /** Milliseconds per awaited add; null when skipped. */
  readonly adds: FlaggedSummary | null
  /** Milliseconds per one-row raw upsert of a `stateBytes` blob, one transaction each. */
  readonly raw: FlaggedSummary | null
  /** Median add ÷ median raw upsert. */
  readonly ratioToRaw: number | null
  /** Median add ÷ median add at the smallest measured size. */
  readonly ratioToSmallest: number | null
}

/**
 * The elements `p/<from>` … `p/<from + count - 1>` added to `current` by PRELOAD_ACTOR,
 * merged in: the state `count` adds would leave, in O(n log n) instead of the O(n²) of
 * merging one add at a time. The adds' entries are merged pairwise without contexts (with
 * no dots seen on either side, a merge keeps every entry), and the context is the one the
 * adds built, which holds every dot of the result.
 */
export function preloadElements(current: ORSetState, from: number, count: number): ORSetState {
  const empty = ORSet.empty().context
  let context: ORSetState = { entries: [], context: current.context }
  let level: ORSetState[] = [{ entries: current.entries, context: empty }]
  for (let i = from; i < from + count; i++) {
    const delta = ORSet.add(context, PRELOAD_ACTOR, `p/${i}`)
    level.push({ entries: delta.entries, context: empty })
    context = ORSet.merge(context, { entries: [], context: delta.context })
  }
  while (level.length > 1) {
    const next: ORSetState[] = []
    for (let i = 0; i < level.length; i += 2) {
      const a = level[i] as ORSetState
      const b = level[i + 1]
      next.push(b === undefined ? a : ORSet.merge(a, b))
    }
    level = next
  }
  return { entries: (level[0] as ORSetState).entries, context: context.context }
}

/** Brings the stored set up to `target` elements with preloaded ones; the database must be closed. */
export async function topUpSet(dataDir: string, target: number, synchronous: SynchronousMode): Promise<void> {
  const { store } = await openDataDirectory(dataDir, synchronous)
  try {
    const stored = store.getKey(SET_KEY)
    const current = stored === undefined ? ORSet.empty() : ORSet.decode(stored.state)
    const missing = target - current.entries.length
    if (missing <= 0) return
    const grown = preloadElements(current, contextMax(current.context, PRELOAD_ACTOR), missing)
    const hlc = stored?.hlc ?? encodeTimestamp(ZERO_TIMESTAMP)
    await store.write({ keys: [{ key: SET_KEY, type: 'orset', state: ORSet.encode(grown), hlc }] })
  } finally {
    await store.close()
  }
}

async function stateOf(db: Database): Promise<ORSetState> {
  return (await db.readState(SET_KEY, 'orset')) as ORSetState
}

/**
 * Every size in turn on one set in `dataDir` (created if missing), with its raw table in
 * `rawPath`. `onSize` hears each result as it is measured.
 */
export async function measureSetGrowth(
  dataDir: string,
  rawPath: string,
  o: SetGrowthOptions,
  onSize: (r: SetSizeResult) => void = () => undefined,
): Promise<SetSizeResult[]> {
  const out: SetSizeResult[] = []
  const raw = RawKeysTable.open(rawPath, o.synchronous)
  try {
    for (const target of o.sizes) {
      const smallest = out.find((r) => r.adds !== null)?.adds ?? null
      const result = await measureSize(dataDir, raw, target, o, smallest)
      out.push(result)
      onSize(result)
    }
  } finally {
    raw.close()
  }
  return out
}

async function measureSize(
  dataDir: string,
  raw: RawKeysTable,
  target: number,
  o: SetGrowthOptions,
  smallest: FlaggedSummary | null,
): Promise<SetSizeResult> {
  const started = performance.now()
  await topUpSet(dataDir, target, o.synchronous)
  const preloadMs = performance.now() - started
  const db = await openDatabase({ dataDir, synchronous: o.synchronous })
  let elements: number
  let stateBytes: number
  let warm: Float64Array
  let adds: FlaggedSummary
  try {
    const set = db.set(SET_KEY)
    warm = (await timeSequential(o.warmupAdds, (i) => set.add(`w/${target}/${i}`))).ms
    const state = await stateOf(db)
    elements = state.entries.length
    stateBytes = ORSet.encode(state).length
    const last = warm[warm.length - 1] ?? 0
    if (last > o.maxAddMs) {
      return skippedSize(target, elements, stateBytes, preloadMs, warm, `one add took ${Math.round(last)} ms (limit ${o.maxAddMs} ms)`)
    }
    const samples = sampleCount(last, o)
    const timed = await timeSequential(samples, (i) => set.add(`a/${target}/${i}`))
    adds = summarizeFlagged(timed.ms, timed.preempted)
  } finally {
    await db.close()
  }
  const commit = raw.committer({ type: 'orset', stateBytes, hlcBytes: HLC_BYTES }, o.seed, RAW_BLOB_POOL)
  const keys = new Set([SET_KEY])
  await timeSequential(RAW_BLOB_POOL, () => commit(keys))
  const rawTimed = await timeSequential(Math.max(adds.all.count, MIN_RAW_SAMPLES), () => commit(keys))
  const rawSummary = summarizeFlagged(rawTimed.ms, rawTimed.preempted)
  return {
    target,
    elements,
    stateBytes,
    preloadMs,
    warmupMs: [...warm],
    adds,
    raw: rawSummary,
    ratioToRaw: adds.all.p50 / rawSummary.all.p50,
    ratioToSmallest: smallest === null ? 1 : adds.all.p50 / smallest.all.p50,
  }
}

/** As many samples as fit the budget at the warm-up's pace, within [minSamples, samples]. */
export function sampleCount(addMs: number, o: Pick<SetGrowthOptions, 'samples' | 'minSamples' | 'budgetMs'>): number {
  const fit = addMs > 0 ? Math.floor(o.budgetMs / addMs) : o.samples
  return Math.max(o.minSamples, Math.min(o.samples, fit))
}

function skippedSize(
  target: number,
  elements: number,
  stateBytes: number,
  preloadMs: number,
  warm: Float64Array,
  skipped: string,
): SetSizeResult {
  return { target, elements, stateBytes, preloadMs, warmupMs: [...warm], skipped, adds: null, raw: null, ratioToRaw: null, ratioToSmallest: null }
}
