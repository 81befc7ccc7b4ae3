// --with-peers: the peer systems of bench/peers (OrbitDB, Automerge Repo, GUN) run in the
// cluster benchmark's own run, on its burst (same cluster sizes, writes, keys and poll
// interval), so rumordb's burst and theirs share the machine, its load and the build.
// Their results go to the file `npm run bench:peers` writes, in its shape, and are read
// back through the same loader as an older file.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { machineInfo } from '../lib/machine.js'
import { startProgress } from '../lib/progress.js'
import { writeReport } from '../lib/report.js'
import { installedVersion, PEERS_DIR, PeersNotInstalledError, runPeerBenchmark, SYSTEMS, type PeerTrial } from '../peers/index.js'
import type { PeerCliOptions, PeerReport } from '../peers/run.js'
import type { SystemName } from '../peers/systems/catalog.js'
import type { ClusterBenchOptions } from './options.js'
import { readPeerResults, type PeerResults } from './peer-results.js'

export { PeersNotInstalledError }

const PEERS_NODE_MODULES = join(PEERS_DIR, 'node_modules')
const INSTALL_HINT = 'run `bash bench/peers/install.sh` (or `npm run bench:peers`, which installs them first), or drop --with-peers'

/** Why the peer systems cannot run, or null when bench/peers holds every package they need. */
export function peersInstallProblem(systems: readonly SystemName[], nodeModules = PEERS_NODE_MODULES): string | null {
  if (!existsSync(nodeModules)) return `--with-peers: bench/peers is not installed (${nodeModules} does not exist): ${INSTALL_HINT}`
  const missing = systems.map((s) => SYSTEMS[s].packageName).filter((name) => !existsSync(join(nodeModules, name, 'package.json')))
  return missing.length === 0 ? null : `--with-peers: ${missing.join(', ')} not installed in bench/peers: ${INSTALL_HINT}`
}

/** Throws PeersNotInstalledError (its message says what to run) unless the peers can run. */
export function assertPeersInstalled(systems: readonly SystemName[], nodeModules = PEERS_NODE_MODULES): void {
  const problem = peersInstallProblem(systems, nodeModules)
  if (problem !== null) throw new PeersNotInstalledError(problem)
}

/** The options the peer benchmark gets from the cluster benchmark's, as its file records them. */
export function peerOptionsOf(options: ClusterBenchOptions): PeerCliOptions {
  return {
    systems: options.peerSystems,
    nodes: options.nodes,
    writes: options.writes,
    // rumordb's burst spreads its writes over `keys` keys: the peers' burst does too.
    keys: Math.min(options.keys, options.writes),
    repeat: options.peerRepeats,
    convergeTimeoutMs: options.peerTimeoutMs,
    startTimeoutMs: 60_000,
    pollMs: options.pollIntervalMs,
    install: false,
    out: options.outDir,
    progress: options.progress,
  }
}

/** Runs the peers on this run's burst, writes `<out>/<date>-peers.json` and returns its results. */
export async function runPeersInRun(options: ClusterBenchOptions): Promise<PeerResults> {
  assertPeersInstalled(options.peerSystems)
  const o = peerOptionsOf(options)
  const date = new Date().toISOString()
  const machine = machineInfo()
  const total = o.systems.length * o.nodes.length * o.repeat
  const bar = startProgress('peers: trials', total, options.progress)
  let rows
  try {
    rows = await runPeerBenchmark({
      ...o,
      onTrial: (done, all, trial) => {
        bar.update(done)
        if (!options.progress) console.error(`peers: ${done}/${all} ${describeTrial(trial)}`)
      },
    })
  } finally {
    bar.stop()
  }
  const versions = Object.fromEntries(o.systems.map((s) => [SYSTEMS[s].packageName, installedVersion(SYSTEMS[s].packageName)]))
  const report: PeerReport = { benchmark: 'peers', date, options: o, machine, machineAfter: machineInfo(), results: { versions, rows } }
  return readPeerResults(writeReport(options.outDir, report), true)
}

function describeTrial(t: PeerTrial): string {
  const head = `${t.system} n=${t.nodes} #${t.repeat}`
  const o = t.outcome
  return o.ok ? `${head}: converged in ${Math.round(o.convergeMs)} ms (burst ${Math.round(o.burstMs)} ms)` : `${head}: FAILED in ${o.phase}: ${o.reason}`
}
