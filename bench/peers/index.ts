// The peer benchmark as a library, for rumordb's own convergence benchmark to call in the
// same run: the same workload (a burst of counter-like writes on node 0, then the time
// until every node holds them all) against other P2P databases on this machine, over
// loopback only. Their packages live in bench/peers/node_modules, installed by
// bench/peers/install.sh, never by the root `npm ci`.
//
// Each trial runs in its own process (peak RSS per system, a hung system killed), one at
// a time, repeats interleaved across systems so that load from other processes on a
// shared machine skews every system alike.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { summarize, type Summary } from '../lib/stats.js'
import { spawnTrial } from './harness/spawn-trial.js'
import type { TrialOutcome } from './harness/trial.js'
import { SYSTEM_NAMES, SYSTEMS, type SystemName } from './systems/catalog.js'

export { SYSTEM_NAMES, SYSTEMS, type SystemName } from './systems/catalog.js'
export type { TrialOutcome } from './harness/trial.js'

export const PEERS_DIR = fileURLToPath(new URL('.', import.meta.url))
const NODE_MODULES = join(PEERS_DIR, 'node_modules')

export interface PeerBenchOptions {
  readonly systems: readonly SystemName[]
  /** Cluster sizes; each system runs at each. */
  readonly nodes: readonly number[]
  /** Writes in the burst on node 0. */
  readonly writes: number
  /** Distinct keys the writes cycle over (each key's value counts its writes); defaults to `writes`. */
  readonly keys?: number
  /** Trials per system and cluster size, each on a fresh cluster in a fresh process. */
  readonly repeat: number
  /** A trial that has not converged this long after its first write is FAILED. */
  readonly convergeTimeoutMs: number
  /** Bound on starting a cluster, and on its warm-up write converging. */
  readonly startTimeoutMs: number
  /** How often convergence is polled: the resolution of the measured times. */
  readonly pollMs: number
  /** Where the peers' folders go (a fresh temporary folder per trial, removed after it). */
  readonly baseDir?: string
  /** Called after each trial, e.g. for a progress bar. */
  readonly onTrial?: (done: number, total: number, trial: PeerTrial) => void
}

export const DEFAULT_PEER_OPTIONS: PeerBenchOptions = {
  systems: SYSTEM_NAMES,
  nodes: [3, 5],
  writes: 1_000,
  repeat: 3,
  convergeTimeoutMs: 120_000,
  startTimeoutMs: 60_000,
  pollMs: 20,
}

const STOP_TIMEOUT_MS = 15_000

/** One trial: a fresh cluster, one burst. */
export interface PeerTrial {
  readonly system: SystemName
  readonly nodes: number
  readonly repeat: number
  readonly outcome: TrialOutcome
  /** What the trial process printed last; kept only for trials that failed. */
  readonly logTail?: string
}

/**
 * One row of the report: a system at one cluster size, over `repeat` trials. Times are in
 * ms from the burst's first write; a row with any failed trial has status 'failed', a
 * reason, and no numbers (a system that did not converge is never reported as a time).
 */
export interface PeerResult {
  readonly system: SystemName
  readonly packageName: string
  /** Installed version of packageName. */
  readonly version: string
  readonly topology: string
  /** What "converged" means for this system. */
  readonly convergedMeans: string
  readonly nodes: number
  readonly writes: number
  readonly keys: number
  readonly repeats: number
  readonly status: 'ok' | 'failed'
  /** For a failed row: how many trials failed, and the first one's phase and reason. */
  readonly failure?: string
  /** First write until every node held every write. */
  readonly convergeMs?: Summary
  /** First write until node 0 had applied the last. */
  readonly burstMs?: Summary
  /** Of convergeMs, the time spent in the convergence checks themselves. */
  readonly checkMs?: Summary
  /** Bytes all peers wrote to their TCP sockets from the first write until convergence. */
  readonly bytesSent?: Summary
  /** Largest peak RSS of a trial process (all n peers of the cluster share one process). */
  readonly peakRssBytes: number
  readonly trials: readonly PeerTrial[]
}

/** Packages bench/peers/install.sh must have installed; empty when all are there. */
export function missingPeerPackages(systems: readonly SystemName[] = SYSTEM_NAMES): string[] {
  return systems.map((s) => SYSTEMS[s].packageName).filter((name) => !existsSync(join(NODE_MODULES, name, 'package.json')))
}

export function installedVersion(packageName: string): string {
  try {
    const json = JSON.parse(readFileSync(join(NODE_MODULES, packageName, 'package.json'), 'utf8')) as { version?: unknown }
    return String(json.version ?? 'unknown')
  } catch {
    return 'not installed'
  }
}

export class PeersNotInstalledError extends Error {
  override readonly name = 'PeersNotInstalledError'
}

export async function runPeerBenchmark(partial: Partial<PeerBenchOptions> = {}): Promise<PeerResult[]> {
  const options: PeerBenchOptions = { ...DEFAULT_PEER_OPTIONS, ...partial }
  const missing = missingPeerPackages(options.systems)
  if (missing.length > 0) {
    throw new PeersNotInstalledError(`${missing.join(', ')} not installed in bench/peers: run bench/peers/install.sh (or npm run bench:peers)`)
  }
  const keys = options.keys ?? options.writes
  const total = options.systems.length * options.nodes.length * options.repeat
  const trials: PeerTrial[] = []
  for (const nodes of options.nodes) {
    for (let repeat = 1; repeat <= options.repeat; repeat++) {
      for (const system of options.systems) {
        const { outcome, logTail } = await spawnTrial({
          system,
          nodes,
          writes: options.writes,
          keys,
          startTimeoutMs: options.startTimeoutMs,
          convergeTimeoutMs: options.convergeTimeoutMs,
          pollMs: options.pollMs,
          stopTimeoutMs: STOP_TIMEOUT_MS,
          ...(options.baseDir === undefined ? {} : { baseDir: options.baseDir }),
        })
        const trial: PeerTrial = { system, nodes, repeat, outcome, ...(outcome.ok ? {} : { logTail }) }
        trials.push(trial)
        options.onTrial?.(trials.length, total, trial)
      }
    }
  }
  const results: PeerResult[] = []
  for (const system of options.systems) {
    for (const nodes of options.nodes) {
      const mine = trials.filter((t) => t.system === system && t.nodes === nodes)
      results.push(summarizeRow(system, nodes, options.writes, keys, mine))
    }
  }
  return results
}

function summarizeRow(system: SystemName, nodes: number, writes: number, keys: number, trials: readonly PeerTrial[]): PeerResult {
  const info = SYSTEMS[system]
  const base = {
    system,
    packageName: info.packageName,
    version: installedVersion(info.packageName),
    topology: info.topology,
    convergedMeans: info.convergedMeans,
    nodes,
    writes,
    keys,
    repeats: trials.length,
    peakRssBytes: Math.max(0, ...trials.map((t) => t.outcome.peakRssBytes)),
    trials,
  }
  const ok: Array<Extract<TrialOutcome, { ok: true }>> = []
  const failed: Array<Extract<TrialOutcome, { ok: false }>> = []
  for (const t of trials) {
    if (t.outcome.ok) ok.push(t.outcome)
    else failed.push(t.outcome)
  }
  const first = failed[0]
  if (first !== undefined || ok.length === 0) {
    const why = first === undefined ? 'no trial ran' : `${first.phase}: ${first.reason}`
    return { ...base, status: 'failed', failure: `${failed.length}/${trials.length} trials failed; first in ${why}` }
  }
  return {
    ...base,
    status: 'ok',
    convergeMs: summarize(ok.map((o) => o.convergeMs)),
    burstMs: summarize(ok.map((o) => o.burstMs)),
    checkMs: summarize(ok.map((o) => o.checkMs)),
    bytesSent: summarize(ok.map((o) => o.bytesSent)),
  }
}
