// One trial of the equal-work comparison: a fresh cluster of one system, each node in its
// own process, proven to replicate by a warm-up write, then each workload in turn on new
// keys, then the counter workload at each partition length. Every phase is bounded; a
// workload that does not converge in time is FAILED with the nodes that lag, and the
// trial goes on with the next one.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { judgeCounterRun, type CounterOutcome } from './counter-judge.js'
import { otherHalf, planCounterPartition } from './counter-plan.js'
import { clusterConverged, finalValueProblem, keyTimes, laggingNodes } from './judge.js'
import type { NodeInfo } from './drivers/node-driver.js'
import { NO_COUNTER_PARTITION, type NodeSystemName } from './drivers/systems.js'
import { NodeProcess } from './node-process.js'
import type { ViewProgress } from './node-view.js'
import { epochNow, type ChildReply } from './protocol.js'
import { planWorkload, writersOf, type EqualWorkload, type KeyPlan, type WorkloadPlan } from './workloads.js'

/** The counter workload under a partition, as one trial runs it. */
export interface CounterWorkloadSpec {
  /** Partition lengths (s), each run in turn on new counters; 0: no cut. */
  readonly partitionS: readonly number[]
  /** Increments per run, over every node. */
  readonly increments: number
  readonly counters: number
  /** Seeds the plan (the same plan shape for every system, size and partition length). */
  readonly seed: number
  /** Bound on convergence, from the heal. */
  readonly healTimeoutMs: number
}

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
  /** Bound on a workload, from its first write until converged (the counter workload: from the heal). */
  readonly convergeTimeoutMs: number
  /** Also run the counter workload under a partition, after the other workloads. */
  readonly counters?: CounterWorkloadSpec
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
  /** The counter workload's runs, one per partition length, when asked for. */
  readonly counters?: readonly CounterOutcome[]
}

const STOP_TIMEOUT_MS = 15_000
const WARMUP_KEY = '__warmup'

export async function runEqualWorkTrial(spec: EqualWorkTrialSpec): Promise<EqualWorkTrial> {
  const head = { system: spec.system, nodes: spec.nodes, repeat: spec.repeat }
  const counterSpec = spec.counters
  const refused = counterSpec === undefined ? undefined : NO_COUNTER_PARTITION[spec.system as NodeSystemName]
  const notRun = (reason: string): CounterOutcome[] =>
    (counterSpec?.partitionS ?? []).map((partitionS) => ({ partitionS, increments: counterSpec?.increments ?? 0, seed: counterSpec?.seed ?? 0, ok: false, reason }))
  // A system that cannot run the counter workload, asked for nothing else, is not started.
  if (refused !== undefined && spec.workloads.length === 0) return { ...head, workloads: [], counters: notRun(`not run: ${refused}`) }
  const dir = mkdtempSync(join(spec.baseDir ?? tmpdir(), `rumordb-equal-${spec.system}-`))
  const procs = Array.from({ length: spec.nodes }, (_, i) => new NodeProcess(`${spec.system} node ${i}`, spec.nodeArgs?.(i) ?? []))
  try {
    const t0 = performance.now()
    const infos: NodeInfo[] = []
    try {
      await Promise.all(procs.map((p) => p.whenLoaded(spec.startTimeoutMs)))
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
      return { ...head, failure: `start: ${message(err)}`, workloads: [], ...(counterSpec === undefined ? {} : { counters: notRun(`cluster did not start: ${message(err)}`) }) }
    }
    const startMs = performance.now() - t0
    const warm: WorkloadPlan = { workload: 'burst', keys: [WARMUP_KEY], expected: [1], allowed: [[1]], writes: procs.map((_, i) => (i === 0 ? [[WARMUP_KEY, 1]] : [])), writeCount: 1 }
    const warmed = await drivePlan(procs, warm, WARMUP_KEY, spec.pollMs, spec.startTimeoutMs, 1)
    if (!warmed.ok) return { ...head, startMs, failure: `warm-up: ${warmed.reason}`, workloads: [], ...(counterSpec === undefined ? {} : { counters: notRun(`warm-up: ${warmed.reason}`) }) }
    const workloads: WorkloadOutcome[] = []
    for (const workload of spec.workloads) {
      const prefix = `${workload}.${spec.repeat}`
      const profile = spec.profile?.workload === workload ? spec.profile : undefined
      workloads.push(await runRegisterPlan(procs, planWorkload(workload, spec.nodes, spec.writes, prefix), prefix, spec.pollMs, spec.convergeTimeoutMs, spec.inFlight ?? 1, profile))
    }
    if (counterSpec === undefined) return { ...head, startMs, workloads }
    if (refused !== undefined) return { ...head, startMs, workloads, counters: notRun(`not run: ${refused}`) }
    const counters: CounterOutcome[] = []
    for (const partitionS of counterSpec.partitionS) counters.push(await runCounterPartition(procs, infos, spec, counterSpec, partitionS))
    return { ...head, startMs, workloads, counters }
  } finally {
    await Promise.all(procs.map((p) => p.stop(STOP_TIMEOUT_MS)))
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  }
}

/** A register workload: its outcome from what the nodes reported, times from each key's last write. */
async function runRegisterPlan(
  procs: readonly NodeProcess[],
  plan: WorkloadPlan,
  prefix: string,
  pollMs: number,
  timeoutMs: number,
  inFlight: number,
  profile?: { readonly node: number; readonly path: string },
): Promise<WorkloadOutcome> {
  const base = { workload: plan.workload, writes: plan.writeCount }
  const driven = await drivePlan(procs, plan, prefix, pollMs, timeoutMs, inFlight, profile)
  if (!driven.ok) return { ...base, ok: false, reason: driven.reason }
  const { written, collected } = driven
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
}

/**
 * The counter workload at one partition length, on new counters: node 0 creates them where
 * the system needs that (and every node must read them at 0 before the clock starts);
 * then every node is cut off from the other half, every node sends its increments at
 * once, the cut lasts `partitionS` from when it was made (longer if the increments take
 * longer), and the nodes heal. Without a cut (0 s) the heal is when the last increment
 * was applied.
 */
async function runCounterPartition(procs: readonly NodeProcess[], infos: readonly NodeInfo[], spec: EqualWorkTrialSpec, counters: CounterWorkloadSpec, partitionS: number): Promise<CounterOutcome> {
  const prefix = `counter.${spec.repeat}.${partitionS}s`
  const plan = planCounterPartition({ nodes: spec.nodes, increments: counters.increments, counters: counters.counters, seed: counters.seed, prefix })
  const head = { partitionS, increments: plan.writeCount, seed: plan.seed }
  try {
    const created = await procs[0]!.request({ type: 'create-counters', keys: plan.keys }, 'counters-created', spec.startTimeoutMs)
    if (created.created) {
      const zero = { keys: plan.keys, expected: plan.keys.map(() => 0), allowed: plan.keys.map(() => [0]), writes: procs.map(() => []), writeCount: 0 }
      const ready = await drivePlan(procs, zero, prefix, spec.pollMs, spec.startTimeoutMs, 1)
      if (!ready.ok) return { ...head, ok: false, reason: `the counters node 0 created did not reach every node: ${ready.reason}` }
    }
  } catch (err) {
    return { ...head, ok: false, reason: `creating the counters: ${message(err)}` }
  }
  let cutAt: number | null = null
  // When the last node's links were cut or healed.
  const cut = async (): Promise<number> => {
    const replies = await Promise.all(procs.map((p, i) => p.request({ type: 'cut', blocked: otherHalf(i, spec.nodes).map((j) => infos[j]!) }, 'cut-done', spec.startTimeoutMs)))
    return Math.max(...replies.map((r) => r.at))
  }
  const heal = async (): Promise<number> => {
    const replies = await Promise.all(procs.map((p) => p.request({ type: 'heal' }, 'healed', spec.startTimeoutMs)))
    return Math.max(...replies.map((r) => r.at))
  }
  const phases: DrivePhases =
    partitionS === 0
      ? { op: 'increment', after: async (lastDoneAt) => lastDoneAt }
      : {
          op: 'increment',
          before: async () => {
            cutAt = await cut()
          },
          after: async () => {
            const wait = (cutAt ?? epochNow()) + 1000 * partitionS - epochNow()
            if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
            return heal()
          },
        }
  const driven = await drivePlan(procs, plan, prefix, spec.pollMs, counters.healTimeoutMs, spec.inFlight ?? 1, undefined, phases)
  if (!driven.ok) return { ...head, ok: false, reason: driven.reason }
  const { written, collected, healAt } = driven
  return judgeCounterRun(plan, partitionS, {
    issuedAt: procs.map((_, i) => written.find((w) => w.node === i)?.issuedAt ?? []),
    lastDoneAt: Math.max(...written.map((w) => w.doneAt)),
    values: collected.map((c) => c.values),
    changedAt: collected.map((c) => c.changedAt),
    cutAt,
    healAt: healAt ?? Math.max(...written.map((w) => w.doneAt)),
    bytesSent: collected.map((c) => c.bytesSent),
    cpuMs: collected.map((c) => c.cpuMs),
    peakRssBytes: collected.map((c) => c.peakRssBytes),
  })
}

/** What happens around a plan's writes (the counter workload's cut and heal). */
interface DrivePhases {
  readonly op: 'set' | 'increment'
  /** After every node watches the keys, before the first write. */
  readonly before?: () => Promise<void>
  /** Once every writer is done (given when the last finished, epoch ms): resolves with the heal's time; the convergence bound then counts from the heal. */
  readonly after?: (lastDoneAt: number) => Promise<number>
}

type Driven =
  | { readonly ok: false; readonly reason: string }
  | {
      readonly ok: true
      readonly written: readonly { node: number; issuedAt: readonly number[]; doneAt: number }[]
      readonly collected: readonly Extract<ChildReply, { type: 'collected' }>[]
      /** What `after` resolved with. */
      readonly healAt?: number
    }

/** Watches the plan's keys on every node, sends every writer its writes at once, waits until converged and collects every node's fresh read. */
async function drivePlan(
  procs: readonly NodeProcess[],
  plan: KeyPlan,
  prefix: string,
  pollMs: number,
  timeoutMs: number,
  inFlight: number,
  profile?: { readonly node: number; readonly path: string },
  phases: DrivePhases = { op: 'set' },
): Promise<Driven> {
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
  let healed = phases.after === undefined
  const isConverged = (): boolean => healed && clusterConverged(plan, current(), writers.every((w) => writtenAt[w] !== undefined))
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
    await phases.before?.()
    let deadline = performance.now() + timeoutMs
    const written = await Promise.all(
      writers.map(async (w) => {
        const reply = await procs[w]!.request({ type: 'write', op: phases.op, writes: plan.writes[w]!, inFlight }, 'written', Math.max(1, Math.round(deadline - performance.now())))
        writtenAt[w] = reply.doneAt
        wake()
        return { node: w, issuedAt: reply.issuedAt, doneAt: reply.doneAt }
      }),
    )
    let healAt: number | undefined
    if (phases.after !== undefined) {
      healAt = await phases.after(Math.max(...written.map((w) => w.doneAt)))
      healed = true
      deadline = performance.now() + timeoutMs
    }
    const converged = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), Math.max(0, deadline - performance.now()))
      timer.unref()
      wake = () => {
        if (!isConverged()) return
        clearTimeout(timer)
        resolve(true)
      }
    })
    wake()
    const since = phases.after === undefined ? 'the first write' : 'the heal'
    if (!(await converged)) return { ok: false, reason: `not converged ${timeoutMs} ms after ${since}: ${laggingNodes(plan, current())}` }
    const collected = await Promise.all(procs.map((p) => p.request({ type: 'collect' }, 'collected', timeoutMs)))
    if (profiled !== undefined) await profiled.request({ type: 'profile', action: 'stop', path: profile!.path }, 'profiled', timeoutMs)
    const problem = finalValueProblem(
      plan,
      collected.map((c) => c.values),
    )
    if (problem !== null) return { ok: false, reason: `converged by the nodes' reports, but a fresh local read disagrees: ${problem}` }
    return { ok: true, written, collected, ...(healAt === undefined ? {} : { healAt }) }
  } catch (err) {
    return { ok: false, reason: message(err) }
  } finally {
    wake = () => undefined
    for (const p of procs) p.onProgress = () => undefined
  }
}

function message(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}
