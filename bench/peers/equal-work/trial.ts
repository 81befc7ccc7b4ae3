// One trial of the equal-work comparison: a fresh cluster of one system, each node in its
// own process, proven to replicate by a warm-up write, then each workload in turn on new
// keys. Every phase is bounded; a workload that does not converge in time is FAILED with
// the nodes that lag, and the trial goes on with the next one.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { clusterConverged, finalValueProblem, keyTimes, laggingNodes } from './judge.js'
import type { NodeInfo } from './drivers/node-driver.js'
import { NodeProcess } from './node-process.js'
import type { ViewProgress } from './node-view.js'
import { planWorkload, writersOf, type EqualWorkload, type WorkloadPlan } from './workloads.js'

export interface EqualWorkTrialSpec {
  readonly system: string
  readonly nodes: number
  /** Writes per workload, over every node. */
  readonly writes: number
  readonly workloads: readonly EqualWorkload[]
  readonly repeat: number
  /** How often a node reports its progress while it changes: the resolution of detecting convergence. */
  readonly pollMs: number
  /** Bound on loading, starting and connecting the nodes, and on the warm-up write. */
  readonly startTimeoutMs: number
  /** Bound on a workload, from its first write until converged. */
  readonly convergeTimeoutMs: number
  readonly baseDir?: string
  /** Per-system settings passed to every node (e.g. rumordb's w). */
  readonly settings?: Readonly<Record<string, string>>
  /** Writes each writer keeps in flight (1: each awaited before the next is issued). */
  readonly inFlight?: number
  /** Extra `node` flags for node i's process. */
  readonly nodeArgs?: (index: number) => readonly string[]
  /** A CPU profile of one node during one workload (from just before its first write until collected). */
  readonly profile?: { readonly node: number; readonly workload: EqualWorkload; readonly path: string }
}

export type WorkloadOutcome =
  | {
      readonly ok: true
      readonly workload: EqualWorkload
      readonly writes: number
      /** First write issued → every node held every key's final value (ms). */
      readonly convergeMs: number
      /** Per key: its last write issued → every node held its final value (ms). */
      readonly perKeyMs: readonly number[]
      /** First write issued → the last writer had applied its last write (ms). */
      readonly writeMs: number
      /** Bytes each node's TCP sockets wrote from just before the first write until converged. */
      readonly bytesSent: readonly number[]
      /** CPU time each node process used from just before the first write until converged (ms). */
      readonly cpuMs: readonly number[]
      /** Of cpuMs, the kernel's share per node (ms). */
      readonly cpuSystemMs: readonly number[]
      /** Each node process's peak RSS so far. */
      readonly peakRssBytes: readonly number[]
    }
  | { readonly ok: false; readonly workload: EqualWorkload; readonly writes: number; readonly reason: string }

export interface EqualWorkTrial {
  readonly system: string
  readonly nodes: number
  readonly repeat: number
  /** Processes loaded, nodes started and connected (ms); absent when the cluster did not start. */
  readonly startMs?: number
  /** Why the cluster did not start or did not pass the warm-up (its workloads did not run). */
  readonly failure?: string
  readonly workloads: readonly WorkloadOutcome[]
}

const STOP_TIMEOUT_MS = 15_000
const WARMUP_KEY = '__warmup'

export async function runEqualWorkTrial(spec: EqualWorkTrialSpec): Promise<EqualWorkTrial> {
  const head = { system: spec.system, nodes: spec.nodes, repeat: spec.repeat }
  const dir = mkdtempSync(join(spec.baseDir ?? tmpdir(), `rumordb-equal-${spec.system}-`))
  const procs = Array.from({ length: spec.nodes }, (_, i) => new NodeProcess(`${spec.system} node ${i}`, spec.nodeArgs?.(i) ?? []))
  try {
    const t0 = performance.now()
    try {
      await Promise.all(procs.map((p) => p.whenLoaded(spec.startTimeoutMs)))
      const infos: NodeInfo[] = []
      for (const [index, p] of procs.entries()) {
        const started = await p.request(
          { type: 'start', system: spec.system, index, nodes: spec.nodes, dir: join(dir, `node-${index}`), earlier: infos, settings: spec.settings ?? {} },
          'started',
          spec.startTimeoutMs,
        )
        infos.push(started.info)
      }
      await Promise.all(procs.map((p) => p.request({ type: 'await-ready', timeoutMs: spec.startTimeoutMs }, 'ready', spec.startTimeoutMs + 5_000)))
    } catch (err) {
      return { ...head, failure: `start: ${message(err)}`, workloads: [] }
    }
    const startMs = performance.now() - t0
    const warm: WorkloadPlan = { workload: 'burst', keys: [WARMUP_KEY], expected: [1], allowed: [[1]], writes: procs.map((_, i) => (i === 0 ? [[WARMUP_KEY, 1]] : [])), writeCount: 1 }
    const warmed = await runPlan(procs, warm, WARMUP_KEY, spec.pollMs, spec.startTimeoutMs, 1)
    if (!warmed.ok) return { ...head, startMs, failure: `warm-up: ${warmed.reason}`, workloads: [] }
    const workloads: WorkloadOutcome[] = []
    for (const workload of spec.workloads) {
      const prefix = `${workload}.${spec.repeat}`
      const profile = spec.profile?.workload === workload ? spec.profile : undefined
      workloads.push(await runPlan(procs, planWorkload(workload, spec.nodes, spec.writes, prefix), prefix, spec.pollMs, spec.convergeTimeoutMs, spec.inFlight ?? 1, profile))
    }
    return { ...head, startMs, workloads }
  } finally {
    await Promise.all(procs.map((p) => p.stop(STOP_TIMEOUT_MS)))
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  }
}

/** Watches the plan's keys on every node, sends every writer its writes at once, and waits until converged. */
async function runPlan(
  procs: readonly NodeProcess[],
  plan: WorkloadPlan,
  prefix: string,
  pollMs: number,
  timeoutMs: number,
  inFlight: number,
  profile?: { readonly node: number; readonly path: string },
): Promise<WorkloadOutcome> {
  const base = { workload: plan.workload, writes: plan.writeCount }
  const latest: ({ watch: number; progress: ViewProgress; sentAt: number } | undefined)[] = procs.map(() => undefined)
  const watchSeq: (number | undefined)[] = procs.map(() => undefined)
  const writtenAt: (number | undefined)[] = procs.map(() => undefined)
  const writers = writersOf(plan)
  let wake: () => void = () => undefined
  const current = (): (ViewProgress | undefined)[] =>
    latest.map((l, i) => {
      if (l === undefined || l.watch !== watchSeq[i]) return undefined
      // A writer's report counts only once sent after its last write applied.
      const done = writtenAt[i]
      if (writers.includes(i) && (done === undefined || l.sentAt < done)) return undefined
      return l.progress
    })
  const isConverged = (): boolean => clusterConverged(plan, current(), writers.every((w) => writtenAt[w] !== undefined))
  procs.forEach((p, i) => {
    p.onProgress = (watch, progress, sentAt) => {
      latest[i] = { watch, progress, sentAt }
      wake()
    }
  })
  try {
    const watching = await Promise.all(procs.map((p) => p.request({ type: 'watch', prefix, keys: plan.keys, expected: plan.expected, pollMs }, 'watching', timeoutMs)))
    watching.forEach((w, i) => {
      watchSeq[i] = w.seq
    })
    const profiled = profile === undefined ? undefined : procs[profile.node]
    if (profiled !== undefined) await profiled.request({ type: 'profile', action: 'start' }, 'profiled', timeoutMs)
    const t0 = performance.now()
    const deadline = t0 + timeoutMs
    const converged = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs)
      timer.unref()
      wake = () => {
        if (!isConverged()) return
        clearTimeout(timer)
        resolve(true)
      }
    })
    const written = await Promise.all(
      writers.map(async (w) => {
        const reply = await procs[w]!.request({ type: 'write', writes: plan.writes[w]!, inFlight }, 'written', Math.max(1, Math.round(deadline - performance.now())))
        writtenAt[w] = reply.doneAt
        wake()
        return { node: w, issuedAt: reply.issuedAt, doneAt: reply.doneAt }
      }),
    )
    wake()
    if (!(await converged)) return { ...base, ok: false, reason: `not converged ${timeoutMs} ms after the first write: ${laggingNodes(plan, current())}` }
    const collected = await Promise.all(procs.map((p) => p.request({ type: 'collect' }, 'collected', timeoutMs)))
    if (profiled !== undefined) await profiled.request({ type: 'profile', action: 'stop', path: profile!.path }, 'profiled', timeoutMs)
    const problem = finalValueProblem(
      plan,
      collected.map((c) => c.values),
    )
    if (problem !== null) return { ...base, ok: false, reason: `converged by the nodes' reports, but a fresh local read disagrees: ${problem}` }
    const issuedAt = procs.map((_, i) => written.find((w) => w.node === i)?.issuedAt ?? [])
    const times = keyTimes(
      plan,
      issuedAt,
      collected.map((c) => c.changedAt),
    )
    const firstIssue = Math.min(...written.flatMap((w) => w.issuedAt))
    return {
      ...base,
      ok: true,
      convergeMs: times.convergeMs,
      perKeyMs: times.perKeyMs,
      writeMs: Math.max(...written.map((w) => w.doneAt)) - firstIssue,
      bytesSent: collected.map((c) => c.bytesSent),
      cpuMs: collected.map((c) => c.cpuMs),
      cpuSystemMs: collected.map((c) => c.cpuSystemMs),
      peakRssBytes: collected.map((c) => c.peakRssBytes),
    }
  } catch (err) {
    return { ...base, ok: false, reason: message(err) }
  } finally {
    wake = () => undefined
    for (const p of procs) p.onProgress = () => undefined
  }
}

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
