// What the simulation benchmark prints and writes as Markdown: one table of every
// configuration (rounds to converge over seeds, the bound, ratios, bytes), the goal's
// verdict and the notes; and the check that a JSON file read back is a sim result.
import type { ConfigSummary, SimReport } from './sim-types.js'
import { describeMachine } from './machine.js'
import { formatMarkdownTable, formatNumber, formatTable } from './table.js'
import type { ConvergenceRun } from './sim-convergence.js'

/** A file given to `--render` that is not a `<date>-sim.json`. */
export class NotASimReportError extends Error {
  override name = 'NotASimReportError'
}

interface Table {
  readonly header: string[]
  readonly rows: string[][]
}

function summaryTable(summaries: readonly ConfigSummary[]): Table {
  const header = ['scenario', 'N', 'loss', 'conv', 'rounds p50', 'p90', 'max', 'time p50 (s)', 'bound', 'p50/bound', 'max/bound', 'AE exch/node', 'bytes/node', 'hb bytes/node']
  const fixed = (x: number | undefined, digits = 2): string => (x === undefined ? '-' : x.toFixed(digits))
  const rows = summaries.map((s) => {
    const failed = s.rounds === null
    const f = (x: number | undefined, digits = 2): string => (failed ? 'FAILED' : fixed(x, digits))
    return [
      s.scenario,
      formatNumber(s.nodes),
      `${formatNumber(s.loss * 100)}%`,
      `${s.converged}/${s.seeds}`,
      f(s.rounds?.p50),
      f(s.rounds?.p90),
      f(s.rounds?.max),
      f(s.timeMs === null ? undefined : s.timeMs.p50 / 1000),
      s.bound.toFixed(2),
      f(s.ratio?.p50),
      f(s.ratio?.max),
      s.aeExchangesPerNode.toFixed(1),
      formatNumber(s.bytesPerNode),
      formatNumber(s.heartbeatBytesPerNode),
    ]
  })
  return { header, rows }
}

/** "PASS (max 6.95 rounds)", "FAIL (did not converge in every seed)", "not run". */
function goalVerdict(report: SimReport): { verdict: string; measured: string } {
  const g = report.results.goal
  const verdict = g.pass === null ? 'not run' : g.pass ? 'PASS' : 'FAIL'
  const measured = g.maxRounds === null ? (g.pass === null ? '' : ' (did not converge in every seed)') : ` (max ${g.maxRounds.toFixed(2)} rounds)`
  return { verdict, measured }
}

/** "seed 1" or "seeds 1..5". */
export function describeSeeds(o: { seed: number; seeds: number }): string {
  return o.seeds === 1 ? `seed ${o.seed}` : `seeds ${o.seed}..${o.seed + o.seeds - 1}`
}

function runLine(report: SimReport): string {
  const o = report.options
  return `${describeSeeds(o)}, limit ${o.maxRounds} rounds per run, ${o.jobs} job${o.jobs === 1 ? '' : 's'}`
}

export function formatReport(report: SimReport): string {
  const r = report.results
  const t = summaryTable(r.summaries)
  const { verdict, measured } = goalVerdict(report)
  return [
    `sim: convergence of real engines on the deterministic simulator, ${runLine(report)}`,
    `machine: ${describeMachine(report.machine)}`,
    `after:   load ${report.machineAfter?.loadAverage.join(' ') ?? '?'}, wall ${formatNumber(totalWallSeconds(r.runs))} s in runs`,
    '',
    formatTable(t.header, t.rows),
    '',
    `goal: ${r.goal.description}: ${verdict}${measured}`,
    '',
    'Notes:',
    ...r.notes.map((n, i) => `  ${i + 1}. ${n}`),
  ].join('\n')
}

/** `plots`: the SVG files' names, linked from the report (they sit beside it). */
export function formatMarkdown(report: SimReport, plots: readonly string[]): string {
  const { options: o, results: r } = report
  const t = summaryTable(r.summaries)
  const { verdict, measured } = goalVerdict(report)
  const failed = r.summaries.filter((s) => s.rounds === null)
  const day = report.date.slice(0, 10)
  const out = [
    `# rumordb simulation benchmark, ${day}`,
    '',
    `Machine: ${describeMachine(report.machine)}; load at the end ${report.machineAfter?.loadAverage.join(' ') ?? '?'}; ` +
      `${formatNumber(totalWallSeconds(r.runs))} s of wall time in runs.`,
    '',
    `Real engines on the deterministic simulator: ${o.nodes.map((n) => formatNumber(n)).join(', ')} nodes × ` +
      `${o.losses.map((l) => `${formatNumber(l * 100)}%`).join(', ')} frame loss × ${o.scenarios.join(', ')}; ${runLine(report)}. ` +
      `A configuration that did not converge in every seed within the limit is FAILED, never a number.`,
    '',
    '## Goal',
    '',
    `**${verdict}**${measured}: ${r.goal.description}.`,
    '',
    '## Rounds to converge',
    '',
    'Rounds over seeds (p50, p90, max), the push-pull bound log₃N + ln ln N and the ratios to it, anti-entropy exchanges ' +
      'each node initiated, and bytes each node sent (heartbeats apart), means over seeds.',
    '',
    formatMarkdownTable(t.header, t.rows),
  ]
  if (failed.length > 0) {
    out.push('', ...failed.map((s) => `- ${s.scenario}, ${formatNumber(s.nodes)} nodes, ${formatNumber(s.loss * 100)}% loss: FAILED (${s.converged}/${s.seeds} seeds converged within ${o.maxRounds} rounds)`))
  }
  out.push('', '## Notes', '', ...r.notes.map((n, i) => `${i + 1}. ${n}`))
  if (plots.length > 0) {
    out.push('', '## Plots', '')
    if (o.seeds < 2) out.push(`No CDF of rounds: one seed per configuration (a full run has 5).`, '')
    // A blank line between images, or Markdown runs them together in one paragraph.
    out.push(...plots.flatMap((p, i) => [...(i === 0 ? [] : ['']), `![${p}](${p})`]))
  }
  out.push('', `Raw numbers: \`${day}-sim.json\`.`, '')
  return out.join('\n')
}

function totalWallSeconds(runs: readonly ConvergenceRun[]): number {
  return runs.reduce((sum, r) => sum + r.wallMs, 0) / 1000
}

/** A `<date>-sim.json` read back: the fields the report and plots use, checked, or NotASimReportError. */
export function parseSimReport(text: string, file: string): SimReport {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new NotASimReportError(`${file} is not JSON (${(err as Error).message}): pass a <date>-sim.json written by \`npm run bench -- sim\``)
  }
  const v = value as Partial<SimReport> | null
  const missing = [
    v?.benchmark === 'sim' ? null : 'benchmark "sim"',
    typeof v?.date === 'string' ? null : 'date',
    Array.isArray(v?.options?.nodes) && Array.isArray(v?.options?.losses) ? null : 'options',
    typeof v?.machine?.node === 'string' ? null : 'machine',
    Array.isArray(v?.results?.summaries) && Array.isArray(v?.results?.runs) && Array.isArray(v?.results?.notes) ? null : 'results',
    typeof v?.results?.goal?.description === 'string' ? null : 'results.goal',
  ].filter((x): x is string => x !== null)
  if (missing.length > 0) {
    throw new NotASimReportError(`${file} is not a sim benchmark result (no ${missing.join(', ')}): pass a <date>-sim.json written by \`npm run bench -- sim\``)
  }
  return v as SimReport
}
