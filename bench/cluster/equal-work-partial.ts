// rumordb's own numbers beside the equal-work comparison: the cluster benchmark's runs as
// before issue 15 (real `rumordb start` processes, partial replication n = 3, a client in
// another process speaking HTTP with quorum writes, converged when every replica set's
// digests agree), on the same number of writes, in the same run. Reported, never judged:
// they are not equal work.
import { performance } from 'node:perf_hooks'
import { seededRandom } from '../../src/base/random.js'
import { LocalCluster } from './local-cluster.js'
import { ExpectedCounters } from './workload.js'
import { KeyLedger, runConvergence, type ConvergenceRun, type ConvergenceWorkload } from './workloads.js'

/** The partial-replication workloads shown: the two ways of sending the burst, and writers on every node. */
export const PARTIAL_WORKLOADS = ['burst-batched', 'burst', 'concurrent'] as const satisfies readonly ConvergenceWorkload[]
export type PartialWorkload = (typeof PARTIAL_WORKLOADS)[number]

export interface PartialOptions {
  readonly nodes: readonly number[]
  readonly writes: number
  readonly repeats: number
  readonly pollMs: number
  readonly timeoutMs: number
  /** Replicas per key and the quorums, as the cluster benchmark's defaults (3, 2, 2). */
  readonly n: number
  readonly r: number
  readonly w: number
}

export interface PartialResult {
  readonly nodes: number
  readonly error?: string
  /** First write sent → converged (ms), per run; null for a FAILED run. */
  readonly runs: readonly { readonly workload: PartialWorkload; readonly repeat: number; readonly fromFirstWriteMs: number | null; readonly failure?: string }[]
}

const CONCURRENCY = 16
const BATCH_SIZE = 100
const BATCH_CONCURRENCY = 2

export async function runPartialReplication(o: PartialOptions, onRun?: (nodes: number, run: ConvergenceRun) => void): Promise<PartialResult[]> {
  const results: PartialResult[] = []
  for (const nodes of o.nodes) {
    let cluster: LocalCluster
    try {
      cluster = await LocalCluster.start({ nodes, n: o.n, r: o.r, w: o.w, connections: CONCURRENCY, startTimeoutMs: 90_000, joinTimeoutMs: 90_000 })
    } catch (err) {
      results.push({ nodes, error: `cluster did not start: ${(err as Error).message.split('\n')[0]}`, runs: [] })
      continue
    }
    const runs: PartialResult['runs'][number][] = []
    let error: string | undefined
    try {
      const ctx = {
        cluster,
        settings: {
          writes: o.writes,
          // One key per write, register values: the shape of the equal-work writes.
          keys: o.writes,
          types: ['lww' as const],
          concurrency: CONCURRENCY,
          batchSize: BATCH_SIZE,
          batchConcurrency: BATCH_CONCURRENCY,
          seed: 1,
          pollIntervalMs: o.pollMs,
          timeoutMs: o.timeoutMs,
          heal: true,
        },
        ledger: new KeyLedger(),
        counters: new ExpectedCounters(),
        random: seededRandom(1),
      }
      const t0 = performance.now()
      await runConvergence({ ...ctx, settings: { ...ctx.settings, writes: 1, keys: 1 } }, 'burst', -1) // warm-up, untimed
      if (performance.now() - t0 > o.timeoutMs) throw new Error('the warm-up write took longer than the timeout')
      for (let repeat = 0; repeat < o.repeats; repeat++) {
        for (const workload of PARTIAL_WORKLOADS) {
          const run = await runConvergence(ctx, workload, repeat)
          onRun?.(nodes, run)
          runs.push({ workload, repeat, fromFirstWriteMs: run.fromFirstWriteMs, ...(run.failure === undefined ? {} : { failure: run.failure }) })
        }
      }
    } catch (err) {
      error = `run aborted: ${(err as Error).message.split('\n')[0]}`
    } finally {
      await cluster.stop()
    }
    results.push({ nodes, runs, ...(error === undefined ? {} : { error }) })
  }
  return results
}

/** How the partial-replication runs sent each workload, as the reports label them. */
export function partialLabel(workload: PartialWorkload, o: Pick<PartialOptions, 'n' | 'w'>): string {
  const head = `rumordb partial replication (n = ${o.n}, w = ${o.w}, HTTP client)`
  switch (workload) {
    case 'burst-batched':
      return `${head}: burst in POST /v1/batch of ${BATCH_SIZE}, ${BATCH_CONCURRENCY} in flight`
    case 'burst':
      return `${head}: burst, 1 request per write, ${CONCURRENCY} in flight`
    case 'concurrent':
      return `${head}: writes spread over every node, ${CONCURRENCY} in flight`
  }
}
