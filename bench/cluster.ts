// `npm run bench -- cluster [--quick] [--nodes 3,5,10] [--writes 1000] [--types all] …`
// (also `rumordb bench cluster …`)
//
// rumordb as a real cluster: `rumordb start` processes on 127.0.0.1, bootstrapped from the
// first one, driven over their HTTP API. For each cluster size:
//   (1) burst: W writes on one node, then the time from the last acknowledged write until
//       every replica set's members report equal digests (GET /v1/sync, polled); once with
//       one request per write (burst) and once with the same writes in POST /v1/batch
//       requests (burst-batched);
//   (2) concurrent: W writes spread over every node, same measure;
//   (3) partition: the nodes split in two (fault injection), W writes on both sides, heal,
//       then the time from the heal until converged;
//   (4) quorum write and read latency (p50/p95/p99) and throughput at w/r = 1, 2, 3.
// It also records engine bytes sent and received per node and each process's peak RSS.
// A run that does not converge within the timeout is FAILED, never a number. Writes raw
// numbers to <out>/<date>-cluster.json, a Markdown report to <date>-cluster.md and SVG
// plots to <date>-cluster-*.svg. With --with-peers the peer systems (bench/peers) run the
// same burst after rumordb's clusters stop and write <date>-peers.json; without it the
// newest such file (`npm run bench:peers`) is shown as another run's numbers, not judged.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { seededRandom } from '../src/base/random.js'
import { machineInfo } from './lib/machine.js'
import { startProgress } from './lib/progress.js'
import { writeReport } from './lib/report.js'
import { GOALS } from './cluster/goals.js'
import { parseOptions, USAGE, type ClusterBenchOptions } from './cluster/options.js'
import { LocalCluster } from './cluster/local-cluster.js'
import { loadPeerResults } from './cluster/peer-results.js'
import { assertPeersInstalled, PeersNotInstalledError, runPeersInRun } from './cluster/peers-in-run.js'
import { buildPlots, type RumordbSeries } from './cluster/plots.js'
import { formatMarkdown, formatReport, judgeGoals } from './cluster/report.js'
import { ExpectedCounters, makeWrites, meanDeltaBytes } from './cluster/workload.js'
import {
  CONVERGENCE_WORKLOADS,
  KeyLedger,
  runConvergence,
  runLatency,
  verifyCounters,
  type ConvergenceRun,
  type ConvergenceWorkload,
  type CounterCheck,
  type LatencyResult,
  type RunContext,
} from './cluster/workloads.js'
import type { PeerResults } from './cluster/peer-results.js'
import { benchMain } from './lib/bench-main.js'

export { GOALS }
export type { ClusterReport, ClusterResults, NodeCountResult } from './cluster/types.js'
import type { ClusterReport, ClusterResults, NodeCountResult } from './cluster/types.js'
export { parseOptions, USAGE, type ClusterBenchOptions, type Workload } from './cluster/options.js'
export { formatMarkdown, formatReport } from './cluster/report.js'

export async function main(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE)
    return
  }
  // The equal-work peer comparison (issue 15) is its own run: bench/equal-work.ts.
  if (args.includes('--equal-work')) {
    await (await import('./equal-work.js')).main(args)
    return
  }
  const renderAt = args.indexOf('--render')
  if (renderAt >= 0) {
    const file = args[renderAt + 1]
    const outAt = args.indexOf('--out')
    if (file === undefined || file.startsWith('--')) throw new RangeError(`--render takes the <date>-cluster.json to redraw\n${USAGE}`)
    const report = renderClusterReport(file, outAt >= 0 ? args[outAt + 1] : undefined)
    console.log(formatReport(report))
    console.log(`\nrendered from: ${file}`)
    for (const line of [`report:  ${report.results.markdown}`, ...report.results.plots.map((p) => `plot:    ${p}`)]) console.log(line)
    return
  }
  try {
    await benchMain(args, {
      usage: USAGE,
      parse: parseOptions,
      run: runClusterBenchmark,
      format: formatReport,
      outputs: (report) => [
        ...(report.results.markdown !== null ? [`report:  ${report.results.markdown}`] : []),
        ...(report.results.peers?.ranInThisRun === true ? [`peers:   ${report.results.peers.file}`] : []),
        ...report.results.plots.map((plot) => `plot:    ${plot}`),
      ],
    })
  } catch (err) {
    if (!(err instanceof PeersNotInstalledError)) throw err
    console.error(err.message)
    process.exitCode = 1
  }
}

export async function runClusterBenchmark(options: ClusterBenchOptions): Promise<{ report: ClusterReport; path: string }> {
  // Before any cluster starts: a missing install must not cost a whole rumordb run.
  if (options.withPeers) assertPeersInstalled(options.peerSystems)
  const date = new Date().toISOString()
  const machine = { ...machineInfo(), packages: installedVersions(['libp2p', '@chainsafe/libp2p-gossipsub', '@chainsafe/libp2p-yamux', 'better-sqlite3', 'fastify']) }
  const random = seededRandom(options.seed)
  // The yardstick for bytes per update: the deltas of a burst like the measured ones.
  const sample = makeWrites('delta', options.writes, options.keys, options.types, seededRandom(options.seed))
  const actors = Array.from({ length: 8 }, (_, i) => `actor-${String(i).padStart(10, '0')}`) // 16 characters, like rumordb's
  const deltaBytes = meanDeltaBytes(sample, actors, seededRandom(options.seed))

  const nodeCounts: NodeCountResult[] = []
  for (const nodes of options.nodes) nodeCounts.push(await runNodeCount(options, nodes, random))

  let peers: PeerResults | null = null
  let peersError: string | undefined
  if (options.withPeers) {
    try {
      peers = await runPeersInRun(options)
    } catch (err) {
      peersError = `--with-peers did not run: ${(err as Error).message.split('\n')[0]}`
    }
  } else {
    peers = loadPeerResults(options.outDir, options.peersFile)
  }
  // The plots are written before the report, which would otherwise be the first to create it.
  mkdirSync(options.outDir, { recursive: true })
  const plots = options.plots ? writePlots(options, nodeCounts, peers, date, machine.cores, machine.node, options.outDir) : []
  const verdicts = judgeGoals(options, nodeCounts, deltaBytes, peers)
  const markdownPath = join(options.outDir, `${date.slice(0, 10)}-cluster.md`)
  const results: ClusterResults = { goals: GOALS, deltaBytes, nodeCounts, peers, ...(peersError === undefined ? {} : { peersError }), verdicts, plots, markdown: markdownPath }
  const report: ClusterReport = { benchmark: 'cluster', date, options, machine, machineAfter: machineInfo(), results }
  const path = writeReport(options.outDir, report)
  writeFileSync(markdownPath, formatMarkdown(report))
  return { report, path }
}

function writePlots(
  options: ClusterBenchOptions,
  nodeCounts: readonly NodeCountResult[],
  peers: PeerResults | null,
  date: string,
  cores: number,
  node: string,
  outDir: string,
): string[] {
  if (!nodeCounts.some((r) => r.runs.length + r.latency.length > 0)) return []
  const series = nodeCounts.map((r) => seriesOf(r, options))
  const context = `rumordb ${rumordbVersion()}, n=${options.n} w=${options.w} r=${options.r}, types ${options.types.join('/')}; 127.0.0.1, ${cores} cores, node ${node}, ${date.slice(0, 10)}`
  const peersFrom = peers === null || peers.ranInThisRun ? null : `${basename(peers.file)}, ${peers.date?.slice(0, 10) ?? 'date unknown'}`
  return buildPlots(series, peers?.entries ?? [], context, peersFrom).map((plot) => {
    const path = join(outDir, `${date.slice(0, 10)}-${plot.name}`)
    writeFileSync(path, `${plot.svg}\n`)
    return path
  })
}

/**
 * Redraws the Markdown report and the plots of an earlier run from its JSON (next to it,
 * or into `outDir`), without rerunning anything; the JSON itself is not rewritten.
 */
export function renderClusterReport(file: string, outDir = dirname(file)): ClusterReport {
  const report = JSON.parse(readFileSync(file, 'utf8')) as ClusterReport
  if (report.benchmark !== 'cluster' || !Array.isArray(report.results?.nodeCounts)) {
    throw new Error(`${file} is not a cluster benchmark result (benchmark: ${JSON.stringify((report as { benchmark?: unknown }).benchmark)})`)
  }
  mkdirSync(outDir, { recursive: true })
  const { results, options, machine, date } = report
  const plots = options.plots ? writePlots(options, results.nodeCounts, results.peers, date, machine.cores, machine.node, outDir) : []
  const markdown = join(outDir, `${date.slice(0, 10)}-cluster.md`)
  const rendered: ClusterReport = { ...report, results: { ...results, plots, markdown } }
  writeFileSync(markdown, formatMarkdown(rendered))
  return rendered
}

async function runNodeCount(options: ClusterBenchOptions, nodes: number, random: ReturnType<typeof seededRandom>): Promise<NodeCountResult> {
  const replicas = Math.min(options.n, nodes)
  const empty = { nodes, replicas, warmup: null, idle: null, runs: [], latency: [], counters: null, peakRssBytes: [] }
  const starting = startProgress(`${nodes} nodes: starting`, nodes, options.progress)
  const t0 = performance.now()
  let cluster: LocalCluster
  try {
    cluster = await LocalCluster.start({
      nodes,
      n: options.n,
      r: options.r,
      w: options.w,
      connections: Math.max(options.concurrency, options.clients),
      startTimeoutMs: 90_000,
      joinTimeoutMs: 90_000,
      onNodeReady: (ready) => starting.update(ready),
    })
  } catch (err) {
    return { ...empty, startMs: null, error: `cluster did not start: ${(err as Error).message.split('\n')[0]}` }
  } finally {
    starting.stop()
  }
  const startMs = performance.now() - t0
  const stopOnSignal = (): void => {
    void cluster.stop().finally(() => process.exit(130))
  }
  process.once('SIGINT', stopOnSignal)
  // Whatever was measured before an unexpected error (a node crashed, HTTP failed) is kept.
  let warmup: NodeCountResult['warmup'] = null
  let idle: NodeCountResult['idle'] = null
  const runs: ConvergenceRun[] = []
  const latency: LatencyResult[] = []
  let counters: CounterCheck | null = null
  let error: string | undefined
  let peakRssBytes: (number | null)[] = []
  try {
    const ctx: RunContext = {
      cluster,
      settings: {
        writes: options.writes,
        keys: options.keys,
        types: options.types,
        concurrency: options.concurrency,
        batchSize: options.batchSize,
        batchConcurrency: options.batchConcurrency,
        seed: options.seed,
        pollIntervalMs: options.pollIntervalMs,
        timeoutMs: options.timeoutMs,
        heal: options.heal,
      },
      ledger: new KeyLedger(),
      counters: new ExpectedCounters(),
      random,
    }
    // Warm-up (untimed): one write per type, converged, so connections and the gossip mesh exist.
    const warm = await runConvergence({ ...ctx, settings: { ...ctx.settings, writes: options.types.length, keys: options.types.length, heal: true } }, 'burst', -1)
    warmup = { convergeMs: warm.convergeMs, ...(warm.failure === undefined ? {} : { failure: warm.failure }) }
    idle = await measureIdle(cluster, options.idleMs)

    const convergence = options.workloads.filter((w): w is ConvergenceWorkload => w !== 'latency')
    const total = convergence.length * options.repeats * options.writes
    const bar = startProgress(`${nodes} nodes: convergence runs`, total, options.progress)
    try {
      // Repeat-major: drift during the runs (the neighbours' load, the keys piling up) falls
      // on every workload alike, not on whichever runs last.
      for (let repeat = 0; repeat < options.repeats; repeat++) {
        for (const workload of convergence) {
          const done = runs.length * options.writes
          runs.push(await runConvergence({ ...ctx, onProgress: (d) => bar.update(done + d) }, workload, repeat))
        }
      }
    } finally {
      bar.stop()
    }

    if (options.workloads.includes('latency')) {
      // Each level twice: one client (the latency of a request on an otherwise idle
      // cluster, what the goal is about) and `clients` at once (throughput, queueing).
      const levels = Array.from({ length: Math.min(3, replicas) }, (_, i) => i + 1)
      const clientCounts = [...new Set([1, options.clients])]
      const steps = levels.flatMap((level) => clientCounts.map((clients) => ({ level, clients })))
      const lbar = startProgress(`${nodes} nodes: quorum latency`, steps.length * 2 * options.latencySamples, options.progress)
      try {
        for (const [i, { level, clients }] of steps.entries()) {
          const offset = i * 2 * options.latencySamples
          latency.push(await runLatency(ctx, level, options.latencySamples, clients, (d) => lbar.update(offset + d)))
        }
      } finally {
        lbar.stop()
      }
    }
    counters = await verifyCounters(ctx, options.n, options.verifyKeys)
  } catch (err) {
    error = `run aborted: ${(err as Error).message.split('\n')[0]}`
  } finally {
    peakRssBytes = cluster.peakRssBytes()
    process.off('SIGINT', stopOnSignal)
    await cluster.stop()
  }
  return { nodes, replicas, startMs, warmup, idle, runs, latency, counters, peakRssBytes, ...(error === undefined ? {} : { error }) }
}

/** Bytes per second each node sends and receives with no writes: heartbeats and anti-entropy. */
async function measureIdle(cluster: LocalCluster, ms: number): Promise<NonNullable<NodeCountResult['idle']>> {
  const before = await cluster.counters()
  const t0 = performance.now()
  await new Promise<void>((resolve) => setTimeout(resolve, ms))
  const after = await cluster.counters()
  const seconds = (performance.now() - t0) / 1000
  return {
    ms: seconds * 1000,
    bytesSentPerSecond: after.map((a, i) => (a.bytesSent - before[i]!.bytesSent) / seconds),
    bytesReceivedPerSecond: after.map((a, i) => (a.bytesReceived - before[i]!.bytesReceived) / seconds),
  }
}

/** One cluster size's numbers in the shape the plots take. */
export function seriesOf(r: NodeCountResult, options: Pick<ClusterBenchOptions, 'writes' | 'batchSize'>): RumordbSeries {
  const ok = (w: ConvergenceWorkload): number[] => r.runs.filter((x) => x.workload === w && x.convergeMs !== null).map((x) => x.convergeMs as number)
  const failed = (w: ConvergenceWorkload): number => r.runs.filter((x) => x.workload === w && x.convergeMs === null).length
  const fromFirst = (w: ConvergenceWorkload): number[] =>
    r.runs.filter((x) => x.workload === w && x.fromFirstWriteMs !== null).map((x) => x.fromFirstWriteMs as number)
  const burst = r.runs.filter((x) => x.workload === 'burst')
  const perNode = (field: 'bytesSent' | 'bytesReceived'): number | null =>
    burst.length === 0 ? null : burst.reduce((sum, x) => sum + x[field].reduce((a, b) => a + b, 0) / x[field].length, 0) / burst.length
  const byWorkload = <T>(f: (w: ConvergenceWorkload) => T): Record<ConvergenceWorkload, T> =>
    Object.fromEntries(CONVERGENCE_WORKLOADS.map((w) => [w, f(w)])) as Record<ConvergenceWorkload, T>
  return {
    nodes: r.nodes,
    writes: options.writes,
    batchSize: options.batchSize,
    convergeMs: byWorkload(ok),
    failed: byWorkload(failed),
    fromFirstWriteMs: { burst: fromFirst('burst'), 'burst-batched': fromFirst('burst-batched') },
    latency: r.latency,
    bytesSentPerNode: perNode('bytesSent'),
    bytesReceivedPerNode: perNode('bytesReceived'),
  }
}

function rumordbVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
}

/**
 * rumordb's version and its installed dependencies' versions, read from node_modules
 * directly: several (libp2p among them) do not export their package.json.
 */
function installedVersions(names: readonly string[]): Record<string, string> {
  const versions: Record<string, string> = { rumordb: rumordbVersion() }
  for (const name of names) {
    try {
      versions[name] = (JSON.parse(readFileSync(new URL(`../node_modules/${name}/package.json`, import.meta.url), 'utf8')) as { version: string }).version
    } catch {
      versions[name] = 'unknown'
    }
  }
  return versions
}
