// The equal-work comparison's report: a table per cluster size and workload (convergence
// time, per-key quantiles, bytes per write, peak memory), the verdicts as ratios with
// PASS/FAIL, rumordb's partial-replication numbers beside them (labelled as not equal
// work), the rules, and a bar plot. Pure: returns text.
import type { EqualWorkRow, EqualWorkVerdict } from '../peers/equal-work/index.js'
import { medianOf } from '../peers/equal-work/judge.js'
import { barChartSvg } from '../lib/svg-plot.js'
import { formatMarkdownTable, formatMiB, formatMs, formatNumber, formatTable } from '../lib/table.js'
import type { BenchReport } from '../lib/report.js'
import { PARTIAL_WORKLOADS, partialLabel, type PartialResult } from './equal-work-partial.js'
import { EQUAL_WORKLOADS, type EqualWorkload } from '../peers/equal-work/workloads.js'
import { COUNTER_PARTITION } from '../peers/equal-work/counter-plan.js'
import type { ProfileBreakdown } from './equal-work-profile.js'
import { counterNotes, counterTable, type CounterCliOptions, type CounterResults } from './equal-work-counter-report.js'

export interface EqualWorkCliOptions {
  readonly systems: readonly string[]
  readonly nodes: readonly number[]
  readonly writes: number
  readonly workloads: readonly EqualWorkload[]
  /** The counter workload under a partition, when named in --workloads (absent in results from before it existed). */
  readonly counterPartition?: CounterCliOptions
  readonly repeats: number
  readonly pollMs: number
  readonly convergeTimeoutMs: number
  /** Writes each writer keeps in flight (1: each awaited before the next is issued, as the peer benchmark does). */
  readonly inFlight: number
  /** rumordb's write quorum in the equal-work runs (default 1: a write returns once one replica committed it). */
  readonly rumordbW: number
  /** Also run rumordb's partial-replication cluster runs (n = 3, HTTP) for its own numbers beside. */
  readonly partial: boolean
  /** Profile one rumordb node during the burst at the largest size (first repeat). */
  readonly profile: boolean
  /** Which node --profile profiles (default 0, the writer). */
  readonly profileNode?: number
  readonly outDir: string
  readonly plots: boolean
  readonly quick: boolean
}

export interface ProfileSummary {
  readonly file: string
  readonly what: string
  readonly top: readonly { readonly name: string; readonly selfMs: number; readonly share: number }[]
  /** Self time by category (equal-work-profile.ts); absent in results written before it was recorded. */
  readonly breakdown?: ProfileBreakdown
}

export interface EqualWorkResults {
  readonly versions: Readonly<Record<string, string>>
  readonly rows: readonly EqualWorkRow[]
  readonly verdicts: readonly EqualWorkVerdict[]
  readonly partial: readonly PartialResult[] | null
  readonly partialSettings: { readonly n: number; readonly w: number }
  readonly trialFailures: readonly string[]
  readonly profile: ProfileSummary | null
  readonly plots: readonly string[]
  readonly markdown: string | null
  /** The counter workload's rows, when it ran. */
  readonly counters?: CounterResults
}

export type EqualWorkReport = BenchReport<EqualWorkCliOptions, EqualWorkResults>

export const WORKLOAD_TEXT: Readonly<Record<EqualWorkload, string>> = {
  burst: 'burst: every write on node 0',
  'all-writers': 'all-writers: the writes spread over every node, all writing at once',
  conflict: 'conflict: nodes 0 and 1 write the same keys at once',
}

export const CONVERGED_MEANS =
  'Converged: every node reads every written key with its final value from its own local state (no network; the value compared). ' +
  'For burst and all-writers the final value is known; for conflict it is whichever write the system keeps, and every node must hold the same one. ' +
  "Every node of every system runs in its own process; writes enter through each system's embedded API in the writer's own process, " +
  'each awaited until that node applied it. rumordb replicates every key to every node (n = cluster size).'

/** One table: a row per system and workload at one size. */
export function equalWorkTable(rows: readonly EqualWorkRow[], nodes: number): { header: string[]; rows: string[][] } {
  const mine = rows.filter((r) => r.nodes === nodes)
  return {
    header: ['workload', 'system', 'converged p50 (runs)', 'per-key p50', 'p95', 'p99', 'max', 'bytes/write', 'CPU/write', 'peak RSS node / cluster', 'writes applied in'],
    rows: mine.map((r) => [
      r.workload,
      r.system,
      r.failed > 0 ? `${r.failed}/${r.runs} FAILED` : r.convergeMs.length === 0 ? '-' : `${formatMs(medianOf(r.convergeMs))} (${r.convergeMs.length})`,
      r.perKeyMs === null ? '-' : formatMs(r.perKeyMs.p50),
      r.perKeyMs === null ? '-' : formatMs(r.perKeyMs.p95),
      r.perKeyMs === null ? '-' : formatMs(r.perKeyMs.p99),
      r.perKeyMs === null ? '-' : formatMs(r.perKeyMs.max),
      r.bytesPerWrite === null ? '-' : `${formatNumber(r.bytesPerWrite)} B`,
      r.cpuMsPerWrite === null || r.cpuMsPerWrite === undefined ? '-' : `${formatNumber(r.cpuMsPerWrite, 2)} ms${r.cpuSystemShare === null || r.cpuSystemShare === undefined ? '' : ` (${Math.round(100 * r.cpuSystemShare)}% sys)`}`,
      r.peakRssNodeBytes === null || r.peakRssClusterBytes === null ? '-' : `${formatMiB(r.peakRssNodeBytes)} / ${formatMiB(r.peakRssClusterBytes)} MiB`,
      r.writeMs === null ? '-' : formatMs(r.writeMs),
    ]),
  }
}

export function verdictTable(verdicts: readonly EqualWorkVerdict[]): { header: string[]; rows: string[][] } {
  return {
    header: ['nodes', 'workload', 'rumordb ÷ fastest peer', 'goal', 'verdict', 'detail'],
    rows: verdicts.map((v) => [String(v.nodes), v.workload, v.ratio === null ? '-' : `${v.ratio.toFixed(2)}×`, `≤ ${v.limit}×`, v.verdict, v.detail]),
  }
}

export function partialTable(partial: readonly PartialResult[], settings: { n: number; w: number }): { header: string[]; rows: string[][] } {
  const rows: string[][] = []
  for (const p of partial) {
    if (p.error !== undefined && p.runs.length === 0) rows.push([String(p.nodes), '-', `FAILED: ${p.error}`])
    for (const w of PARTIAL_WORKLOADS) {
      const runs = p.runs.filter((r) => r.workload === w)
      if (runs.length === 0) continue
      const ok = runs.flatMap((r) => (r.fromFirstWriteMs === null ? [] : [r.fromFirstWriteMs]))
      rows.push([String(p.nodes), partialLabel(w, settings), ok.length < runs.length ? `${runs.length - ok.length}/${runs.length} FAILED` : `${formatMs(medianOf(ok))} (${ok.length})`])
    }
  }
  return { header: ['nodes', 'rumordb, NOT equal work', 'first write → converged p50 (runs)'], rows }
}

export function formatEqualWorkReport(report: EqualWorkReport): string {
  const { options: o, results } = report
  const lines = [
    `equal work: ${o.workloads.length === 0 ? 'counters only' : `${formatNumber(o.writes)} writes per workload`}, ${o.repeats} fresh cluster(s) per system and size, loopback only; systems ${o.systems.join(', ')}`,
    `machine: ${report.machine.cores} cores, node ${report.machine.node}, load ${report.machine.loadAverage.map((l) => l.toFixed(2)).join(' ')} (after: ${report.machineAfter?.loadAverage.map((l) => l.toFixed(2)).join(' ') ?? '?'})`,
  ]
  if (o.workloads.length > 0) {
    for (const nodes of o.nodes) {
      const t = equalWorkTable(results.rows, nodes)
      lines.push('', `${nodes} nodes:`, formatTable(t.header, t.rows))
    }
  }
  if (results.counters !== undefined) {
    for (const nodes of o.nodes) {
      const t = counterTable(results.counters.rows, nodes)
      lines.push('', `${nodes} nodes, counters under a partition that heals:`, formatTable(t.header, t.rows))
    }
  }
  if (results.verdicts.length > 0) {
    const v = verdictTable(results.verdicts)
    lines.push('', `goal (issue 15, equal work only): ${GOAL_TEXT}:`, formatTable(v.header, v.rows))
  }
  if (results.partial !== null) {
    const p = partialTable(results.partial, results.partialSettings)
    lines.push('', "rumordb's own partial-replication runs in this run (not equal work, not judged):", formatTable(p.header, p.rows))
  }
  if (results.trialFailures.length > 0) lines.push('', 'FAILED:', ...results.trialFailures.map((f) => `  ${f}`))
  if (results.profile !== null) {
    const b = results.profile.breakdown
    lines.push('', `profile: ${results.profile.what} (${results.profile.file})`)
    if (b !== undefined) {
      lines.push(`  ${breakdownHead(b)}; self time by category:`)
      for (const c of b.categories.slice(0, 14)) lines.push(`  ${(100 * c.share).toFixed(1).padStart(5)}%  ${formatNumber(c.ms).padStart(6)} ms  ${c.category}`)
    }
    lines.push('  top functions by self time:')
    for (const e of results.profile.top) lines.push(`  ${(100 * e.share).toFixed(1).padStart(5)}%  ${formatNumber(e.selfMs).padStart(6)} ms  ${e.name}`)
  }
  lines.push('', ...notes(o, results))
  return lines.join('\n')
}

const GOAL_TEXT = 'rumordb ≤ 0.5× the fastest peer on the 5-node burst, ≤ 1× on every other workload and size (counters: heal → converged, per partition length)'

function notes(o: EqualWorkCliOptions, results: EqualWorkResults): string[] {
  const registers =
    o.workloads.length === 0
      ? []
      : [
          CONVERGED_MEANS,
          'converged p50: median over runs of first write → every node held every final value. per-key: each key from its last write until the last node held its final value, pooled over runs (nearest rank).',
          "bytes/write: what every node's TCP sockets wrote from just before the first write until converged, ÷ writes (framing and encryption in, TCP/IP headers out; background traffic of the window in).",
          "CPU/write: the CPU time (user + system) of every node process over the same window, ÷ writes: what one write costs the whole cluster (the harness's own reads of each node's local state included).",
        ]
  const counters =
    o.counterPartition === undefined
      ? ['Not run: the counter workload under a partition that heals (Maelstrom-style); ask for it with --workloads counter-partition [--partition-s 0,2,5,10].']
      : counterNotes(o.counterPartition, results.counters?.notRun ?? {})
  return [
    ...registers,
    `Each writer issues its writes in order, ${o.inFlight === 1 ? 'each awaited before the next' : `${o.inFlight} in flight`}. rumordb writes with w = ${o.rumordbW} (the call returns once that many replicas committed it; with n = cluster size every node is a replica of every key, so the writer applies each unkeyed write itself and sends its delta to the others); GUN's put and Automerge's change return once applied locally, OrbitDB's put once appended to its local log.`,
    "peak RSS: the largest node process, and the sum over a cluster's processes (each includes Node.js and tsx).",
    `Each node reports changes at most every ${o.pollMs} ms; times come from the change events themselves (OrbitDB: from a local read after each update event).`,
    ...counters,
  ]
}

export function formatEqualWorkMarkdown(report: EqualWorkReport): string {
  const { options: o, results } = report
  const lines = [
    `# Equal-work comparison, ${report.date.slice(0, 10)}`,
    '',
    `\`${commandOf(o)}\` — ${report.machine.cores} cores (${report.machine.cpuModel}), node ${report.machine.node}, load ${report.machine.loadAverage.map((l) => l.toFixed(2)).join(' ')} at the start; versions ${Object.entries(results.versions).map(([k, v]) => `${k} ${v}`).join(', ')}.`,
    '',
    ...(o.workloads.length === 0 ? [] : [CONVERGED_MEANS, '']),
  ]
  if (results.verdicts.length > 0) {
    const v = verdictTable(results.verdicts)
    lines.push('## Goal (equal work only)', '', `${GOAL_TEXT}.`, '', formatMarkdownTable(v.header, v.rows), '')
  }
  if (o.workloads.length > 0) {
    for (const nodes of o.nodes) {
      const t = equalWorkTable(results.rows, nodes)
      lines.push(`## ${nodes} nodes`, '', formatMarkdownTable(t.header, t.rows), '')
    }
  }
  if (results.counters !== undefined) {
    for (const nodes of o.nodes) {
      const t = counterTable(results.counters.rows, nodes)
      lines.push(`## ${nodes} nodes: counters under a partition that heals`, '', formatMarkdownTable(t.header, t.rows), '')
    }
  }
  if (results.partial !== null) {
    const p = partialTable(results.partial, results.partialSettings)
    lines.push("## rumordb's partial-replication runs (not equal work)", '', formatMarkdownTable(p.header, p.rows), '')
  }
  if (results.trialFailures.length > 0) lines.push('## FAILED', '', ...results.trialFailures.map((f) => `- ${f}`), '')
  if (results.profile !== null) {
    const b = results.profile.breakdown
    lines.push('## Profile', '', `${results.profile.what}: \`${results.profile.file}\`.`, '')
    if (b !== undefined) {
      lines.push(`${breakdownHead(b)}. Self time by category (shares of the sampled busy time):`, '', '| share | ms | category |', '| ---: | ---: | --- |')
      for (const c of b.categories.slice(0, 14)) lines.push(`| ${(100 * c.share).toFixed(1)}% | ${formatNumber(c.ms)} | ${c.category} |`)
      lines.push('')
    }
    lines.push('Top functions by self time (of the whole window):', '', '| self | ms | function |', '| ---: | ---: | --- |')
    for (const e of results.profile.top) lines.push(`| ${(100 * e.share).toFixed(1)}% | ${formatNumber(e.selfMs)} | \`${e.name}\` |`)
    lines.push('')
  }
  lines.push('## Notes', '', ...notes(o, results).map((n) => `- ${n}`), '')
  for (const plot of results.plots) lines.push(`![equal-work convergence times](${plot.split('/').pop()})`)
  return `${lines.join('\n')}\n`
}

/** A bar per system, a group per workload and size: median first write → converged. */
export function equalWorkPlot(report: EqualWorkReport): string {
  const { options: o, results } = report
  const categories: string[] = []
  const keys: { nodes: number; workload: EqualWorkload }[] = []
  for (const nodes of o.nodes) {
    for (const workload of o.workloads) {
      categories.push(`${workload}, ${nodes} nodes`)
      keys.push({ nodes, workload })
    }
  }
  const series = o.systems.map((system, i) => ({
    label: system,
    color: i,
    values: keys.map(({ nodes, workload }) => {
      const r = results.rows.find((x) => x.system === system && x.nodes === nodes && x.workload === workload)
      return r === undefined || r.failed > 0 || r.convergeMs.length === 0 ? null : medianOf(r.convergeMs)
    }),
  }))
  return barChartSvg({
    title: `Equal work: ${formatNumber(o.writes)} writes, every node holds every write`,
    subtitle: `each node its own process, writes through the embedded API, median of ${o.repeats}; ${report.machine.cores} cores, node ${report.machine.node}, ${report.date.slice(0, 10)}`,
    xLabel: 'workload and cluster size',
    yLabel: 'first write → every node holds every final value (ms)',
    categories,
    series,
    missingLabel: 'FAILED',
    footnote: `rumordb: n = cluster size, w = ${o.rumordbW}; writes ${o.inFlight === 1 ? 'awaited one at a time' : `${o.inFlight} in flight`}. ${commandOf(o)}`,
  })
}

export function commandOf(o: EqualWorkCliOptions): string {
  const c = o.counterPartition
  const workloads = [...o.workloads, ...(c === undefined ? [] : [COUNTER_PARTITION])]
  const chosen = [
    ...(workloads.join(',') === EQUAL_WORKLOADS.join(',') ? [] : [`--workloads ${workloads.join(',')}`]),
    ...(c === undefined ? [] : [`--partition-s ${c.partitionS.join(',')}`, `--increments ${c.increments}`, `--counters ${c.counters}`, `--seed ${c.seed}`]),
  ]
  if (o.quick) return ['npm run bench -- cluster --equal-work --quick', ...chosen].join(' ')
  const writes = o.workloads.length === 0 ? [] : [`--writes ${o.writes}`]
  const parts = ['npm run bench -- cluster --equal-work', `--nodes ${o.nodes.join(',')}`, ...writes, `--repeats ${o.repeats}`, ...chosen]
  if (o.systems.join(',') !== 'rumordb,gun,automerge') parts.push(`--systems ${o.systems.join(',')}`)
  if (o.inFlight !== 1) parts.push(`--in-flight ${o.inFlight}`)
  if (o.profile) parts.push('--profile')
  if (o.profile && (o.profileNode ?? 0) !== 0) parts.push(`--profile-node ${o.profileNode}`)
  return parts.join(' ')
}

function breakdownHead(b: ProfileBreakdown): string {
  return `window ${formatMs(b.windowMs)}: busy ${formatMs(b.busyMs)}, idle ${formatMs(b.idleMs)}, not scheduled ${formatMs(b.gapMs)} (gaps of over 1 ms between 100 µs samples)`
}
