// The cluster report's plots. Every system enters through the same shape as the peer
// benchmark's results ({ system, nodes, writes, convergeMs }), so peer systems are just
// more series: rumordb's two bursts (one request per write, batched) are converted to it
// first, as two systems.
import { barChartSvg, cdfPoints, lineChartSvg, type BarSeries, type LineSeries } from '../lib/svg-plot.js'
import { percentile } from '../lib/stats.js'
import type { PeerResult } from './peer-results.js'
import { BURST_WORKLOADS, CONVERGENCE_WORKLOADS, type ConvergenceWorkload, type LatencyResult } from './workloads.js'

/** One system's burst results at one cluster size: the plots' common input. */
export type SystemConvergence = PeerResult

export type BurstWorkload = (typeof BURST_WORKLOADS)[number]

export interface RumordbSeries {
  readonly nodes: number
  readonly writes: number
  /** Writes per POST /v1/batch in burst-batched. */
  readonly batchSize: number
  /** Converged runs' times per workload (FAILED runs are not numbers, so they are not here). */
  readonly convergeMs: Readonly<Record<ConvergenceWorkload, readonly number[]>>
  readonly failed: Readonly<Record<ConvergenceWorkload, number>>
  /** Converged burst runs' first write → converged: the peer benchmark's measure. */
  readonly fromFirstWriteMs: Readonly<Record<BurstWorkload, readonly number[]>>
  readonly latency: readonly LatencyResult[]
  /** Mean per node during the burst runs. */
  readonly bytesSentPerNode: number | null
  readonly bytesReceivedPerNode: number | null
}

export interface PlotFile {
  /** Suffix after `<date>-`: e.g. `cluster-convergence.svg`. */
  readonly name: string
  readonly svg: string
}

function workloadLabel(w: ConvergenceWorkload, batchSize: number): string {
  switch (w) {
    case 'burst':
      return 'burst on one node, 1 request per write'
    case 'burst-batched':
      return `burst on one node, batches of ${batchSize}`
    case 'concurrent':
      return 'writers on every node'
    case 'partition':
      return 'partition, then heal'
  }
}

/** rumordb's name as a system in the plots, one per way of sending the burst. */
export function rumordbSystemName(w: BurstWorkload, batchSize: number): string {
  return w === 'burst' ? 'rumordb, 1 request/write' : `rumordb, batches of ${batchSize}`
}

/** rumordb's bursts as systems: one per burst workload that ran at this size. */
export function rumordbAsSystems(r: RumordbSeries): SystemConvergence[] {
  return BURST_WORKLOADS.filter((w) => r.fromFirstWriteMs[w].length + r.failed[w] > 0).map((w) => {
    const ms = r.fromFirstWriteMs[w]
    return { system: rumordbSystemName(w, r.batchSize), nodes: r.nodes, writes: r.writes, convergeMs: ms.length === 0 ? null : ms }
  })
}

/**
 * `peersFrom`: where the peer series come from, for the plots' footnotes: null when they
 * ran in this run, else a short "file, date" of the other run (their labels then say so).
 */
export function buildPlots(rumordb: readonly RumordbSeries[], peers: readonly SystemConvergence[], context: string, peersFrom: string | null = null): PlotFile[] {
  const writes = rumordb[0]?.writes ?? 0
  const ours = rumordb.flatMap(rumordbAsSystems)
  const isOurs = (system: string): boolean => ours.some((s) => s.system === system)
  const systems = [...ours, ...peers.filter((p) => p.writes === writes)]
  const names = [...new Set(systems.map((s) => s.system))]
  const colorOf = (system: string): number => names.indexOf(system)
  const nodeCounts = [...new Set(systems.map((s) => s.nodes))].sort((a, b) => a - b)
  const failedNotes: string[] = []

  // 1. Median time to converge vs cluster size.
  const lines: LineSeries[] = CONVERGENCE_WORKLOADS.filter((w) => rumordb.some((r) => r.convergeMs[w].length + r.failed[w] > 0))
    .map((w, i) => {
      for (const r of rumordb) if (r.failed[w] > 0) failedNotes.push(`rumordb ${w} at ${r.nodes} nodes: ${r.failed[w]} FAILED`)
      return {
        label: `rumordb: ${workloadLabel(w, rumordb[0]?.batchSize ?? 0)}`,
        color: 0,
        dash: i,
        points: rumordb.filter((r) => r.convergeMs[w].length > 0).map((r) => ({ x: r.nodes, y: median(r.convergeMs[w]) })),
      }
    })
  const convergence = lineChartSvg({
    title: `rumordb: time to converge after ${writes.toLocaleString('en-US')} writes (median of runs)`,
    subtitle: context,
    xLabel: 'nodes in the cluster',
    yLabel: 'last acknowledged write → converged (ms)',
    xTicks: rumordb.map((r) => r.nodes),
    series: lines,
    footnote:
      failedNotes.length === 0
        ? 'From the last acknowledged write (partition: from the heal) until every replica set agrees and no hint is pending.'
        : `Not plotted (no number): ${failedNotes.join('; ')}`,
  })

  // 1b. The burst against the peer systems, on the peer benchmark's measure.
  const peerNotes: string[] = []
  const versus: LineSeries[] = names.map((name) => {
    const mine = systems.filter((s) => s.system === name)
    for (const s of mine) if (s.convergeMs === null) peerNotes.push(`${name} at ${s.nodes} nodes: FAILED`)
    return {
      label: `${name}${isOurs(name) ? '' : peersFrom === null ? ' (peer)' : ' (peer, other run)'}`,
      color: colorOf(name),
      points: mine.filter((s) => s.convergeMs !== null && s.convergeMs.length > 0).map((s) => ({ x: s.nodes, y: median(s.convergeMs!) })),
    }
  })
  const noPeers = names.every(isOurs) ? `No peer results for ${writes.toLocaleString('en-US')}-write bursts (run with --with-peers). ` : ''
  const otherRun = !names.every(isOurs) && peersFrom !== null ? `Peers from another run (${peersFrom}), not this one. ` : ''
  const burstVsPeers = lineChartSvg({
    title: `Burst of ${writes.toLocaleString('en-US')} writes on node 0: first write → every node converged`,
    subtitle: context,
    xLabel: 'nodes in the cluster',
    yLabel: 'first write → converged, median (ms, log scale)',
    xTicks: nodeCounts,
    // Systems differ by orders of magnitude: on a linear axis the slowest flattens the rest.
    yLog: true,
    series: versus,
    footnote: `${noPeers}${otherRun}${peerNotes.length === 0 ? 'Same measure as the peer benchmark: from the first write of the burst. The peers write in-process; rumordb\'s client is another process speaking HTTP.' : `Not plotted (no number): ${peerNotes.join('; ')}`}`,
  })

  // 2. CDF of burst convergence times, one line per system and cluster size.
  const cdf = lineChartSvg({
    title: `CDF of time to converge: burst of ${writes.toLocaleString('en-US')} writes on node 0`,
    subtitle: context,
    xLabel: 'first write → converged (ms, log scale)',
    yLabel: 'fraction of runs converged',
    xLog: true,
    yRange: [0, 1],
    series: systems
      .filter((s) => s.convergeMs !== null && s.convergeMs.length > 0)
      .map((s) => ({
        label: `${s.system}, ${s.nodes} nodes (${s.convergeMs!.length} runs)`,
        color: colorOf(s.system),
        dash: nodeCounts.indexOf(s.nodes),
        step: true,
        points: cdfPoints(s.convergeMs!),
      })),
    footnote: `${otherRun}A run that did not converge within the timeout is FAILED and is not a point here${cdfFailures(rumordb, systems.filter((x) => !isOurs(x.system)))}.`,
  })

  // 3. Quorum latency percentiles, one chart per cluster size and number of clients.
  const latency = rumordb
    .filter((r) => r.latency.length > 0)
    .flatMap((r) =>
      [...new Set(r.latency.map((l) => l.clients))].map((clients): PlotFile => {
        const runs = r.latency.filter((l) => l.clients === clients)
        const categories = [...runs.map((l) => `write w=${l.level}`), ...runs.map((l) => `read r=${l.level}`)]
        const pick = (p: 'p50' | 'p95' | 'p99'): BarSeries => ({
          label: `rumordb ${p}`,
          values: [...runs.map((l) => l.write[p]), ...runs.map((l) => l.read[p])],
        })
        return {
          name: `cluster-latency-${r.nodes}n-${clients}c.svg`,
          svg: barChartSvg({
            title: `Quorum latency on ${r.nodes} nodes, ${clients === 1 ? 'one HTTP client' : `${clients} concurrent HTTP clients`}`,
            subtitle: context,
            xLabel: 'operation and quorum (w = acks a write waits for, r = replicas a read asks)',
            yLabel: 'latency (ms)',
            categories,
            series: [pick('p50'), pick('p95'), pick('p99')],
          }),
        }
      }),
    )

  // 4. Bytes per node during the burst.
  const kib = (b: number | null | undefined): number | null => (b === null || b === undefined ? null : b / 1024)
  const bytesSeries: BarSeries[] = [
    { label: 'rumordb sent', color: 0, values: nodeCounts.map((n) => kib(rumordb.find((r) => r.nodes === n)?.bytesSentPerNode)) },
    { label: 'rumordb received', color: 3, values: nodeCounts.map((n) => kib(rumordb.find((r) => r.nodes === n)?.bytesReceivedPerNode)) },
    ...names
      .filter((n) => !isOurs(n) && systems.some((s) => s.system === n && s.bytesPerNode !== undefined))
      .map((name) => ({
        label: `${name} (TCP bytes written)`,
        color: colorOf(name),
        values: nodeCounts.map((n) => kib(systems.find((s) => s.system === name && s.nodes === n)?.bytesPerNode)),
      })),
  ]
  const bytes = barChartSvg({
    title: `Bytes per node during a burst of ${writes.toLocaleString('en-US')} writes (mean over nodes and runs)`,
    subtitle: context,
    xLabel: 'nodes in the cluster',
    yLabel: 'engine frame bytes per node (KiB)',
    categories: nodeCounts.map((n) => `${n} nodes`),
    series: bytesSeries,
    footnote: 'rumordb: engine frames (requests, responses, gossip) without libp2p, Noise or muxer overhead; peers: all bytes their sockets wrote.',
  })

  return [
    { name: 'cluster-convergence.svg', svg: convergence },
    { name: 'cluster-burst-vs-peers.svg', svg: burstVsPeers },
    { name: 'cluster-cdf.svg', svg: cdf },
    ...latency,
    { name: 'cluster-bytes.svg', svg: bytes },
  ]
}

/** "; FAILED: …" naming the systems and sizes with FAILED runs, or nothing. */
function cdfFailures(rumordb: readonly RumordbSeries[], peers: readonly SystemConvergence[]): string {
  const failed = [
    ...rumordb.flatMap((r) =>
      BURST_WORKLOADS.filter((w) => r.failed[w] > 0).map((w) => `${rumordbSystemName(w, r.batchSize)} ${r.nodes} nodes (${r.failed[w]} runs)`),
    ),
    ...peers.filter((s) => s.convergeMs === null).map((s) => `${s.system} ${s.nodes} nodes`),
  ]
  return failed.length === 0 ? '' : `; FAILED: ${failed.join(', ')}`
}

export function median(samples: readonly number[]): number {
  return percentile(Float64Array.from(samples).sort(), 50)
}
