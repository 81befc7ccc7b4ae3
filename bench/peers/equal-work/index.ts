// The equal-work comparison as a library (issue 15): rumordb and the peer systems on the
// same workloads, each node of every system in its own process, writes entering through
// each system's embedded API, converged when every node reads every key's final value
// locally. Trials run one at a time, repeats interleaved across systems so that load from
// other processes on a shared machine falls on every system alike. The peers' packages
// come from bench/peers/node_modules (bench/peers/install.sh); rumordb from this repository.
import type { CounterWorkloadSpec, EqualWorkTrial } from './trial.js'
import { runEqualWorkTrial } from './trial.js'
import type { EqualWorkload } from './workloads.js'

export { EQUAL_WORKLOADS, isEqualWorkload, planWorkload, type EqualWorkload } from './workloads.js'
export { judgeEqualWork, EQUAL_WORK_GOALS, RUMORDB, type EqualWorkVerdict } from './verdict.js'
export { summarizeTrials, cellsOf, type EqualWorkRow } from './summary.js'
export type { CounterWorkloadSpec, EqualWorkTrial, WorkloadOutcome } from './trial.js'
export { COUNTER_PARTITION, planCounterPartition } from './counter-plan.js'
export { counterCells, counterLabel, summarizeCounterTrials, type CounterOutcome, type CounterRow } from './counter-judge.js'

export { NODE_SYSTEM_NAMES as EQUAL_WORK_SYSTEMS, DEFAULT_NODE_SYSTEMS as DEFAULT_EQUAL_WORK_SYSTEMS, NO_COUNTER_PARTITION, isNodeSystemName } from './drivers/systems.js'

export interface EqualWorkOptions {
  readonly systems: readonly string[]
  readonly nodes: readonly number[]
  readonly writes: number
  readonly workloads: readonly EqualWorkload[]
  /** The counter workload under a partition, when asked for (it runs after the others in each trial). */
  readonly counters?: CounterWorkloadSpec
  readonly repeats: number
  readonly pollMs: number
  readonly startTimeoutMs: number
  readonly convergeTimeoutMs: number
  /** Writes each writer keeps in flight (default 1: each awaited before the next is issued). */
  readonly inFlight?: number
  /** Per-system settings for every node, e.g. { rumordb: { w: '1' } }. */
  readonly settings?: Readonly<Record<string, Readonly<Record<string, string>>>>
  /** Extra `node` flags for node `index` of a system's cluster of `nodes` (profiles). */
  readonly nodeArgs?: (system: string, nodes: number, index: number, repeat: number) => readonly string[]
  /** Where to write a CPU profile of one node during one workload of one trial, if any. */
  readonly profileOf?: (system: string, nodes: number, repeat: number) => { node: number; workload: EqualWorkload; path: string } | undefined
  readonly baseDir?: string
  readonly onTrial?: (done: number, total: number, trial: EqualWorkTrial) => void
}

function profileSpec(options: EqualWorkOptions, system: string, nodes: number, repeat: number): { profile?: { node: number; workload: EqualWorkload; path: string } } {
  const profile = options.profileOf?.(system, nodes, repeat)
  return profile === undefined ? {} : { profile }
}

export async function runEqualWork(options: EqualWorkOptions): Promise<EqualWorkTrial[]> {
  const total = options.nodes.length * options.repeats * options.systems.length
  const trials: EqualWorkTrial[] = []
  for (const nodes of options.nodes) {
    for (let repeat = 0; repeat < options.repeats; repeat++) {
      for (const system of options.systems) {
        const trial = await runEqualWorkTrial({
          system,
          nodes,
          writes: options.writes,
          workloads: options.workloads,
          ...(options.counters === undefined ? {} : { counters: options.counters }),
          repeat,
          pollMs: options.pollMs,
          startTimeoutMs: options.startTimeoutMs,
          convergeTimeoutMs: options.convergeTimeoutMs,
          inFlight: options.inFlight ?? 1,
          settings: options.settings?.[system] ?? {},
          ...(options.nodeArgs === undefined ? {} : { nodeArgs: (i: number) => options.nodeArgs!(system, nodes, i, repeat) }),
          ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
          ...profileSpec(options, system, nodes, repeat),
        })
        trials.push(trial)
        options.onTrial?.(trials.length, total, trial)
      }
    }
  }
  return trials
}
