// A made-up convergence run of 1,000 writes on five nodes, for report and verdict tests.
import type { ConvergenceRun, ConvergenceWorkload } from '../../bench/cluster/workloads.js'

/** `fromFirstWriteMs` null makes a FAILED run; every node received `bytesReceived`. */
export function convergenceRun(workload: ConvergenceWorkload, repeat: number, fromFirstWriteMs: number | null, bytesReceived = 1): ConvergenceRun {
  return {
    workload,
    repeat,
    writes: 1000,
    acked: 1000,
    notQuorum: 0,
    failed: 0,
    writeMs: 50,
    convergeMs: fromFirstWriteMs === null ? null : fromFirstWriteMs - 50,
    fromFirstWriteMs,
    polls: 3,
    ...(fromFirstWriteMs === null ? { failure: 'not converged within 60000 ms' } : {}),
    phaseMs: fromFirstWriteMs ?? 60_000,
    bytesSent: [1, 1, 1, 1, 1],
    bytesReceived: [bytesReceived, bytesReceived, bytesReceived, bytesReceived, bytesReceived],
  }
}
