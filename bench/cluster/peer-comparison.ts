// The burst set against the peer systems (bench/peers) for the cluster report: a table per
// cluster size on the peer benchmark's measure (a row per way rumordb sent the burst), and
// sentences saying where the peer numbers come from (this run, or another run's file), how
// the two measures differ, and why the burst goal is judged on the batched burst.
import { basename } from 'node:path'
import type { NodeCountResult } from './types.js'
import { formatNumber } from '../lib/table.js'
import type { ClusterBenchOptions } from './options.js'
import type { PeerResults } from './peer-results.js'
import { median, type BurstWorkload } from './plots.js'
import { BURST_WORKLOADS } from './workloads.js'

/** How a burst workload sent its writes, as the reports name it. */
export function burstVariant(workload: BurstWorkload, options: Pick<ClusterBenchOptions, 'concurrency' | 'batchSize' | 'batchConcurrency'>): string {
  return workload === 'burst'
    ? `burst: 1 write per request, ${options.concurrency} in flight`
    : `burst-batched: ${options.batchSize} writes per request, ${options.batchConcurrency} in flight`
}

/**
 * The burst against the peer systems, per cluster size, on the peer benchmark's measure
 * (first write → converged, median): a row per way rumordb sent the burst (one request per
 * write, batched), one column per system, then that row's rumordb ÷ the fastest peer.
 */
export function burstVersusPeers(
  options: Pick<ClusterBenchOptions, 'writes' | 'concurrency' | 'batchSize' | 'batchConcurrency'>,
  results: readonly NodeCountResult[],
  peers: PeerResults | null,
): { header: string[]; rows: string[][] } {
  const entries = (peers?.entries ?? []).filter((p) => p.writes === options.writes)
  const systems = [...new Set(entries.map((p) => p.system))]
  const rows: string[][] = []
  const sizes = [...new Set([...results.map((r) => r.nodes), ...entries.map((p) => p.nodes)])].sort((a, b) => a - b)
  for (const nodes of sizes) {
    const cells = systems.map((system) => {
      const p = entries.find((e) => e.system === system && e.nodes === nodes)
      if (p === undefined) return { text: '-', ms: null }
      if (p.convergeMs === null || p.convergeMs.length === 0) return { text: 'FAILED', ms: null }
      const m = median(p.convergeMs)
      return { text: `${msText(m)} (${p.convergeMs.length})`, ms: m }
    })
    const fastest = Math.min(...cells.map((c) => c.ms ?? Infinity))
    const runs = results.find((r) => r.nodes === nodes)?.runs ?? []
    const variants = BURST_WORKLOADS.filter((w) => runs.some((x) => x.workload === w))
    if (variants.length === 0) rows.push([String(nodes), '-', '-', ...cells.map((c) => c.text), 'N/A'])
    for (const w of variants) {
      const burst = runs.filter((x) => x.workload === w)
      const ours = burst.filter((x) => x.fromFirstWriteMs !== null).map((x) => x.fromFirstWriteMs as number)
      const oursText = ours.length < burst.length ? `${burst.length - ours.length}/${burst.length} FAILED` : `${msText(median(ours))} (${ours.length})`
      const ratio = ours.length === burst.length && Number.isFinite(fastest) ? `${(median(ours) / fastest).toFixed(2)}×` : 'N/A'
      rows.push([String(nodes), burstVariant(w, options), oursText, ...cells.map((c) => c.text), ratio])
    }
  }
  return { header: ['nodes', 'rumordb burst', 'rumordb ms (runs)', ...systems.map((s) => `${s} ms (trials)`), 'rumordb ÷ fastest peer'], rows }
}

/** Where the peer numbers come from, in one sentence the reports print. */
export function describePeerSource(peers: PeerResults | null): string {
  if (peers === null) return 'No peer results: run with --with-peers (or `npm run bench:peers`, which writes <date>-peers.json).'
  if (peers.ranInThisRun) return `The peer systems ran in this run (--with-peers), after rumordb's clusters had stopped, on the same burst; their raw numbers: ${basename(peers.file)}.`
  return (
    `The peer numbers come from another run: ${basename(peers.file)}, dated ${peers.date ?? 'unknown'}. ` +
    'They were measured under another load and perhaps another build, so the goal is not judged against them (N/A); rerun with --with-peers to judge it.'
  )
}

/** How rumordb's and the peers' burst times compare, and how they differ beyond the clock. */
export function measureNote(options: ClusterBenchOptions, peers: PeerResults | null): string {
  const theirs =
    peers?.ranInThisRun === true
      ? `${options.peerRepeats} trial${options.peerRepeats === 1 ? '' : 's'} per system and size, each a fresh cluster in its own process, polled every ${options.pollIntervalMs} ms too`
      : 'as many trials as their file says'
  return (
    `Both from the first write of the burst until converged, median over runs (rumordb: ${options.repeats} runs per size on one cluster, polled every ${options.pollIntervalMs} ms; peers: ${theirs}). ` +
    `rumordb's client is another process speaking HTTP to node 0: burst sends one quorum write (w = ${options.w}) per request, ${options.concurrency} in flight; ` +
    `burst-batched sends the same writes ${options.batchSize} per POST /v1/batch, ${options.batchConcurrency} batches in flight. ` +
    `rumordb is converged when every replica set (n = ${options.n}) agrees, so on more than ${options.n} nodes each node holds only its share; ` +
    'the peers apply one write at a time in-process, with no request per write, and are converged when every node holds every write.'
  )
}

/** Why the burst goal is judged on burst-batched, for the Markdown report. */
export function burstGoalNote(options: Pick<ClusterBenchOptions, 'batchSize' | 'concurrency'>): string {
  return (
    'The burst goal is judged on burst-batched, and the per-request burst is printed beside it in the same line. ' +
    'The peers write in-process with no request per write, while rumordb\'s client is another process speaking HTTP: ' +
    `one request per write (${options.concurrency} in flight) measures the per-request cost of HTTP on this machine as much as replication. ` +
    `Batches (${options.batchSize} writes per POST /v1/batch, each item acknowledged on its own) are how a bulk client is meant to write to rumordb. ` +
    'Without burst-batched in the run, the goal is judged on the per-request burst, and the verdict says so.'
  )
}

function msText(ms: number): string {
  return formatNumber(ms, ms >= 100 ? 0 : 1)
}
