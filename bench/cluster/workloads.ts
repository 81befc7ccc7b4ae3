// The cluster benchmark's workloads on a running LocalCluster: a burst on one node (one
// request per write, or the same writes in batches), concurrent writers on every node,
// writes on both sides of a partition then a heal, each timed until the cluster converges;
// and quorum read/write latency at each level.
import { KeyLedger } from './key-ledger.js'
import { performance } from 'node:perf_hooks'
import type { CrdtTypeName } from '../../crdts/index.js'
import { seededRandom, type Random } from '../../src/base/random.js'
import { runConcurrent } from '../lib/load.js'
import { percentile } from '../lib/stats.js'
import { waitForConvergence } from './convergence.js'
import type { JsonResponse } from './http-json.js'
import type { LocalCluster, NodeCounters } from './local-cluster.js'
import { sendBatches, sendWrites } from './send-writes.js'
import { ExpectedCounters, makeWrites, type Write } from './workload.js'

/**
 * burst: W writes on node 0, one POST /v1/kv/:key each; burst-batched: the same writes on
 * node 0 in POST /v1/batch requests (how a bulk client is meant to write).
 */
export type ConvergenceWorkload = 'burst' | 'burst-batched' | 'concurrent' | 'partition'
export const CONVERGENCE_WORKLOADS: readonly ConvergenceWorkload[] = ['burst', 'burst-batched', 'concurrent', 'partition']
/** The two ways of sending the burst, as the report names them. */
export const BURST_WORKLOADS = ['burst', 'burst-batched'] as const satisfies readonly ConvergenceWorkload[]

export interface WorkloadSettings {
  readonly writes: number
  readonly keys: number
  readonly types: readonly CrdtTypeName[]
  /** Writes in flight at once (one request each). */
  readonly concurrency: number
  /** burst-batched: writes per POST /v1/batch, and batches in flight at once. */
  readonly batchSize: number
  readonly batchConcurrency: number
  /** Seeds the burst's writes, so burst and burst-batched run r send the same writes. */
  readonly seed: number
  readonly pollIntervalMs: number
  readonly timeoutMs: number
  /** Partition runs only: heal after the writes (false only to prove a FAILED run is reported). */
  readonly heal: boolean
}

export interface ConvergenceRun {
  readonly workload: ConvergenceWorkload
  readonly repeat: number
  readonly writes: number
  /** Writes acknowledged (answered 200, or ok: true in a batch), and of those the ones that reported quorum: false. */
  readonly acked: number
  readonly notQuorum: number
  /** Writes answered with an error or ok: false (their outcome is unknown). */
  readonly failed: number
  /** HTTP requests the writes took (burst-batched: one per batch); absent in results written before it was recorded. */
  readonly requests?: number
  /** First write sent → last write answered. */
  readonly writeMs: number
  /** Last acknowledged write (partition: the heal) → converged; null when it did not (FAILED). */
  readonly convergeMs: number | null
  /** First write sent → converged (what the peer benchmark measures); null when FAILED. */
  readonly fromFirstWriteMs: number | null
  readonly polls: number
  /** Why the run FAILED. */
  readonly failure?: string
  /** First write sent → convergence found (or the timeout). */
  readonly phaseMs: number
  /** Engine frame bytes each node sent and received during the phase. */
  readonly bytesSent: readonly number[]
  readonly bytesReceived: readonly number[]
  /** Nodes on each side of the cut (partition runs). */
  readonly groups?: readonly (readonly number[])[]
}

export interface RunContext {
  readonly cluster: LocalCluster
  readonly settings: WorkloadSettings
  readonly ledger: KeyLedger
  readonly counters: ExpectedCounters
  readonly random: Random
  readonly onProgress?: (done: number) => void
}

/**
 * The writes of run `repeat` of `workload`, on new keys `<workload>.<repeat>-<k>`. Both
 * bursts draw from a generator seeded by (seed, repeat), not from `random`: run r of burst
 * and of burst-batched send the same writes to the same key numbers, only the prefix differs.
 */
export function convergenceWrites(
  settings: Pick<WorkloadSettings, 'writes' | 'keys' | 'types' | 'seed'>,
  workload: ConvergenceWorkload,
  repeat: number,
  random: Random,
): Write[] {
  const isBurst = workload === 'burst' || workload === 'burst-batched'
  const from = isBurst ? seededRandom((settings.seed ^ Math.imul(repeat + 2, 0x9e3779b1)) >>> 0) : random
  return makeWrites(`${workload}.${repeat}`, settings.writes, settings.keys, settings.types, from)
}

/** One timed convergence run of `workload` (its keys are new: `<workload>.<repeat>-<k>`). */
export async function runConvergence(ctx: RunContext, workload: ConvergenceWorkload, repeat: number): Promise<ConvergenceRun> {
  const { cluster, settings, ledger } = ctx
  const nodes = cluster.nodes.length
  const isBurst = workload === 'burst' || workload === 'burst-batched'
  const writes = convergenceWrites(settings, workload, repeat, ctx.random)
  // Both sides of the cut keep at least one node; node 0 is on the larger side.
  const groups = workload === 'partition' ? split(nodes) : undefined
  const before = await cluster.counters()
  const started = performance.now()
  if (groups !== undefined) await cluster.partition(groups)
  const firstWrite = performance.now()
  const sent =
    workload === 'burst-batched'
      ? await sendBatches(cluster.clients[0]!, writes, settings.batchSize, settings.batchConcurrency, ledger, ctx.counters, ctx.onProgress)
      : await sendWrites(cluster.clients, writes, isBurst ? () => 0 : (i) => i % nodes, settings.concurrency, ledger, ctx.counters, ctx.onProgress)
  let since = sent.lastAck
  if (groups !== undefined && settings.heal) {
    await cluster.heal()
    since = performance.now()
  }
  const keys = ledger.count
  const outcome =
    sent.acked === 0
      ? ({ converged: false, ms: null, polls: 0, reason: `no write was acknowledged (first error ${sent.firstError ?? 'none'})` } as const)
      : await waitForConvergence(
          { ids: cluster.ids, syncViews: () => cluster.syncViews(), pendingHints: () => cluster.pendingHints() },
          { expectedKeys: keys, since, intervalMs: settings.pollIntervalMs, timeoutMs: settings.timeoutMs },
        )
  const phaseMs = performance.now() - started
  const after = await cluster.counters()
  if (groups !== undefined && !settings.heal) await cluster.heal() // leave the cluster whole for what follows
  return {
    workload,
    repeat,
    writes: writes.length,
    acked: sent.acked,
    notQuorum: sent.notQuorum,
    failed: sent.failed,
    requests: sent.requests,
    writeMs: sent.ms,
    convergeMs: outcome.converged ? outcome.ms : null,
    fromFirstWriteMs: outcome.converged ? since + outcome.ms - firstWrite : null,
    polls: outcome.polls,
    ...(outcome.converged ? {} : { failure: outcome.reason }),
    phaseMs,
    bytesSent: delta(before, after, 'bytesSent'),
    bytesReceived: delta(before, after, 'bytesReceived'),
    ...(groups === undefined ? {} : { groups }),
  }
}

/** Nodes 0 … ⌈N/2⌉−1 on one side, the rest on the other. */
export function split(nodes: number): number[][] {
  const cut = Math.ceil(nodes / 2)
  return [Array.from({ length: cut }, (_, i) => i), Array.from({ length: nodes - cut }, (_, i) => cut + i)]
}

function delta(before: readonly NodeCounters[], after: readonly NodeCounters[], field: 'bytesSent' | 'bytesReceived'): number[] {
  return after.map((a, i) => a[field] - (before[i]?.[field] ?? 0))
}

export interface LatencySummary {
  readonly count: number
  /** Requests answered with an error (reads: other than 404). */
  readonly errors: number
  /** Reads answered 404: the replicas asked did not have the key yet (a stale read, allowed in an AP store at low r/w). */
  readonly notFound: number
  readonly firstError?: string
  readonly mean: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
  /** Operations per second with `clients` in flight. */
  readonly opsPerSecond: number
}

export interface LatencyResult {
  /** w for writes and r for reads. */
  readonly level: number
  readonly clients: number
  readonly write: LatencySummary
  readonly read: LatencySummary
}

/**
 * `samples` writes with ?w=level, then `samples` reads with ?r=level of the same keys,
 * `clients` in flight, spread over every node. Milliseconds per request as the client saw it.
 */
export async function runLatency(
  ctx: RunContext,
  level: number,
  samples: number,
  clients: number,
  onProgress?: (done: number) => void,
): Promise<LatencyResult> {
  const { cluster } = ctx
  const nodes = cluster.nodes.length
  const writes = makeWrites(`lat.w${level}`, samples, Math.max(ctx.settings.types.length, Math.min(200, samples)), ctx.settings.types, ctx.random)
  const timed = async (op: (i: number) => Promise<JsonResponse>, offset: number, isRead: boolean): Promise<LatencySummary> => {
    const ms = new Float64Array(samples)
    let errors = 0
    let notFound = 0
    let firstError: string | undefined
    const elapsed = await runConcurrent(
      samples,
      clients,
      async (i) => {
        const t0 = performance.now()
        let res: JsonResponse
        try {
          res = await op(i)
        } catch (err) {
          res = { status: 0, body: (err as Error).message }
        }
        ms[i] = performance.now() - t0
        if (res.status === 200) return
        if (isRead && res.status === 404) notFound++
        else {
          errors++
          firstError ??= `${res.status}: ${JSON.stringify(res.body).slice(0, 200)}`
        }
      },
      { onProgress: (done) => onProgress?.(offset + done), progressEvery: 32 },
    )
    return { ...summarizeLatency(ms, elapsed), errors, notFound, ...(firstError === undefined ? {} : { firstError }) }
  }
  const write = await timed(async (i) => {
    const w = writes[i] as Write
    const res = await cluster.clients[i % nodes]!.request('POST', `/v1/kv/${encodeURIComponent(w.key)}?w=${level}`, w.body)
    ctx.ledger.record(w.key, res.status === 200)
    ctx.counters.record(w, res.status === 200)
    return res
  }, 0, false)
  const read = await timed((i) => cluster.clients[(i + 1) % nodes]!.request('GET', `/v1/kv/${encodeURIComponent((writes[i] as Write).key)}?r=${level}`), samples, true)
  return { level, clients, write, read }
}

function summarizeLatency(ms: Float64Array, elapsedMs: number): Omit<LatencySummary, 'errors' | 'notFound' | 'firstError'> {
  const sorted = Float64Array.from(ms).sort()
  let sum = 0
  for (const v of sorted) sum += v
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] as number,
    opsPerSecond: (sorted.length * 1000) / elapsedMs,
  }
}

export interface CounterCheck {
  readonly checked: number
  readonly mismatches: readonly { readonly key: string; readonly expected: number; readonly got: unknown }[]
}

/**
 * After convergence: up to `limit` counter keys read back with r = n from node `i % N` must
 * hold exactly the sum of their acknowledged writes (no acknowledged write lost, none twice).
 */
export async function verifyCounters(ctx: RunContext, n: number, limit: number): Promise<CounterCheck> {
  const known = ctx.counters.known()
  const picked = known.length <= limit ? known : Array.from({ length: limit }, (_, i) => known[Math.floor((i * known.length) / limit)] as [string, number])
  const mismatches: { key: string; expected: number; got: unknown }[] = []
  const nodes = ctx.cluster.nodes.length
  await runConcurrent(picked.length, 4, async (i) => {
    const [key, expected] = picked[i] as [string, number]
    const res = await ctx.cluster.clients[i % nodes]!.request('GET', `/v1/kv/${encodeURIComponent(key)}?r=${Math.min(n, nodes)}`)
    const got = res.status === 200 ? (res.body as { value?: unknown }).value : `HTTP ${res.status}`
    if (got !== expected) mismatches.push({ key, expected, got })
  })
  return { checked: picked.length, mismatches }
}

export { KeyLedger }
