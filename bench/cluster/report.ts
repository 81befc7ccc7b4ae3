// What the cluster benchmark prints and writes as Markdown: convergence, latency, bytes
// and memory tables per cluster size, and the issue's goals judged from the same run.
import { basename } from 'node:path'
import type { ClusterReport, NodeCountResult } from './types.js'
import type { ClusterBenchOptions } from './options.js'
import { GOALS } from './goals.js'
import { describeMachine } from '../lib/machine.js'
import { formatNumber, formatTable } from '../lib/table.js'
import type { PeerResults } from './peer-results.js'
import { burstGoalNote, burstVariant, burstVersusPeers, describePeerSource, measureNote } from './peer-comparison.js'
import { median, type BurstWorkload } from './plots.js'
import { BURST_WORKLOADS, CONVERGENCE_WORKLOADS, type ConvergenceRun } from './workloads.js'

import type { Verdict } from './verdict.js'
export type { Verdict }

export interface BytesPerUpdate {
  /** Engine bytes received by all nodes per replica copy an update needs (replicas − 1 per write). */
  readonly rawPerCopy: number
  /** The same with the idle background (heartbeats, anti-entropy rounds) subtracted. */
  readonly netPerCopy: number
  readonly ratio: number
}

/**
 * Over the converged runs of a burst workload (the goal's: the per-request burst): bytes
 * every node received from the first write to convergence, per replica copy of an update
 * (each acknowledged write must reach replicas − 1 other replicas). Received rather than
 * sent: a broadcast is sent once and received by every node, and the received side counts
 * each delivery.
 */
export function bytesPerUpdate(r: NodeCountResult, deltaBytes: number, workload: BurstWorkload = 'burst'): BytesPerUpdate | null {
  const runs = r.runs.filter((x) => x.workload === workload && x.convergeMs !== null)
  const copies = runs.reduce((sum, x) => sum + x.acked, 0) * (r.replicas - 1)
  if (copies === 0 || r.idle === null) return null
  let raw = 0
  let net = 0
  for (const run of runs) {
    run.bytesReceived.forEach((bytes, i) => {
      raw += bytes
      net += Math.max(0, bytes - (r.idle!.bytesReceivedPerSecond[i] ?? 0) * (run.phaseMs / 1000))
    })
  }
  return { rawPerCopy: raw / copies, netPerCopy: net / copies, ratio: net / copies / deltaBytes }
}

/** One burst workload's runs at the goal's size, on the peer benchmark's measure. */
interface BurstSide {
  readonly workload: BurstWorkload
  readonly runs: number
  /** First write → converged of the converged runs. */
  readonly ms: readonly number[]
}

function burstSide(r: NodeCountResult | undefined, workload: BurstWorkload): BurstSide {
  const runs = r?.runs.filter((x) => x.workload === workload) ?? []
  return { workload, runs: runs.length, ms: runs.filter((x) => x.fromFirstWriteMs !== null).map((x) => x.fromFirstWriteMs as number) }
}

/** "median 123 ms (3 runs)", or "1 of 3 runs FAILED". */
function sideText(side: BurstSide): string {
  return side.ms.length < side.runs ? `${side.runs - side.ms.length} of ${side.runs} runs FAILED` : `${ms(median(side.ms))} (${plural(side.runs, 'run')})`
}

/**
 * The burst goal. It is judged on burst-batched (how a bulk client is meant to write),
 * with the per-request burst printed beside it in the same line; on the per-request
 * burst, saying so, when burst-batched did not run.
 */
function judgeBurstGoal(options: ClusterBenchOptions, results: readonly NodeCountResult[], peers: PeerResults | null): Verdict {
  const at = results.find((r) => r.nodes === GOALS.burstNodes)
  const goal = `burst of ${formatNumber(GOALS.burstWrites)} writes on ${GOALS.burstNodes} nodes converges in ≤ ${GOALS.maxBurstRatioToFastestPeer}× the fastest peer's time`
  const writesNote = options.writes === GOALS.burstWrites ? '' : ` (this run: ${formatNumber(options.writes)} writes)`
  const batched = burstSide(at, 'burst-batched')
  const perRequest = burstSide(at, 'burst')
  const judged = batched.runs > 0 ? batched : perRequest
  const other = judged === batched && perRequest.runs > 0 ? perRequest : null
  const judgedOn =
    judged === batched
      ? `judged on ${burstVariant('burst-batched', options)}`
      : `judged on ${burstVariant('burst', options)} (burst-batched not in this run)`
  if (judged.runs === 0) return { goal, verdict: 'N/A', detail: `no ${GOALS.burstNodes}-node burst in this run` }
  // The peer benchmark times from the first write of the burst: so does this comparison.
  const comparable = (peers?.entries ?? []).filter((p) => p.nodes === GOALS.burstNodes && p.writes === options.writes)
  const converging = comparable.filter((p) => p.convergeMs !== null && p.convergeMs.length > 0)
  const fastest = converging.map((p) => ({ system: p.system, ms: median(p.convergeMs!), runs: p.convergeMs!.length })).sort((a, b) => a.ms - b.ms)[0]
  const ratioOf = (side: BurstSide): string =>
    fastest === undefined || side.ms.length < side.runs ? '' : ` = ${(median(side.ms) / fastest.ms).toFixed(2)}×`
  const otherRatio = other === null ? '' : ratioOf(other)
  const alsoShown =
    other === null ? '' : `; not judged, ${burstVariant('burst', options)}: rumordb ${sideText(other)}${otherRatio === '' ? '' : ` ÷ ${fastest!.system}${otherRatio}`}`
  if (judged.ms.length < judged.runs) return { goal, verdict: 'FAIL', detail: `${judgedOn}: ${judged.runs - judged.ms.length} of ${judged.runs} rumordb runs FAILED${alsoShown}${writesNote}` }
  if (peers === null) {
    const why = options.withPeers ? 'the peer systems did not run (see the notes)' : 'no peer results (run with --with-peers)'
    return { goal, verdict: 'N/A', detail: `${judgedOn}: rumordb median ${sideText(judged)}${alsoShown}; ${why}${writesNote}` }
  }
  if (fastest === undefined) {
    const why = comparable.length === 0 ? `no peer ran ${GOALS.burstNodes} nodes × ${formatNumber(options.writes)} writes` : 'every peer FAILED to converge'
    return { goal, verdict: 'N/A', detail: `${judgedOn}: rumordb median ${sideText(judged)}${alsoShown}; ${why} in ${basename(peers.file)}${peers.ranInThisRun ? ' (this run)' : ''}` }
  }
  const ratio = median(judged.ms) / fastest.ms
  const measured =
    `${judgedOn}: first write → converged, median: rumordb ${ms(median(judged.ms))} (${plural(judged.ms.length, 'run')}) ÷ ${fastest.system} ${ms(fastest.ms)} (${plural(fastest.runs, 'trial')}) = ${ratio.toFixed(2)}×` +
    `${alsoShown}${writesNote}`
  if (!peers.ranInThisRun) {
    // Another run had another load (the machine is shared) and perhaps another build: a
    // ratio across runs is shown, never judged.
    return {
      goal,
      verdict: 'N/A',
      detail: `cross-run, not judged: ${measured}; the peer numbers come from another run (${basename(peers.file)}, ${peers.date ?? 'date unknown'}); rerun with --with-peers to judge`,
    }
  }
  return {
    goal,
    verdict: ratio <= GOALS.maxBurstRatioToFastestPeer ? 'PASS' : 'FAIL',
    detail: `${measured}; peers ran in this run, applying one write at a time in-process with no request per write`,
  }
}

export function judgeGoals(options: ClusterBenchOptions, results: readonly NodeCountResult[], deltaBytes: number, peers: PeerResults | null): Verdict[] {
  const verdicts: Verdict[] = [judgeBurstGoal(options, results, peers)]
  for (const r of results) {
    // Judged with one client: latency on an idle cluster. The loaded run is printed along.
    const l = r.latency.find((x) => x.level === GOALS.writeP99Level && x.clients === 1)
    const loaded = r.latency.find((x) => x.level === GOALS.writeP99Level && x.clients > 1)
    const goal = `quorum write p99 at w = ${GOALS.writeP99Level} < ${GOALS.maxWriteP99Ms} ms (${r.nodes} nodes, one client)`
    const alongside = loaded === undefined ? '' : `; not judged, ${loaded.clients} clients at once: p99 ${ms(loaded.write.p99)} (p50 ${ms(loaded.write.p50)}, ${formatNumber(loaded.write.opsPerSecond)} writes/s)`
    if (l === undefined) verdicts.push({ goal, verdict: 'N/A', detail: 'no one-client latency run at this level' })
    else if (l.write.errors > 0) verdicts.push({ goal, verdict: 'FAIL', detail: `${l.write.errors} of ${l.write.count} writes failed; p99 ${ms(l.write.p99)}${alongside}` })
    else verdicts.push({ goal, verdict: l.write.p99 < GOALS.maxWriteP99Ms ? 'PASS' : 'FAIL', detail: `p99 ${ms(l.write.p99)} (p50 ${ms(l.write.p50)}, ${l.write.count} writes)${alongside}` })
  }
  for (const r of results) {
    const goal = `bytes per converged update ≤ ${GOALS.maxBytesPerUpdateRatio}× the encoded delta (${r.nodes} nodes)`
    const b = bytesPerUpdate(r, deltaBytes)
    if (b === null) verdicts.push({ goal, verdict: 'N/A', detail: r.replicas < 2 ? 'one replica per key: nothing to copy' : 'no converged burst run' })
    else
      verdicts.push({
        goal,
        verdict: b.ratio <= GOALS.maxBytesPerUpdateRatio ? 'PASS' : 'FAIL',
        detail: `${formatNumber(b.netPerCopy)} B per replica copy (idle traffic subtracted; raw ${formatNumber(b.rawPerCopy)} B) ÷ ${deltaBytes.toFixed(1)} B delta = ${b.ratio.toFixed(1)}×`,
      })
  }
  return verdicts
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`
}

function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return 'FAILED'
  return v >= 100 ? `${formatNumber(v)} ms` : `${v.toFixed(1)} ms`
}

function num(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined ? 'FAILED' : formatNumber(v, v >= 100 ? 0 : digits)
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length)

interface Tables {
  readonly convergence: { header: string[]; rows: string[][] }
  readonly failures: string[]
  readonly latency: { header: string[]; rows: string[][] }
  readonly bytes: { header: string[]; rows: string[][] }
  readonly memory: { header: string[]; rows: string[][] }
  readonly versus: { header: string[]; rows: string[][] }
  readonly notes: string[]
}

function tables(report: ClusterReport): Tables {
  const { options, results } = report
  const conv: string[][] = []
  const failures: string[] = []
  const lat: string[][] = []
  const bytes: string[][] = []
  const mem: string[][] = []
  const notes: string[] = []
  for (const r of results.nodeCounts) {
    if (r.error !== undefined) notes.push(`${r.nodes} nodes: ${r.error}`)
    if (r.startMs === null) {
      conv.push([String(r.nodes), 'all', '0/0', 'FAILED', '', '', 'did not start', '', '', '', ''])
      continue
    }
    if (r.warmup?.failure !== undefined) notes.push(`${r.nodes} nodes: the warm-up write did not converge: ${r.warmup.failure}`)
    for (const w of CONVERGENCE_WORKLOADS) {
      const runs = r.runs.filter((x) => x.workload === w)
      if (runs.length === 0) continue
      const ok = runs.filter((x) => x.convergeMs !== null).map((x) => x.convergeMs as number)
      const failed = runs.length - ok.length
      for (const x of runs.filter((y) => y.failure !== undefined)) failures.push(`${r.nodes} nodes, ${w} run ${x.repeat + 1}: FAILED — ${x.failure}`)
      const writeMs = mean(runs.map((x) => x.writeMs))
      const fromFirst = runs.filter((x) => x.fromFirstWriteMs !== null).map((x) => x.fromFirstWriteMs as number)
      conv.push([
        String(r.nodes),
        w,
        `${ok.length}/${runs.length}`,
        ok.length === 0 ? 'FAILED' : num(median(ok)),
        ok.length === 0 ? 'FAILED' : num(Math.min(...ok)),
        ok.length === 0 ? 'FAILED' : num(Math.max(...ok)),
        failed === 0 ? '-' : `${failed} FAILED`,
        fromFirst.length === 0 ? 'FAILED' : num(median(fromFirst)),
        num(writeMs, 0),
        formatNumber((options.writes * 1000) / writeMs),
        formatNumber(mean(runs.map((x) => x.notQuorum + x.failed))),
      ])
    }
    for (const l of r.latency) {
      for (const [op, s] of [['write', l.write], ['read', l.read]] as const) {
        lat.push([
          String(r.nodes),
          String(l.clients),
          `${op} ${op === 'write' ? 'w' : 'r'}=${l.level}`,
          num(s.p50, 2),
          num(s.p95, 2),
          num(s.p99, 2),
          num(s.max, 1),
          formatNumber(s.opsPerSecond),
          String(s.errors),
          op === 'read' ? String(s.notFound) : '',
        ])
        if (s.firstError !== undefined) notes.push(`${r.nodes} nodes, ${op} at level ${l.level}: ${s.errors} errors, first ${s.firstError}`)
      }
    }
    for (const w of BURST_WORKLOADS) {
      const burst = r.runs.filter((x) => x.workload === w)
      if (burst.length === 0) continue
      const sent = burst.flatMap((x) => x.bytesSent)
      const received = burst.map((x) => x.bytesReceived.reduce((a, b) => a + b, 0))
      const b = bytesPerUpdate(r, results.deltaBytes, w)
      bytes.push([
        String(r.nodes),
        w,
        formatNumber(mean(sent) / 1024, 1),
        formatNumber(Math.max(...sent) / 1024, 1),
        formatNumber(mean(received) / 1024, 1),
        r.idle === null ? '-' : formatNumber(mean(r.idle.bytesSentPerSecond) / 1024, 2),
        b === null ? 'N/A' : formatNumber(b.rawPerCopy),
        b === null ? 'N/A' : formatNumber(b.netPerCopy),
        results.deltaBytes.toFixed(1),
        b === null ? 'N/A' : `${b.ratio.toFixed(1)}×`,
      ])
    }
    const rss = r.peakRssBytes.filter((x): x is number => x !== null)
    if (rss.length > 0) mem.push([String(r.nodes), formatNumber(mean(rss) / 2 ** 20, 1), formatNumber(Math.max(...rss) / 2 ** 20, 1), r.startMs === null ? '-' : formatNumber(r.startMs / 1000, 1)])
    if (r.counters !== null) {
      const c = r.counters
      notes.push(
        c.mismatches.length === 0
          ? `${r.nodes} nodes: ${c.checked} counter keys read back with r = ${Math.min(options.n, r.nodes)} hold exactly their acknowledged writes.`
          : `${r.nodes} nodes: ${c.mismatches.length} of ${c.checked} counter keys differ from their acknowledged writes, e.g. ${JSON.stringify(c.mismatches.slice(0, 3))}`,
      )
    }
  }
  if (results.peersError !== undefined) notes.push(`peer systems: ${results.peersError}`)
  return {
    convergence: {
      header: ['nodes', 'workload', 'converged', 'p50 ms', 'min ms', 'max ms', 'failed', '1st write→conv p50', 'write ms', 'writes/s', 'no quorum/err'],
      rows: conv,
    },
    failures,
    latency: { header: ['nodes', 'clients', 'operation', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'ops/s', 'errors', 'not found'], rows: lat },
    bytes: {
      header: ['nodes', 'workload', 'sent/node KiB', 'max sent KiB', 'received (all) KiB', 'idle sent/node KiB/s', 'B/copy raw', 'B/copy net', 'delta B', 'net ÷ delta'],
      rows: bytes,
    },
    memory: { header: ['nodes', 'peak RSS mean MiB', 'peak RSS max MiB', 'cluster start s'], rows: mem },
    versus: burstVersusPeers(options, results.nodeCounts, results.peers),
    notes,
  }
}

function header(report: ClusterReport): string[] {
  const o = report.options
  return [
    `${o.nodes.join(', ')} nodes · ${formatNumber(o.writes)} writes per run over ${formatNumber(o.keys)} keys (${o.types.join(', ')}) · ${o.repeats} runs per workload`,
    `n = ${o.n}, w = ${o.w}, r = ${o.r} · ${o.concurrency} writes in flight${o.workloads.includes('burst-batched') ? ` (burst-batched: ${o.batchSize} writes per POST /v1/batch, ${o.batchConcurrency} in flight)` : ''} · poll every ${o.pollIntervalMs} ms · FAILED after ${formatNumber(o.timeoutMs / 1000, 0)} s · seed ${o.seed}${o.quick ? ' · --quick' : ''}`,
    ...(o.withPeers
      ? [`--with-peers: ${o.peerSystems.join(', ')} on the burst in this run · ${plural(o.peerRepeats, 'trial')} per system and size · FAILED ${formatNumber(o.peerTimeoutMs / 1000, 0)} s after the first write`]
      : []),
  ]
}

export function formatReport(report: ClusterReport): string {
  const t = tables(report)
  const out = [
    `rumordb cluster benchmark — ${describeMachine(report.machine)}`,
    ...header(report),
    '',
    'Time to converge (p50/min/max from the last acknowledged write, partition: from the heal; "1st write→conv": from the first write, as the peer benchmark measures)',
    formatTable(t.convergence.header, t.convergence.rows),
  ]
  if (t.failures.length > 0) out.push('', ...t.failures)
  if (t.latency.rows.length > 0) {
    out.push('', `Quorum latency (1 client, then ${report.options.clients} concurrent clients; keep-alive HTTP, requests spread over every node)`, formatTable(t.latency.header, t.latency.rows))
  }
  if (t.bytes.rows.length > 0) {
    out.push(
      '',
      'Engine bytes during the burst runs (frames as the engine sent/received them; per copy = received by all ÷ (acked × (replicas − 1)); the bytes goal is judged on burst)',
      formatTable(t.bytes.header, t.bytes.rows),
    )
  }
  if (t.memory.rows.length > 0) out.push('', 'Memory', formatTable(t.memory.header, t.memory.rows))
  if (report.results.peers !== null) {
    out.push('', `Burst vs peer systems (first write → converged, median ms; ${report.results.peers.ranInThisRun ? 'same run' : 'peers from ANOTHER run'})`)
    out.push(formatTable(t.versus.header, t.versus.rows), describePeerSource(report.results.peers), measureNote(report.options, report.results.peers))
  }
  if (t.notes.length > 0) out.push('', ...t.notes)
  out.push('', 'Goals')
  for (const v of report.results.verdicts) out.push(`  ${v.verdict.padEnd(4)}  ${v.goal}: ${v.detail}`)
  if (report.results.peers === null) out.push(`  (peer systems: ${describePeerSource(null)})`)
  return out.join('\n')
}

/** A Markdown table: the first column left-aligned, the others right-aligned (numbers) unless `text`. */
function mdTable(h: readonly string[], rows: readonly (readonly string[])[], text = false): string {
  const line = (r: readonly string[]): string => `| ${r.join(' | ')} |`
  return [line(h), line(h.map((_, i) => (i === 0 || text ? '---' : '---:'))), ...rows.map(line)].join('\n')
}

export function formatMarkdown(report: ClusterReport): string {
  const t = tables(report)
  const { results, options } = report
  const out = [
    `# rumordb cluster benchmark, ${report.date.slice(0, 10)}`,
    '',
    `Machine: ${describeMachine(report.machine)}; load at the end ${report.machineAfter?.loadAverage.join(' ') ?? '?'}.`,
    `Versions: ${Object.entries(report.machine.packages).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
    ...header(report).map((l) => `${l}  `),
    '',
    'Real `rumordb start` processes on 127.0.0.1 (node 0 first, the others bootstrap from it), driven over HTTP. ' +
      'Converged means: every replica set\'s members report the same digest in `GET /v1/sync`, the replica sets hold every key written, and no hint is pending. ' +
      `A run not converged within ${formatNumber(options.timeoutMs / 1000, 0)} s is FAILED and never enters a number. ` +
      'Partition runs split the nodes in two with fault injection (nodes started through node/faults/main.ts answer `POST /v1/_faults`), write on both sides, heal, and time from the heal.',
    '',
    '## Goals',
    '',
    mdTable(['verdict', 'goal', 'measured'], results.verdicts.map((v) => [`**${v.verdict}**`, v.goal, v.detail]), true),
    '',
    burstGoalNote(options),
    'The bytes goal is judged on the per-request burst.',
    '',
    '## Time to converge',
    '',
    mdTable(t.convergence.header, t.convergence.rows),
  ]
  if (t.failures.length > 0) out.push('', ...t.failures.map((f) => `- ${f}`))
  if (t.latency.rows.length > 0) out.push('', '## Quorum latency', '', `Each level with one client (the latency of a request on an idle cluster; the goal is judged on it), then ${options.clients} concurrent clients (throughput; latency then includes queueing for the machine's cores), over keep-alive HTTP, requests spread over every node.`, '', mdTable(t.latency.header, t.latency.rows))
  if (t.bytes.rows.length > 0) {
    out.push(
      '',
      '## Bytes',
      '',
      'Engine frame bytes (requests, responses, gossip) during the burst runs, from `GET /v1/status`; libp2p, Noise and Yamux overhead is not included. ' +
        '"Per copy" is the bytes every node received ÷ (acknowledged writes × (replicas − 1)); "net" subtracts the idle background (heartbeats, anti-entropy) measured before the runs. ' +
        `The delta is the mean crdts/ encoding of the workload's deltas (${results.deltaBytes.toFixed(1)} B). The goal is judged on burst; burst-batched is shown beside it.`,
      '',
      mdTable(t.bytes.header, t.bytes.rows),
    )
  }
  if (t.memory.rows.length > 0) out.push('', '## Memory', '', 'Peak RSS (VmHWM) of each node process at the end of its runs.', '', mdTable(t.memory.header, t.memory.rows))
  if (t.notes.length > 0) out.push('', '## Checks', '', ...t.notes.map((n) => `- ${n}`))
  out.push('', '## Peer systems', '', describePeerSource(results.peers))
  if (results.peers !== null) out.push('', measureNote(options, results.peers), '', mdTable(t.versus.header, t.versus.rows))
  if (results.plots.length > 0) out.push('', '## Plots', '', ...results.plots.map((p) => `![${basename(p)}](${basename(p)})`))
  out.push('', `Raw numbers: \`${report.date.slice(0, 10)}-cluster.json\`.`, '')
  return out.join('\n')
}

/** For tests: the convergence runs of one workload at one size. */
export function runsOf(report: ClusterReport, nodes: number, workload: ConvergenceRun['workload']): ConvergenceRun[] {
  return [...(report.results.nodeCounts.find((r) => r.nodes === nodes)?.runs ?? [])].filter((x) => x.workload === workload)
}
