// The burst set against the peer systems (bench/peers) for the cluster report: a table per
// cluster size on the peer benchmark's measure, and sentences saying where the peer
// numbers come from (this run, or another run's file) and how the two measures differ.
import { basename } from 'node:path'
import type { NodeCountResult } from '../cluster.js'
import { formatNumber } from '../lib/table.js'
import type { ClusterBenchOptions } from './options.js'
import type { PeerResults } from './peer-results.js'
import { median } from './plots.js'

/**
 * The burst against the peer systems, per cluster size, on the peer benchmark's measure
 * (first write → converged, median): one column per system, then rumordb ÷ the fastest peer.
 */
export function burstVersusPeers(
  options: Pick<ClusterBenchOptions, 'writes'>,
  results: readonly NodeCountResult[],
  peers: PeerResults | null,
): { header: string[]; rows: string[][] } {
  const entries = (peers?.entries ?? []).filter((p) => p.writes === options.writes)
  const systems = [...new Set(entries.map((p) => p.system))]
  const rows: string[][] = []
  const sizes = [...new Set([...results.map((r) => r.nodes), ...entries.map((p) => p.nodes)])].sort((a, b) => a - b)
  for (const nodes of sizes) {
    const burst = results.find((r) => r.nodes === nodes)?.runs.filter((x) => x.workload === 'burst') ?? []
    const ours = burst.filter((x) => x.fromFirstWriteMs !== null).map((x) => x.fromFirstWriteMs as number)
    const cells = systems.map((system) => {
      const p = entries.find((e) => e.system === system && e.nodes === nodes)
      if (p === undefined) return { text: '-', ms: null }
      if (p.convergeMs === null || p.convergeMs.length === 0) return { text: 'FAILED', ms: null }
      const m = median(p.convergeMs)
      return { text: `${msText(m)} (${p.convergeMs.length})`, ms: m }
    })
    const fastest = Math.min(...cells.map((c) => c.ms ?? Infinity))
    const oursText = burst.length === 0 ? '-' : ours.length < burst.length ? `${burst.length - ours.length}/${burst.length} FAILED` : `${msText(median(ours))} (${ours.length})`
    const ratio = ours.length === burst.length && ours.length > 0 && Number.isFinite(fastest) ? `${(median(ours) / fastest).toFixed(2)}×` : 'N/A'
    rows.push([String(nodes), oursText, ...cells.map((c) => c.text), ratio])
  }
  return { header: ['nodes', 'rumordb ms (runs)', ...systems.map((s) => `${s} ms (trials)`), 'rumordb ÷ fastest peer'], rows }
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
    `rumordb keeps ${options.concurrency} quorum writes (w = ${options.w}) in flight over HTTP and is converged when every replica set (n = ${options.n}) agrees, so on more than ${options.n} nodes each node holds only its share; ` +
    'the peers apply one write at a time in-process and are converged when every node holds every write.'
  )
}

function msText(ms: number): string {
  return formatNumber(ms, ms >= 100 ? 0 : 1)
}
