// One trial, in this process: start a cluster of one system, prove it replicates with a
// warm-up write, then a burst of counter-like writes on node 0 and the time until every
// node holds them all. Every phase is bounded; a phase that runs out of time or throws
// ends the trial as failed, with the phase and the reason.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { PeerTimeoutError, waitFor } from '../systems/convergence.js'
import type { Cluster, PeerSystem } from '../systems/types.js'
import { SocketMeter } from './socket-meter.js'

export interface TrialSpec {
  readonly nodes: number
  /** Writes in the burst, all on node 0, each awaited before the next. */
  readonly writes: number
  /** Distinct keys the writes cycle over: write i sets key i mod keys to its count so far. */
  readonly keys: number
  /** Bound on starting the cluster and on the warm-up write's convergence, each. */
  readonly startTimeoutMs: number
  /** Bound on the burst plus its convergence. */
  readonly convergeTimeoutMs: number
  /** How often converged() is polled: the resolution of the measured time. */
  readonly pollMs: number
  /** Bound on stopping the cluster. */
  readonly stopTimeoutMs: number
}

/** What the parent asks of a trial process (harness/trial-child.ts). */
export interface ChildRequest extends TrialSpec {
  readonly system: string
  /** Where the peers' folders go; a fresh temporary folder under it is removed afterwards. */
  readonly baseDir?: string
}

/** What a trial process sends back. */
export interface ChildReply {
  readonly outcome: TrialOutcome
}

export type TrialPhase = 'start' | 'warm-up' | 'burst' | 'converge' | 'stop'

export type TrialOutcome =
  | {
      readonly ok: true
      /** Starting the cluster, until its peers were connected. */
      readonly startMs: number
      /** The warm-up write, until every node held it. */
      readonly warmupMs: number
      /** From the first write of the burst until node 0 had applied the last. */
      readonly burstMs: number
      /** From the first write of the burst until every node held every write. */
      readonly convergeMs: number
      /**
       * Of convergeMs, the time spent in converged() itself (it shares the event loop with
       * the peers): how much the measuring may have slowed the system down.
       */
      readonly checkMs: number
      /** Bytes all peers' TCP sockets wrote from the first write until convergence. */
      readonly bytesSent: number
      readonly sockets: number
      /** The trial process's peak resident set size (all its peers together). */
      readonly peakRssBytes: number
    }
  | {
      readonly ok: false
      readonly phase: TrialPhase
      readonly reason: string
      /** The burst's time, when it finished before the trial failed. */
      readonly burstMs?: number
      readonly peakRssBytes: number
    }

export const WARMUP_KEY = '__warmup'

/** The final state of the burst: key i mod keys holds the number of writes to it. */
export function burstWrites(writes: number, keys: number): Array<[string, number]> {
  const out: Array<[string, number]> = []
  for (let i = 0; i < writes; i++) out.push([`key-${i % keys}`, Math.floor(i / keys) + 1])
  return out
}

export async function runTrial(system: PeerSystem, spec: TrialSpec, dir: string): Promise<TrialOutcome> {
  const meter = new SocketMeter()
  meter.start()
  let cluster: Cluster | undefined
  let phase: TrialPhase = 'start'
  let burstMs: number | undefined
  try {
    let t = performance.now()
    cluster = await bounded(system.start(spec.nodes, dir), spec.startTimeoutMs, `${system.name} did not start ${spec.nodes} peers`)
    const startMs = performance.now() - t
    const started = cluster

    phase = 'warm-up'
    t = performance.now()
    const warm = new Map([[WARMUP_KEY, 1]])
    await started.write(0, WARMUP_KEY, 1)
    await waitFor(() => started.converged(warm), spec.startTimeoutMs, () => `the warm-up write did not reach every node in ${spec.startTimeoutMs} ms`, spec.pollMs)
    const warmupMs = performance.now() - t

    phase = 'burst'
    const writes = burstWrites(spec.writes, spec.keys)
    const expected = new Map(writes)
    const bytesBefore = meter.bytesWritten()
    const t0 = performance.now()
    const deadline = t0 + spec.convergeTimeoutMs
    const burst = async (): Promise<void> => {
      for (const [key, value] of writes) await started.write(0, key, value)
    }
    await bounded(burst(), spec.convergeTimeoutMs, `node 0 did not apply ${spec.writes} writes`)
    burstMs = performance.now() - t0

    phase = 'converge'
    let checkMs = 0
    const check = async (): Promise<boolean> => {
      const t1 = performance.now()
      try {
        return await started.converged(expected)
      } finally {
        checkMs += performance.now() - t1
      }
    }
    await waitFor(
      check,
      Math.max(0, deadline - performance.now()),
      () => `not converged ${spec.convergeTimeoutMs} ms after the first write`,
      spec.pollMs,
    )
    const convergeMs = performance.now() - t0
    // A last check that ran past the deadline does not turn a timeout into a time.
    if (convergeMs > spec.convergeTimeoutMs) throw new PeerTimeoutError(`converged only ${Math.round(convergeMs)} ms after the first write`)
    const bytesSent = meter.bytesWritten() - bytesBefore

    phase = 'stop'
    await bounded(started.stop(), spec.stopTimeoutMs, `${system.name} did not stop`)
    return { ok: true, startMs, warmupMs, burstMs, convergeMs, checkMs, bytesSent, sockets: meter.socketCount(), peakRssBytes: peakRss() }
  } catch (err) {
    let reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err)
    if (cluster !== undefined && phase === 'converge') {
      const lag = await bounded(cluster.lagging(new Map(burstWrites(spec.writes, spec.keys))), spec.stopTimeoutMs, 'lagging() hung').catch(() => '')
      if (lag !== '') reason += ` (${lag})`
    }
    if (cluster !== undefined && phase !== 'stop') await bounded(cluster.stop(), spec.stopTimeoutMs, 'stop hung').catch(() => undefined)
    return { ok: false, phase, reason, ...(burstMs === undefined ? {} : { burstMs }), peakRssBytes: peakRss() }
  } finally {
    meter.stop()
  }
}

function peakRss(): number {
  return process.resourceUsage().maxRSS * 1024
}

/** `promise`, or a PeerTimeoutError after `ms`. The timer never outlives the race. */
async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const timer = new AbortController()
  try {
    return await Promise.race([
      promise,
      sleep(ms, undefined, { signal: timer.signal }).then(() => {
        throw new PeerTimeoutError(`${what} within ${ms} ms`)
      }),
    ])
  } finally {
    timer.abort()
  }
}
