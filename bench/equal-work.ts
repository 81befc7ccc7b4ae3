// `npm run bench -- cluster --equal-work [--quick] [--nodes 3,5] [--writes 1000] [--repeats 3]
//    [--systems rumordb,gun,automerge[,orbitdb]] [--workloads burst,all-writers,conflict[,counter-partition]]
//    [--partition-s 0,2,5,10] [--increments 500] [--counters 10] [--seed N] [--heal-timeout-s 30]
//    [--timeout-s 60] [--poll-ms 20] [--in-flight 1] [--rumordb-w 1] [--no-partial] [--profile [--profile-node N]]
//    [--out DIR] [--no-plots]`
// (also `npm run bench -- equal-work …`)
//
// The equal-work comparison of issue 15: rumordb and the peer systems on the same
// workloads, every node of every system in its own process, writes entering the writer's
// process through each system's embedded API, converged when every node reads every key's
// final value locally; rumordb replicates every key to every node (n = cluster size). The
// verdict, from this run only: rumordb ≤ 0.5× the fastest peer on the 5-node burst, ≤ 1× on
// every other workload and size. The counter workload under a partition that heals
// (Maelstrom-style, only when named) is judged per partition length on heal → converged,
// ≤ 1×. rumordb's partial-replication cluster runs (n = 3, HTTP) run too, with the register
// workloads, as its own numbers beside, not judged. Writes <date>-equal-work.json, a
// Markdown report and SVG plots; with --profile, a CPU profile of rumordb's node 0 during
// the burst at the largest size. Needs the peers installed: bash bench/peers/install.sh.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Profiler } from 'node:inspector'
import { positiveInt } from './lib/args.js'
import { benchMain } from './lib/bench-main.js'
import { machineInfo } from './lib/machine.js'
import { topSelfTime } from './lib/profile.js'
import { DEFAULT_RESULTS_DIR, writeReport } from './lib/report.js'
import { randomInt } from 'node:crypto'
import { runPartialReplication } from './cluster/equal-work-partial.js'
import { counterPlot, type CounterCliOptions } from './cluster/equal-work-counter-report.js'
import { profileBreakdown } from './cluster/equal-work-profile.js'
import {
  commandOf,
  equalWorkPlot,
  formatEqualWorkMarkdown,
  formatEqualWorkReport,
  type EqualWorkCliOptions,
  type EqualWorkReport,
  type ProfileSummary,
} from './cluster/equal-work-report.js'
import {
  cellsOf,
  COUNTER_PARTITION,
  counterCells,
  NO_COUNTER_PARTITION,
  summarizeCounterTrials,
  DEFAULT_EQUAL_WORK_SYSTEMS,
  EQUAL_WORK_SYSTEMS,
  EQUAL_WORKLOADS,
  isEqualWorkload,
  isNodeSystemName,
  judgeEqualWork,
  runEqualWork,
  summarizeTrials,
  type EqualWorkTrial,
} from './peers/equal-work/index.js'
import { installedVersion, missingPeerPackages, PeersNotInstalledError, SYSTEMS, type SystemName } from './peers/index.js'

export const USAGE = `usage: npm run bench -- cluster --equal-work [--quick] [--nodes 3,5] [--writes N] [--repeats N]
             [--systems rumordb,gun,automerge,orbitdb] [--workloads burst,all-writers,conflict,counter-partition]
             [--partition-s 0,2,5,10] [--increments N] [--counters N] [--seed N] [--heal-timeout-s S]
             [--timeout-s S] [--poll-ms MS] [--in-flight N] [--rumordb-w W] [--no-partial] [--profile [--profile-node N]] [--out DIR] [--no-plots]
  Every node of every system in its own process; rumordb with n = cluster size. OrbitDB only when
  named in --systems (slow: allow --timeout-s). --quick: one repeat (and --partition-s 0,5). --in-flight: writes each writer
  keeps in flight (default 1, each awaited before the next, as the peer benchmark does).
  counter-partition (only when named): every node adds to shared counters while the cluster is cut in two halves
  for each --partition-s in turn, then healed; --increments over all nodes (default 500) on --counters (default 10),
  --seed (default random, printed), converged within --heal-timeout-s of the heal (default 30). Install the peers first:
  bash bench/peers/install.sh
       npm run bench -- cluster --equal-work --render <date>-equal-work.json   (redraws the report and plot)`

const PARTIAL = { n: 3, r: 2, w: 2 } as const

export function parseEqualWorkOptions(args: string[]): EqualWorkCliOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      'equal-work': { type: 'boolean' },
      quick: { type: 'boolean' },
      nodes: { type: 'string' },
      writes: { type: 'string' },
      repeats: { type: 'string' },
      systems: { type: 'string' },
      workloads: { type: 'string' },
      'partition-s': { type: 'string' },
      increments: { type: 'string' },
      counters: { type: 'string' },
      seed: { type: 'string' },
      'heal-timeout-s': { type: 'string' },
      'timeout-s': { type: 'string' },
      'poll-ms': { type: 'string' },
      'rumordb-w': { type: 'string' },
      'in-flight': { type: 'string' },
      'no-partial': { type: 'boolean' },
      profile: { type: 'boolean' },
      'profile-node': { type: 'string' },
      out: { type: 'string' },
      'no-plots': { type: 'boolean' },
    },
  })
  const quick = values.quick === true
  const systems = values.systems === undefined ? [...DEFAULT_EQUAL_WORK_SYSTEMS] : values.systems.split(',').map((s) => s.trim())
  for (const s of systems) if (!isNodeSystemName(s)) throw new RangeError(`--systems: unknown system ${s}; known: ${EQUAL_WORK_SYSTEMS.join(', ')}`)
  const named = values.workloads === undefined ? [...EQUAL_WORKLOADS] : values.workloads.split(',').map((w) => w.trim())
  for (const w of named) if (!isEqualWorkload(w) && w !== COUNTER_PARTITION) throw new RangeError(`--workloads: unknown workload ${w}; known: ${[...EQUAL_WORKLOADS, COUNTER_PARTITION].join(', ')}`)
  const workloads = named.filter(isEqualWorkload)
  const nodes = values.nodes === undefined ? [3, 5] : values.nodes.split(',').map((n) => positiveInt('--nodes', n.trim(), 0))
  if (nodes.some((n) => n < 2)) throw new RangeError('--nodes: every cluster needs at least 2 nodes')
  const profileNode = values['profile-node']
  if (profileNode !== undefined && !(Number.isInteger(Number(profileNode)) && Number(profileNode) >= 0 && Number(profileNode) < Math.max(...nodes))) {
    throw new RangeError(`--profile-node must be a node index below ${Math.max(...nodes)}, got ${profileNode}`)
  }
  const counterOnly = ['partition-s', 'increments', 'counters', 'seed', 'heal-timeout-s'] as const
  const counterPartition = named.includes(COUNTER_PARTITION) ? counterOptions(values, quick, nodes) : undefined
  for (const flag of counterOnly) if (counterPartition === undefined && values[flag] !== undefined) throw new RangeError(`--${flag} is for the counter workload: add counter-partition to --workloads`)
  return {
    systems,
    nodes,
    writes: positiveInt('--writes', values.writes, 1000),
    workloads,
    ...(counterPartition === undefined ? {} : { counterPartition }),
    repeats: positiveInt('--repeats', values.repeats, quick ? 1 : 3),
    pollMs: positiveInt('--poll-ms', values['poll-ms'], 20),
    convergeTimeoutMs: 1000 * positiveInt('--timeout-s', values['timeout-s'], 60),
    rumordbW: positiveInt('--rumordb-w', values['rumordb-w'], 1),
    inFlight: positiveInt('--in-flight', values['in-flight'], 1),
    partial: values['no-partial'] !== true,
    profile: values.profile === true || values['profile-node'] !== undefined,
    profileNode: values['profile-node'] === undefined ? 0 : Number(values['profile-node']),
    outDir: values.out ?? DEFAULT_RESULTS_DIR,
    plots: values['no-plots'] !== true,
    quick,
  }
}

function counterOptions(values: Readonly<Record<string, string | boolean | undefined>>, quick: boolean, nodes: readonly number[]): CounterCliOptions {
  const text = (flag: string): string | undefined => values[flag] as string | undefined
  const lengths = text('partition-s')
  const partitionS = lengths === undefined ? (quick ? [0, 5] : [0, 2, 5, 10]) : lengths.split(',').map((s) => Number(s.trim()))
  if (partitionS.length === 0 || partitionS.some((s) => !Number.isFinite(s) || s < 0) || new Set(partitionS).size < partitionS.length) {
    throw new RangeError(`--partition-s takes distinct partition lengths in seconds, 0 or more (0: no cut), got ${lengths}`)
  }
  const counters = positiveInt('--counters', text('counters'), 10)
  const increments = positiveInt('--increments', text('increments'), 500)
  const least = Math.max(...nodes) * counters
  if (increments < least) throw new RangeError(`--increments must be at least nodes × counters (${least}), so that each node adds to every counter; got ${increments}`)
  const seed = text('seed')
  if (seed !== undefined && !(Number.isSafeInteger(Number(seed)) && Number(seed) >= 0)) throw new RangeError(`--seed must be a non-negative integer, got ${seed}`)
  return {
    partitionS,
    increments,
    counters,
    seed: seed === undefined ? randomInt(2 ** 31) : Number(seed),
    healTimeoutMs: 1000 * positiveInt('--heal-timeout-s', text('heal-timeout-s'), quick ? 20 : 30),
  }
}

export async function runEqualWorkBenchmark(o: EqualWorkCliOptions): Promise<{ report: EqualWorkReport; path: string }> {
  const peers = o.systems.filter((s): s is SystemName => s !== 'rumordb')
  const missing = missingPeerPackages(peers)
  if (missing.length > 0) throw new PeersNotInstalledError(`${missing.join(', ')} not installed in bench/peers: run bash bench/peers/install.sh`)
  const date = new Date().toISOString()
  const day = date.slice(0, 10)
  const machine = machineInfo()
  mkdirSync(o.outDir, { recursive: true })
  const largest = Math.max(...o.nodes)
  // Profiles go to <out>/tmp/ (bench/results/tmp/ is not committed): open them in Chrome DevTools or VS Code.
  mkdirSync(join(o.outDir, 'tmp'), { recursive: true })
  const profileNode = o.profileNode ?? 0
  const profilePath = join(o.outDir, 'tmp', `${day}-equal-work-rumordb-node${profileNode}-burst.cpuprofile`)
  const c = o.counterPartition
  if (c !== undefined) console.error(`equal-work: counter-partition seed ${c.seed} (replay with --seed ${c.seed})`)
  const trials = await runEqualWork({
    systems: o.systems,
    nodes: o.nodes,
    writes: o.writes,
    workloads: o.workloads,
    ...(c === undefined ? {} : { counters: { partitionS: c.partitionS, increments: c.increments, counters: c.counters, seed: c.seed, healTimeoutMs: c.healTimeoutMs } }),
    repeats: o.repeats,
    pollMs: o.pollMs,
    startTimeoutMs: 90_000,
    convergeTimeoutMs: o.convergeTimeoutMs,
    inFlight: o.inFlight,
    settings: { rumordb: { w: String(o.rumordbW) } },
    profileOf: (system, nodes, repeat) =>
      o.profile && system === 'rumordb' && nodes === largest && repeat === 0 && o.workloads.includes('burst') ? { node: profileNode, workload: 'burst', path: profilePath } : undefined,
    onTrial: (done, total, trial) => console.error(`equal-work: ${done}/${total} ${describeTrial(trial)}`),
  })
  const partial = o.partial && o.workloads.length > 0
    ? await runPartialReplication(
        { nodes: o.nodes, writes: o.writes, repeats: o.repeats, pollMs: o.pollMs, timeoutMs: o.convergeTimeoutMs, ...PARTIAL },
        (nodes, run) => console.error(`partial replication: ${nodes} nodes ${run.workload} #${run.repeat}: ${run.fromFirstWriteMs === null ? `FAILED ${run.failure ?? ''}` : `${Math.round(run.fromFirstWriteMs)} ms`}`),
      )
    : null
  const rows = summarizeTrials(trials, o.workloads)
  const counterRows = c === undefined ? undefined : summarizeCounterTrials(trials, c.partitionS)
  const verdicts = judgeEqualWork([...cellsOf(rows), ...(counterRows === undefined ? [] : counterCells(counterRows))])
  const trialFailures = trials.flatMap((t) => [
    ...(t.failure === undefined ? [] : [`${t.system} ${t.nodes} nodes #${t.repeat}: ${t.failure}`]),
    ...t.workloads.flatMap((w) => (w.ok ? [] : [`${t.system} ${t.nodes} nodes #${t.repeat} ${w.workload}: ${w.reason}`])),
    ...(t.counters ?? []).flatMap((w) => (w.ok ? [] : [`${t.system} ${t.nodes} nodes #${t.repeat} ${COUNTER_PARTITION} ${w.partitionS} s: ${w.reason}`])),
  ])
  const versions: Record<string, string> = { rumordb: rumordbVersion(), ...Object.fromEntries(peers.map((s) => [SYSTEMS[s].packageName, installedVersion(SYSTEMS[s].packageName)])) }
  const role = profileNode === 0 ? 'the writer' : 'a replica'
  const profile = o.profile ? summarizeProfile(profilePath, `rumordb node ${profileNode} (${role}) during the burst, ${largest} nodes, first repeat`) : null
  const stem = stemOf(o)
  const markdown = join(o.outDir, `${day}-${stem}.md`)
  const base: EqualWorkReport = {
    benchmark: stem,
    date,
    options: o,
    machine,
    machineAfter: machineInfo(),
    results: {
      versions,
      rows,
      verdicts,
      partial,
      partialSettings: { n: PARTIAL.n, w: PARTIAL.w },
      trialFailures,
      profile,
      plots: [],
      markdown,
      ...(counterRows === undefined ? {} : { counters: { rows: counterRows, notRun: Object.fromEntries(o.systems.flatMap((s) => (isNodeSystemName(s) && NO_COUNTER_PARTITION[s] !== undefined ? [[s, NO_COUNTER_PARTITION[s]]] : []))) } }),
    },
  }
  const plots = o.plots ? drawPlots(base, o.outDir) : []
  const report: EqualWorkReport = { ...base, results: { ...base.results, plots } }
  const path = writeReport(o.outDir, report)
  writeFileSync(markdown, formatEqualWorkMarkdown(report))
  return { report, path }
}

/**
 * A run of the counter workload alone is its own result (<date>-equal-work-counters.*), so
 * that it does not overwrite the same day's run of the other workloads.
 */
function stemOf(o: EqualWorkCliOptions): 'equal-work' | 'equal-work-counters' {
  return o.workloads.length === 0 ? 'equal-work-counters' : 'equal-work'
}

/** The plots of a report, next to it: the register workloads' bars, the counter workload's lines. */
function drawPlots(report: EqualWorkReport, dir: string): string[] {
  const day = report.date.slice(0, 10)
  const { options: o, results } = report
  const plots: string[] = []
  if (o.workloads.length > 0) {
    const plot = join(dir, `${day}-equal-work.svg`)
    writeFileSync(plot, `${equalWorkPlot(report)}\n`)
    plots.push(plot)
  }
  if (o.counterPartition !== undefined && results.counters !== undefined) {
    const plot = join(dir, `${day}-equal-work-counters.svg`)
    const subtitle = `each node its own process, median of ${o.repeats}; ${report.machine.cores} cores, node ${report.machine.node}, load ${report.machine.loadAverage[0]?.toFixed(1) ?? '?'}, ${day}`
    writeFileSync(plot, `${counterPlot(results.counters.rows, o.counterPartition, o.systems, o.nodes, subtitle)}\n`)
    plots.push(plot)
  }
  return plots
}

function summarizeProfile(file: string, what: string): ProfileSummary | null {
  try {
    const profile = JSON.parse(readFileSync(file, 'utf8')) as Profiler.Profile
    return { file, what, top: topSelfTime([profile], 15), breakdown: profileBreakdown(profile) }
  } catch {
    return null
  }
}

function describeTrial(t: EqualWorkTrial): string {
  const head = `${t.system} ${t.nodes} nodes #${t.repeat}`
  if (t.failure !== undefined) return `${head}: FAILED ${t.failure}`
  const registers = t.workloads.map((w) => (w.ok ? `${w.workload} ${Math.round(w.convergeMs)} ms` : `${w.workload} FAILED`))
  const counters = (t.counters ?? []).map((w) => `${w.partitionS} s cut: ${w.ok ? `healed → converged ${Math.round(w.healToConvergeMs)} ms` : `FAILED ${w.reason.slice(0, 160)}`}`)
  return `${head}: ${[...registers, ...counters].join(', ')}`
}

function rumordbVersion(): string {
  return (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version
}

/**
 * Redraws the Markdown report and the plot of an earlier run from its JSON, next to it;
 * the profile's breakdown is recomputed when its .cpuprofile is still there.
 */
export function renderEqualWorkReport(file: string): EqualWorkReport {
  const report = JSON.parse(readFileSync(file, 'utf8')) as EqualWorkReport
  if (report.options === undefined || report.benchmark !== stemOf(report.options) || !Array.isArray(report.results?.rows)) throw new Error(`${file} is not an equal-work result`)
  const dir = dirname(file)
  const day = report.date.slice(0, 10)
  const old = report.results.profile
  const profile = old === null ? null : (summarizeProfile(old.file, old.what) ?? old)
  const markdown = join(dir, `${day}-${report.benchmark}.md`)
  const rendered: EqualWorkReport = { ...report, results: { ...report.results, profile, plots: [], markdown } }
  if (report.options.plots) Object.assign(rendered.results, { plots: drawPlots(rendered, dir) })
  writeFileSync(markdown, formatEqualWorkMarkdown(rendered))
  return rendered
}

export async function main(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE)
    return
  }
  const renderAt = args.indexOf('--render')
  if (renderAt >= 0) {
    const file = args[renderAt + 1]
    if (file === undefined || file.startsWith('--')) throw new RangeError(`--render takes the <date>-equal-work.json to redraw\n${USAGE}`)
    const report = renderEqualWorkReport(file)
    console.log(formatEqualWorkReport(report))
    console.log(`\nrendered from: ${file}\nreport:  ${report.results.markdown ?? ''}`)
    return
  }
  try {
    await benchMain(args, {
      usage: USAGE,
      parse: parseEqualWorkOptions,
      run: runEqualWorkBenchmark,
      format: formatEqualWorkReport,
      outputs: (report) => [
        ...(report.results.markdown === null ? [] : [`report:  ${report.results.markdown}`]),
        ...report.results.plots.map((p) => `plot:    ${p}`),
        `command: ${commandOf(report.options)}`,
      ],
    })
  } catch (err) {
    if (!(err instanceof PeersNotInstalledError)) throw err
    console.error(err.message)
    process.exitCode = 1
  }
}
