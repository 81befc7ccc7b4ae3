// The simulation benchmark's plots, from its report alone (so `--render` can redraw an
// old run): rounds to converge against cluster size with the push-pull bound and the
// goal's limit drawn beside them, one plot per loss rate; bytes per node against cluster
// size, one plot per scenario; and, when there are several seeds, the CDF of rounds over
// seeds, one plot per cluster size. Each carries the run's context in its subtitle.
import type { ConfigSummary, SimReport } from './sim-types.js'
import { epidemicBound, type Scenario } from './sim-convergence.js'
import { describeSeeds } from './sim-report.js'
import { cdfPoints, lineChartSvg, type LineSeries, type Point } from './svg-plot.js'
import { formatNumber } from './table.js'

export interface SimPlot {
  /** Suffix after `<date>-`: e.g. `sim-rounds-loss-0.svg`. */
  readonly name: string
  readonly svg: string
}

/** The goal the limit line shows: `maxRatio` × the bound, judged at `nodes` and `loss`. */
export interface PlotGoal {
  readonly scenario: Scenario
  readonly nodes: number
  readonly loss: number
  readonly maxRatio: number
}

/** Palette indices: a scenario keeps its colour in every plot; the references take others. */
const SCENARIO_COLOR: Record<Scenario, number> = { 'ae-only': 0, 'rumor-ae': 1, placement: 4 }
const SCENARIO_MARKER: Record<Scenario, number> = { 'ae-only': 0, 'rumor-ae': 1, placement: 2 }
const BOUND_COLOR = 8
const LIMIT_COLOR = 2

/** One line of what ran where, for every plot's subtitle. */
export function plotContext(report: SimReport): string {
  const m = report.machine
  const o = report.options
  return `${m.cpuModel}, ${m.cores} cores, node ${m.node} · ${report.date.slice(0, 10)} · ${describeSeeds(o)} · simulator, anti-entropy every ${o.antiEntropyIntervalMs / 1000} s`
}

export function buildSimPlots(report: SimReport, goal: PlotGoal): SimPlot[] {
  const { options: o, results: r } = report
  const context = plotContext(report)
  const scenarios = unique(r.summaries.map((s) => s.scenario))
  const losses = unique(r.summaries.map((s) => s.loss)).sort((a, b) => a - b)
  const nodes = unique(r.summaries.map((s) => s.nodes)).sort((a, b) => a - b)
  const seedsRun = Math.max(0, ...r.summaries.map((s) => s.seeds))
  const roundUnit = `1 round = ${o.antiEntropyIntervalMs / 1000} s`
  const plots: SimPlot[] = []

  // 1. Rounds to converge vs nodes, one plot per loss rate, with the bound and the goal's limit.
  const bound = boundCurve(nodes)
  for (const loss of losses) {
    const here = r.summaries.filter((s) => s.loss === loss)
    const series: LineSeries[] = scenarios.map((scenario) => ({
      label: `${scenarioLabel(scenario, o.replicas, o.keys)}${seedsRun > 1 ? `, median of ${seedsRun} seeds` : ''}`,
      color: SCENARIO_COLOR[scenario],
      marker: SCENARIO_MARKER[scenario],
      points: converged(here, scenario).map((s) => ({ x: s.nodes, y: (s.rounds as NonNullable<ConfigSummary['rounds']>).p50 })),
    }))
    if (seedsRun > 1 && loss === goal.loss) {
      series.push({
        label: `${goal.scenario}: max of ${seedsRun} seeds (the goal is judged on it)`,
        color: SCENARIO_COLOR[goal.scenario],
        dash: 2,
        marker: SCENARIO_MARKER[goal.scenario],
        points: converged(here, goal.scenario).map((s) => ({ x: s.nodes, y: (s.rounds as NonNullable<ConfigSummary['rounds']>).max })),
      })
    }
    series.push(
      { label: 'bound log₃N + ln ln N', color: BOUND_COLOR, dash: 1, markers: bound.length === 1, points: bound },
      { label: `goal limit ${goal.maxRatio} × bound`, color: LIMIT_COLOR, dash: 3, markers: bound.length === 1, points: bound.map((p) => ({ x: p.x, y: goal.maxRatio * p.y })) },
    )
    const failed = failures(here, o.maxRounds)
    const flat = nearZero(series.slice(0, scenarios.length), scenarios)
    plots.push({
      name: `sim-rounds-loss-${percent(loss)}.svg`,
      svg: lineChartSvg({
        title: `Rounds until every replica has the update, ${percent(loss)}% frame loss`,
        subtitle: context,
        xLabel: 'nodes in the cluster (log scale)',
        yLabel: `rounds to converge (${roundUnit})`,
        xLog: true,
        xTicks: nodes,
        series,
        footnote: [
          flat,
          failed.length > 0
            ? `Not plotted: ${failed.join('; ')}.`
            : `The goal: ${goal.scenario} at ${formatNumber(goal.nodes)} nodes, ${percent(goal.loss)}% loss, every seed within ${goal.maxRatio} × bound.` +
              (scenarios.includes('placement') && flat === '' ? ` Placement: slowest key, write → its ${o.replicas} replicas equal.` : ''),
        ]
          .filter((x) => x !== '')
          .join(' '),
      }),
    })
  }

  // 2. Bytes per node vs nodes, one plot per scenario, a line per loss rate.
  for (const scenario of scenarios) {
    const here = r.summaries.filter((s) => s.scenario === scenario)
    const failed = failures(here, o.maxRounds)
    plots.push({
      name: `sim-bytes-${scenario}.svg`,
      svg: lineChartSvg({
        title: `Bytes each node sent until converged: ${scenarioTitle(scenario, o.replicas, o.keys)}`,
        subtitle: context,
        xLabel: 'nodes in the cluster (log scale)',
        yLabel: 'bytes sent per node (B, mean over seeds)',
        xLog: true,
        xTicks: nodes,
        series: losses.map((loss, i) => ({
          label: `${percent(loss)}% frame loss`,
          color: i,
          dash: i,
          marker: i,
          points: here.filter((s) => s.loss === loss && s.rounds !== null).map((s) => ({ x: s.nodes, y: s.bytesPerNode })),
        })),
        footnote:
          failed.length > 0
            ? `Not plotted: ${failed.join('; ')}.`
            : scenario === 'placement'
              ? `Engine frames sent from the first write until converged, heartbeats apart. ${formatNumber(o.keys)} keys in all, so fewer per node as N grows.`
              : 'Engine frames each node sent from the injection until the last replica had the update; heartbeats not counted.',
      }),
    })
  }

  // 3. CDF of rounds over seeds, one plot per cluster size: only with several seeds.
  if (seedsRun > 1) {
    for (const n of nodes) {
      const series: LineSeries[] = []
      for (const scenario of scenarios) {
        losses.forEach((loss, i) => {
          const runs = r.runs.filter((x) => x.scenario === scenario && x.nodes === n && x.loss === loss)
          const rounds = runs.filter((x) => x.converged).map((x) => x.rounds as number)
          if (runs.length === 0) return
          // Scaled by converged ÷ run, so a line with FAILED seeds stops short of 1.
          const scale = rounds.length / runs.length
          series.push({
            label: `${scenario}, ${percent(loss)}% loss (${rounds.length}/${runs.length} converged)`,
            color: SCENARIO_COLOR[scenario],
            dash: i,
            step: true,
            points: cdfPoints(rounds).map((p) => ({ x: p.x, y: p.y * scale })),
          })
        })
      }
      plots.push({
        name: `sim-cdf-${n}n.svg`,
        svg: lineChartSvg({
          title: `CDF of rounds to converge over seeds, ${formatNumber(n)} nodes`,
          subtitle: context,
          xLabel: `rounds to converge (${roundUnit})`,
          yLabel: 'fraction of seeds converged',
          yRange: [0, 1],
          series,
          footnote: `One step per seed. A seed not converged within ${o.maxRounds} rounds is FAILED, not a step: its line ends below 1.`,
        }),
      })
    }
  }
  return plots
}

function scenarioLabel(scenario: Scenario, replicas: number, keys: number): string {
  switch (scenario) {
    case 'ae-only':
      return 'ae-only: anti-entropy only, n = N'
    case 'rumor-ae':
      return 'rumor-ae: rumor + anti-entropy, n = N'
    case 'placement':
      return `placement: n = ${replicas}, slowest of ${formatNumber(keys)} keys`
  }
}

function scenarioTitle(scenario: Scenario, replicas: number, keys: number): string {
  switch (scenario) {
    case 'ae-only':
      return 'ae-only (anti-entropy only, n = N)'
    case 'rumor-ae':
      return 'rumor-ae (rumor + anti-entropy, n = N)'
    case 'placement':
      return `placement (n = ${replicas}, ${formatNumber(keys)} keys written)`
  }
}

/**
 * Lines that hug 0 hide each other (rumor-ae's one broadcast, placement's direct writes
 * converge in hundredths of a round): say their values, since the plot cannot.
 */
function nearZero(series: readonly LineSeries[], scenarios: readonly Scenario[]): string {
  const top = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.y)))
  const flat = series
    .map((s, i) => ({ scenario: scenarios[i] as Scenario, max: Math.max(...s.points.map((p) => p.y)) }))
    .filter((s) => Number.isFinite(s.max) && s.max < 0.02 * top)
  if (flat.length === 0) return ''
  return `Near 0 and overlapping: ${flat.map((s) => `${s.scenario} ≤ ${Number(s.max.toPrecision(2))}`).join(', ')} rounds.`
}

function converged(summaries: readonly ConfigSummary[], scenario: Scenario): ConfigSummary[] {
  return summaries.filter((s) => s.scenario === scenario && s.rounds !== null)
}

/** "placement at 1,000 nodes, 30% loss FAILED (2/5 seeds within 90 rounds)" per FAILED configuration. */
function failures(summaries: readonly ConfigSummary[], maxRounds: number): string[] {
  return summaries
    .filter((s) => s.rounds === null)
    .map((s) => `${s.scenario} at ${formatNumber(s.nodes)} nodes, ${percent(s.loss)}% loss FAILED (${s.converged}/${s.seeds} seeds within ${maxRounds} rounds)`)
}

/** The bound as a smooth curve over the node counts run (log-spaced samples). */
function boundCurve(nodes: readonly number[]): Point[] {
  const lo = nodes[0]
  const hi = nodes[nodes.length - 1]
  if (lo === undefined || hi === undefined) return []
  if (lo === hi) return [{ x: lo, y: epidemicBound(lo) }]
  const steps = 40
  return Array.from({ length: steps + 1 }, (_, i) => {
    const x = i === steps ? hi : lo * (hi / lo) ** (i / steps)
    return { x, y: epidemicBound(x) }
  })
}

/** 0.1 → "10", 0.125 → "12.5": for titles and file names. */
function percent(loss: number): string {
  return String(Number((loss * 100).toPrecision(3)))
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)]
}
