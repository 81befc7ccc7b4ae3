// `npm run bench -- sim [--quick] [--nodes 10,100,1000] [--loss 0,0.1,0.3] [--seeds K] [--seed S]
//                       [--scenarios ae-only,rumor-ae,placement] [--vnodes V] [--keys K]
//                       [--max-rounds R] [--heartbeat-ms MS] [--jobs J] [--out DIR] [--no-plots]`
// `npm run bench -- sim --render <date>-sim.json [--out DIR] [--no-plots]`
//
// How fast updates reach every replica, on the deterministic simulator with real engines:
//   (1) full replication (n = N) of ONE update injected at one node's replica, with
//       anti-entropy only (rumors off) and with rumor + anti-entropy;
//   (2) n = 3 placement of many keys written through the coordinator at random nodes.
// For every node count, loss rate and seed: rounds (anti-entropy intervals) and simulated
// time until every replica has the update(s), exchanges each node initiated, bytes per
// node, and rounds ÷ the push-pull epidemic bound log₃N + ln ln N. It prints the
// distribution over seeds, judges the goal (AE-only, 1,000 nodes, no loss: within 1.5×
// the bound), and writes the raw runs to <out>/<YYYY-MM-DD>-sim.json, the same tables as
// Markdown to <YYYY-MM-DD>-sim.md and SVG plots to <YYYY-MM-DD>-sim-*.svg. --render redraws
// the Markdown and plots of an earlier run's JSON (beside it, or into --out) without running.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { TOKENS_PER_VNODE } from '../src/cluster/ring/constants.js'
import { positiveInt } from './lib/args.js'
import { machineInfo } from './lib/machine.js'
import { startProgress } from './lib/progress.js'
import { DEFAULT_RESULTS_DIR, writeReport } from './lib/report.js'
import { epidemicBound, NEVER_SUSPECT_PHI, SCENARIOS, type ConvergenceRun, type ConvergenceSetup, type Scenario } from './lib/sim-convergence.js'
import { runSetups } from './lib/sim-pool.js'
import { summarize } from './lib/stats.js'
import { formatNumber } from './lib/table.js'
import { benchMain } from './lib/bench-main.js'
import { buildSimPlots } from './lib/sim-plots.js'
import { formatMarkdown, formatReport, NotASimReportError, parseSimReport } from './lib/sim-report.js'
import { GOAL, type ConfigSummary, type GoalVerdict, type SimBenchOptions, type SimReport, type SimResults } from './lib/sim-types.js'

export { formatMarkdown, formatReport, NotASimReportError }
export { GOAL, type ConfigSummary, type GoalVerdict, type SimBenchOptions, type SimReport, type SimResults }

const FULL: SimBenchOptions = {
  nodes: [10, 100, 1000],
  losses: [0, 0.1, 0.3],
  scenarios: SCENARIOS,
  seed: 1,
  seeds: 5,
  vnodes: 1,
  keys: 1000,
  replicas: 3,
  antiEntropyIntervalMs: 1000,
  heartbeatIntervalMs: 60_000,
  handoffIntervalMs: 1000,
  writeWindowMs: 1000,
  warmupMs: 2000,
  maxRounds: 120,
  jobs: Math.min(2, availableParallelism()),
  outDir: DEFAULT_RESULTS_DIR,
  plots: true,
  progress: process.stderr.isTTY === true,
}

/** The same configurations, one seed each, a shorter limit. */
const QUICK: SimBenchOptions = { ...FULL, seeds: 1, maxRounds: 90 }

/** The goal: AE-only rounds at 1,000 nodes without loss within 1.5 × the bound. */
/** The Markdown report and the plots written beside the results, absolute paths. */
export interface SimFiles {
  readonly markdown: string
  readonly plots: readonly string[]
}

const USAGE =
  'usage: npm run bench -- sim [--quick] [--nodes 10,100,1000] [--loss 0,0.1,0.3] [--seeds K] [--seed S] ' +
  '[--scenarios ae-only,rumor-ae,placement] [--vnodes V] [--keys K] [--max-rounds R] [--heartbeat-ms MS] [--jobs J] [--out DIR] [--no-plots]\n' +
  '       npm run bench -- sim --render <date>-sim.json [--out DIR] [--no-plots]'

export async function main(args: string[]): Promise<void> {
  if (args.some((a) => a === '--render' || a.startsWith('--render='))) {
    await renderMain(args)
    return
  }
  let files: SimFiles | undefined
  await benchMain(args, {
    usage: USAGE,
    parse: parseOptions,
    run: async (o) => {
      const run = await runSimBenchmark(o)
      files = run.files
      return run
    },
    format: formatReport,
    outputs: () => (files === undefined ? [] : fileLines(files)),
  })
}

function fileLines(files: SimFiles): string[] {
  return [`report:  ${files.markdown}`, ...files.plots.map((plot) => `plot:    ${plot}`)]
}

export interface RenderOptions {
  readonly file: string
  /** Default: the JSON's directory. */
  readonly outDir: string | undefined
  readonly plots: boolean
}

export function parseRenderOptions(args: string[]): RenderOptions {
  const { values } = parseArgs({ args, strict: true, options: { render: { type: 'string' }, out: { type: 'string' }, 'no-plots': { type: 'boolean' } } })
  if (values.render === undefined || values.render === '') throw new RangeError('--render takes the <date>-sim.json to redraw')
  return { file: values.render, outDir: values.out, plots: values['no-plots'] !== true }
}

async function renderMain(args: string[]): Promise<void> {
  let options: RenderOptions
  try {
    options = parseRenderOptions(args)
  } catch (err) {
    console.error(`${(err as Error).message} (--render takes only --out and --no-plots)\n${USAGE}`)
    process.exitCode = 2
    return
  }
  let rendered: { report: SimReport; files: SimFiles }
  try {
    rendered = renderSimReport(options)
  } catch (err) {
    if (!(err instanceof NotASimReportError) && (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    console.error((err as Error).message)
    process.exitCode = 1
    return
  }
  console.log(formatReport(rendered.report))
  console.log(`\nrendered from: ${resolve(options.file)}`)
  for (const line of fileLines(rendered.files)) console.log(line)
}

/** Reads an earlier run's JSON and writes its Markdown report and plots; never runs anything. */
export function renderSimReport(options: RenderOptions): { report: SimReport; files: SimFiles } {
  const report = parseSimReport(readFileSync(options.file, 'utf8'), options.file)
  return { report, files: writeSimFiles(report, options.outDir ?? dirname(options.file), options.plots) }
}

/** Writes `<date>-sim.md` and (with `plots`) `<date>-sim-*.svg` into `outDir`. */
export function writeSimFiles(report: SimReport, outDir: string, plots: boolean): SimFiles {
  const dir = resolve(outDir)
  mkdirSync(dir, { recursive: true })
  const day = report.date.slice(0, 10)
  const svgs = plots ? buildSimPlots(report, GOAL) : []
  const plotNames = svgs.map((plot) => `${day}-${plot.name}`)
  svgs.forEach((plot, i) => writeFileSync(join(dir, plotNames[i] as string), `${plot.svg}\n`))
  const markdown = join(dir, `${day}-sim.md`)
  writeFileSync(markdown, formatMarkdown(report, plotNames))
  return { markdown, plots: plotNames.map((name) => join(dir, name)) }
}

export function parseOptions(args: string[]): SimBenchOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      nodes: { type: 'string' },
      loss: { type: 'string' },
      scenarios: { type: 'string' },
      seed: { type: 'string' },
      seeds: { type: 'string' },
      vnodes: { type: 'string' },
      keys: { type: 'string' },
      'max-rounds': { type: 'string' },
      'heartbeat-ms': { type: 'string' },
      jobs: { type: 'string' },
      out: { type: 'string' },
      'no-plots': { type: 'boolean' },
    },
  })
  const base = values.quick === true ? QUICK : FULL
  const nodes = values.nodes === undefined ? base.nodes : list(values.nodes).map((n) => positiveInt('--nodes', n, 0))
  if (nodes.some((n) => n < 2)) throw new RangeError('--nodes must be at least 2: anti-entropy needs a peer')
  const losses = values.loss === undefined ? base.losses : list(values.loss).map(probability)
  const scenarios = values.scenarios === undefined ? base.scenarios : list(values.scenarios).map(scenario)
  return {
    ...base,
    nodes,
    losses,
    scenarios,
    seed: positiveInt('--seed', values.seed, base.seed),
    seeds: positiveInt('--seeds', values.seeds, base.seeds),
    vnodes: positiveInt('--vnodes', values.vnodes, base.vnodes),
    keys: positiveInt('--keys', values.keys, base.keys),
    maxRounds: positiveInt('--max-rounds', values['max-rounds'], base.maxRounds),
    heartbeatIntervalMs: positiveInt('--heartbeat-ms', values['heartbeat-ms'], base.heartbeatIntervalMs),
    jobs: positiveInt('--jobs', values.jobs, base.jobs),
    outDir: values.out ?? base.outDir,
    plots: values['no-plots'] !== true,
  }
}

function list(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s.length > 0)
}

function probability(text: string): number {
  const p = Number(text)
  if (!(p >= 0 && p <= 1)) throw new RangeError(`--loss takes probabilities in [0, 1], got ${text}`)
  return p
}

function scenario(text: string): Scenario {
  if (!(SCENARIOS as readonly string[]).includes(text)) throw new RangeError(`--scenarios takes ${SCENARIOS.join(', ')}; got ${text}`)
  return text as Scenario
}

/** The run of one configuration and seed. */
export function setupOf(o: SimBenchOptions, scenario: Scenario, nodes: number, loss: number, seed: number): ConvergenceSetup {
  return {
    scenario,
    nodes,
    loss,
    seed,
    vnodes: o.vnodes,
    antiEntropyIntervalMs: o.antiEntropyIntervalMs,
    heartbeatIntervalMs: o.heartbeatIntervalMs,
    handoffIntervalMs: o.handoffIntervalMs,
    keys: o.keys,
    replicas: o.replicas,
    writeWindowMs: o.writeWindowMs,
    warmupMs: o.warmupMs,
    maxTimeMs: o.maxRounds * o.antiEntropyIntervalMs,
  }
}

/** Runs every configuration and seed, writes the results, the Markdown report and the plots, and returns their paths. */
export async function runSimBenchmark(o: SimBenchOptions): Promise<{ report: SimReport; path: string; files: SimFiles }> {
  const date = new Date().toISOString()
  const machine = machineInfo()
  const configs = o.nodes.flatMap((nodes) => o.losses.flatMap((loss) => o.scenarios.map((scenario) => ({ scenario, nodes, loss }))))
  const seeds = Array.from({ length: o.seeds }, (_, i) => o.seed + i)
  const setups = configs.flatMap((c) => seeds.map((seed) => setupOf(o, c.scenario, c.nodes, c.loss, seed)))
  // Weighted by node count: a 1,000-node run takes about as long as a hundred 10-node ones.
  const bar = startProgress('sim: node-runs', setups.reduce((sum, s) => sum + s.nodes, 0), o.progress)
  let done = 0
  let runs: ConvergenceRun[]
  try {
    runs = await runSetups(setups, o.jobs, (_, setup) => bar.update((done += setup.nodes)))
  } finally {
    bar.stop()
  }
  const summaries = configs.map((c) => summarizeConfig(c, runs.filter((r) => r.scenario === c.scenario && r.nodes === c.nodes && r.loss === c.loss)))
  const results: SimResults = { summaries, goal: judgeGoal(summaries), runs, notes: notes(o) }
  const report: SimReport = { benchmark: 'sim', date, options: o, machine, machineAfter: machineInfo(), results }
  const path = writeReport(o.outDir, report)
  return { report, path, files: writeSimFiles(report, o.outDir, o.plots) }
}

export function summarizeConfig(c: { scenario: Scenario; nodes: number; loss: number }, runs: readonly ConvergenceRun[]): ConfigSummary {
  const bound = epidemicBound(c.nodes)
  const converged = runs.filter((r) => r.converged)
  const all = runs.length > 0 && converged.length === runs.length
  const rounds = all ? summarize(converged.map((r) => r.rounds as number)) : null
  const mean = (pick: (r: ConvergenceRun) => number): number => runs.reduce((sum, r) => sum + pick(r), 0) / Math.max(1, runs.length)
  const keyRounds = runs.map((r) => r.medianKeyRounds).filter((x): x is number => x !== undefined)
  return {
    ...c,
    seeds: runs.length,
    converged: converged.length,
    bound,
    rounds,
    ratio: rounds === null ? null : { p50: rounds.p50 / bound, p90: rounds.p90 / bound, max: rounds.max / bound },
    timeMs: all ? summarize(converged.map((r) => r.timeMs as number)) : null,
    medianKeyRounds: all && keyRounds.length > 0 ? summarize(keyRounds).p50 : null,
    aeExchangesPerNode: mean((r) => r.aeExchangesPerNode),
    bytesPerNode: mean((r) => r.bytesPerNode),
    heartbeatBytesPerNode: mean((r) => r.heartbeatBytesPerNode),
  }
}

export function judgeGoal(summaries: readonly ConfigSummary[]): GoalVerdict {
  const bound = epidemicBound(GOAL.nodes)
  const limit = GOAL.maxRatio * bound
  const description =
    `${GOAL.scenario}, ${formatNumber(GOAL.nodes)} nodes, ${GOAL.loss * 100}% loss: every seed within ` +
    `${GOAL.maxRatio} × (log₃N + ln ln N) = ${GOAL.maxRatio} × ${bound.toFixed(2)} = ${limit.toFixed(2)} rounds`
  const s = summaries.find((x) => x.scenario === GOAL.scenario && x.nodes === GOAL.nodes && x.loss === GOAL.loss)
  if (s === undefined) return { description, pass: null, limit, maxRounds: null }
  const maxRounds = s.rounds?.max ?? null
  return { description, pass: maxRounds !== null && maxRounds <= limit, limit, maxRounds }
}

function notes(o: SimBenchOptions): string[] {
  return [
    'Rounds = simulated time from the injection until the last replica had the update, ÷ antiEntropyIntervalMs ' +
      `(${o.antiEntropyIntervalMs} ms; each node waits a uniform [0.5, 1.5) × interval between its own exchanges, so ` +
      'rounds are not synchronous). For placement, the time of the slowest key from its write to its replicas being equal.',
    'Bound = log₃N + ln ln N, the rounds a synchronous push-pull epidemic needs (Karp et al. 2000).',
    'ae-only / rumor-ae: one gcounter increment applied at one random node\'s replica (not through the coordinator, which ' +
      'would send it to every replica itself), n = N so every node is a replica; ae-only turns rumors off (EngineConfig.rumors), ' +
      'rumor-ae has the origin broadcast the delta as a rumor, as the coordinator does when it could not deliver to a replica itself. The simulator\'s broadcast delivers ' +
      'to every node directly (a full gossip mesh), so one rumor reaches every node the link does not lose it to.',
    `placement: n = ${o.replicas}, ${formatNumber(o.keys)} keys, one increment each through engine.write at a random node, at uniform ` +
      `instants of a ${o.writeWindowMs} ms window while the cluster runs; a write that throws is retried with the same idempotency key.`,
    `vnodes ${o.vnodes} per node (${o.vnodes * TOKENS_PER_VNODE} ring tokens; small, so 1,000 engines fit one process and start fast). ` +
      `Heartbeats every ${o.heartbeatIntervalMs / 1000} s: they are all-to-all broadcasts, N² frames per interval, and one round of them ` +
      'at 1,000 nodes costs more to simulate than all the anti-entropy of a run; "hb bytes/node" shows the runs long enough to see one. ' +
      `Failure detection is off (phi threshold ${NEVER_SUSPECT_PHI}: no node fails here), member tables are pre-seeded (no joins), ` +
      'and nodes start cut off from each other, so their first heartbeats go nowhere.',
    `Loss applies to every frame (requests, responses, broadcasts) independently; latency 1 ms + exponential jitter (mean 0.5 ms). ` +
      `Bytes/node: bytes each node sent from the injection to the end, heartbeats counted apart. ${o.warmupMs} ms warm-up before the injection.`,
  ]
}
