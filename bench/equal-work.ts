// `npm run bench -- cluster --equal-work [--quick] [--nodes 3,5] [--writes 1000] [--repeats 3]
//    [--systems rumordb,gun,automerge[,orbitdb]] [--workloads burst,all-writers,conflict]
//    [--timeout-s 60] [--poll-ms 20] [--in-flight 1] [--rumordb-w 1] [--no-partial] [--profile [--profile-node N]]
//    [--out DIR] [--no-plots]`
// (also `npm run bench -- equal-work …`)
//
// The equal-work comparison of issue 15: rumordb and the peer systems on the same
// workloads, every node of every system in its own process, writes entering the writer's
// process through each system's embedded API, converged when every node reads every key's
// final value locally; rumordb replicates every key to every node (n = cluster size). The
// verdict, from this run only: rumordb ≤ 0.5× the fastest peer on the 5-node burst, ≤ 1× on
// every other workload and size. rumordb's partial-replication cluster runs (n = 3, HTTP)
// run too, as its own numbers beside, not judged. Writes <date>-equal-work.json, a Markdown
// report and an SVG plot; with --profile, a CPU profile of rumordb's node 0 during the burst
// at the largest size. Needs the peers installed: bash bench/peers/install.sh.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import type { Profiler } from 'node:inspector'
import { positiveInt } from './lib/args.js'
import { benchMain } from './lib/bench-main.js'
import { machineInfo } from './lib/machine.js'
import { topSelfTime } from './lib/profile.js'
import { DEFAULT_RESULTS_DIR, writeReport } from './lib/report.js'
import { runPartialReplication } from './cluster/equal-work-partial.js'
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
             [--systems rumordb,gun,automerge,orbitdb] [--workloads burst,all-writers,conflict]
             [--timeout-s S] [--poll-ms MS] [--in-flight N] [--rumordb-w W] [--no-partial] [--profile [--profile-node N]] [--out DIR] [--no-plots]
  Every node of every system in its own process; rumordb with n = cluster size. OrbitDB only when
  named in --systems (slow: allow --timeout-s). --quick: one repeat. --in-flight: writes each writer
  keeps in flight (default 1, each awaited before the next, as the peer benchmark does). Install the peers first:
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
  const workloads = values.workloads === undefined ? [...EQUAL_WORKLOADS] : values.workloads.split(',').map((w) => w.trim())
  for (const w of workloads) if (!isEqualWorkload(w)) throw new RangeError(`--workloads: unknown workload ${w}; known: ${EQUAL_WORKLOADS.join(', ')}`)
  const nodes = values.nodes === undefined ? [3, 5] : values.nodes.split(',').map((n) => positiveInt('--nodes', n.trim(), 0))
  if (nodes.some((n) => n < 2)) throw new RangeError('--nodes: every cluster needs at least 2 nodes')
  const profileNode = values['profile-node']
  if (profileNode !== undefined && !(Number.isInteger(Number(profileNode)) && Number(profileNode) >= 0 && Number(profileNode) < Math.max(...nodes))) {
    throw new RangeError(`--profile-node must be a node index below ${Math.max(...nodes)}, got ${profileNode}`)
  }
  return {
    systems,
    nodes,
    writes: positiveInt('--writes', values.writes, 1000),
    workloads: workloads as EqualWorkCliOptions['workloads'],
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
  const trials = await runEqualWork({
    systems: o.systems,
    nodes: o.nodes,
    writes: o.writes,
    workloads: o.workloads,
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
  const partial = o.partial
    ? await runPartialReplication(
        { nodes: o.nodes, writes: o.writes, repeats: o.repeats, pollMs: o.pollMs, timeoutMs: o.convergeTimeoutMs, ...PARTIAL },
        (nodes, run) => console.error(`partial replication: ${nodes} nodes ${run.workload} #${run.repeat}: ${run.fromFirstWriteMs === null ? `FAILED ${run.failure ?? ''}` : `${Math.round(run.fromFirstWriteMs)} ms`}`),
      )
    : null
  const rows = summarizeTrials(trials, o.workloads)
  const verdicts = judgeEqualWork(cellsOf(rows))
  const trialFailures = trials.flatMap((t) => [
    ...(t.failure === undefined ? [] : [`${t.system} ${t.nodes} nodes #${t.repeat}: ${t.failure}`]),
    ...t.workloads.flatMap((w) => (w.ok ? [] : [`${t.system} ${t.nodes} nodes #${t.repeat} ${w.workload}: ${w.reason}`])),
  ])
  const versions: Record<string, string> = { rumordb: rumordbVersion(), ...Object.fromEntries(peers.map((s) => [SYSTEMS[s].packageName, installedVersion(SYSTEMS[s].packageName)])) }
  const role = profileNode === 0 ? 'the writer' : 'a replica'
  const profile = o.profile ? summarizeProfile(profilePath, `rumordb node ${profileNode} (${role}) during the burst, ${largest} nodes, first repeat`) : null
  const markdown = join(o.outDir, `${day}-equal-work.md`)
  const base: EqualWorkReport = {
    benchmark: 'equal-work',
    date,
    options: o,
    machine,
    machineAfter: machineInfo(),
    results: { versions, rows, verdicts, partial, partialSettings: { n: PARTIAL.n, w: PARTIAL.w }, trialFailures, profile, plots: [], markdown },
  }
  const plots: string[] = []
  if (o.plots) {
    const plot = join(o.outDir, `${day}-equal-work.svg`)
    writeFileSync(plot, `${equalWorkPlot(base)}\n`)
    plots.push(plot)
  }
  const report: EqualWorkReport = { ...base, results: { ...base.results, plots } }
  const path = writeReport(o.outDir, report)
  writeFileSync(markdown, formatEqualWorkMarkdown(report))
  return { report, path }
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
  return `${head}: ${t.workloads.map((w) => (w.ok ? `${w.workload} ${Math.round(w.convergeMs)} ms` : `${w.workload} FAILED`)).join(', ')}`
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
  if (report.benchmark !== 'equal-work' || !Array.isArray(report.results?.rows)) throw new Error(`${file} is not an equal-work result`)
  const dir = dirname(file)
  const day = report.date.slice(0, 10)
  const old = report.results.profile
  const profile = old === null ? null : (summarizeProfile(old.file, old.what) ?? old)
  const plots = report.options.plots ? [join(dir, `${day}-equal-work.svg`)] : []
  const rendered: EqualWorkReport = { ...report, results: { ...report.results, profile, plots, markdown: join(dir, `${day}-equal-work.md`) } }
  for (const plot of plots) writeFileSync(plot, `${equalWorkPlot(rendered)}\n`)
  writeFileSync(join(dir, `${day}-equal-work.md`), formatEqualWorkMarkdown(rendered))
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
