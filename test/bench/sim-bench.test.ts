// Keeps `npm run bench -- sim` from rotting: tiny configurations must converge with sane
// numbers, one that cannot converge must be reported as failed (never as a number), and
// the report must judge the goal from the run. It checks the harness, not the speed.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { epidemicBound, runConvergence, type ConvergenceRun } from '../../bench/lib/sim-convergence.js'
import { runSetups } from '../../bench/lib/sim-pool.js'
import { formatReport, judgeGoal, parseOptions, runSimBenchmark, setupOf, summarizeConfig, type SimReport } from '../../bench/sim.js'

let outDir: string

beforeEach(() => {
  outDir = mkdtempSync(join(tmpdir(), 'rumordb-bench-sim-test-'))
})

afterEach(() => {
  rmSync(outDir, { recursive: true, force: true })
})

const tiny = () => ({ ...parseOptions(['--quick', '--out', outDir]), nodes: [5], losses: [0], keys: 20, jobs: 1, progress: false })

describe('sim benchmark', () => {
  it('a tiny cluster converges in every scenario with sane numbers', async () => {
    const o = tiny()
    for (const scenario of ['ae-only', 'rumor-ae', 'placement'] as const) {
      const run = await runConvergence(setupOf(o, scenario, 5, 0, 7))
      expect(run.converged, scenario).toBe(true)
      expect(run.done).toBe(run.total)
      expect(run.total).toBe(scenario === 'placement' ? 20 : 5)
      expect(run.timeMs).toBeGreaterThan(0)
      expect(run.rounds).toBeCloseTo((run.timeMs as number) / o.antiEntropyIntervalMs)
      expect(run.rounds).toBeLessThan(o.maxRounds)
      expect(run.bytesPerNode).toBeGreaterThan(0)
      expect(run.framesLost).toBe(0)
      if (scenario === 'ae-only') {
        // Only anti-entropy moved the update: no rumor, and the exchanges carried it.
        expect(run.bytesByType.rumor).toBeUndefined()
        expect(run.bytesByType['sync-root']).toBeGreaterThan(0)
        expect(run.aeExchangesPerNode).toBeGreaterThan(0)
      }
      // One broadcast from the origin reaches every node within a few ms.
      if (scenario === 'rumor-ae') expect(run.rounds).toBeLessThan(0.1)
      if (scenario === 'placement') expect(run.bytesByType.apply ?? run.bytesByType.replicate).toBeGreaterThan(0)
    }
  })

  it('a run that cannot converge reports failure, not a number', async () => {
    const o = { ...tiny(), maxRounds: 5 }
    const run = await runConvergence(setupOf(o, 'ae-only', 5, 1, 7))
    expect(run.converged).toBe(false)
    expect(run.timeMs).toBeUndefined()
    expect(run.rounds).toBeUndefined()
    expect(run.done).toBe(1) // the origin alone
    expect(run.framesLost).toBeGreaterThan(0)

    const summary = summarizeConfig({ scenario: 'ae-only', nodes: 5, loss: 1 }, [run])
    expect(summary.converged).toBe(0)
    expect(summary.rounds).toBeNull()
    expect(summary.ratio).toBeNull()
    // The goal's configuration failing is a FAIL, not "not run" and not a number.
    const goal = judgeGoal([{ ...summary, nodes: 1000, loss: 0 }])
    expect(goal.pass).toBe(false)
    expect(goal.maxRounds).toBeNull()
  })

  it('writes the results file and prints the table with the bound, ratios and the goal verdict', async () => {
    const o = { ...tiny(), scenarios: ['ae-only' as const], losses: [0, 1], maxRounds: 10 }
    const { report, path, files } = await runSimBenchmark(o)
    expect(path).toMatch(/\d{4}-\d{2}-\d{2}-sim\.json$/)
    // The Markdown report and the plots sit beside the results.
    expect(files.markdown).toBe(path.replace(/\.json$/, '.md'))
    expect(readFileSync(files.markdown, 'utf8')).toMatch(/## Goal\n\n\*\*not run\*\*/)
    expect(files.plots.map((p) => basename(p))).toEqual([
      basename(path).replace('.json', '-rounds-loss-0.svg'),
      basename(path).replace('.json', '-rounds-loss-100.svg'),
      basename(path).replace('.json', '-bytes-ae-only.svg'),
    ])
    for (const plot of files.plots) expect(readFileSync(plot, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/)
    const written = JSON.parse(readFileSync(path, 'utf8')) as SimReport
    expect(written.options.seed).toBe(o.seed)
    expect(written.machine.cores).toBeGreaterThan(0)
    expect(written.results.runs).toHaveLength(2)
    const [clean, lossy] = report.results.summaries
    expect(clean?.rounds?.p50).toBeGreaterThan(0)
    expect(clean?.ratio?.p50).toBeCloseTo((clean?.rounds?.p50 ?? 0) / epidemicBound(5))
    expect(lossy?.rounds).toBeNull()
    const text = formatReport(report)
    expect(text).toMatch(/ae-only\s+5\s+100%\s+0\/1\s+FAILED/)
    expect(text).toContain(epidemicBound(5).toFixed(2))
    expect(text).toMatch(/goal: .*: not run/)
  })

  it('--no-plots writes the Markdown report and no plots', async () => {
    const { files } = await runSimBenchmark({ ...tiny(), scenarios: ['rumor-ae' as const], plots: false })
    expect(files.plots).toEqual([])
    expect(readdirSync(outDir).sort()).toEqual([basename(files.markdown).replace('.md', '.json'), basename(files.markdown)])
  })

  it('worker threads give the same runs as one thread', async () => {
    const o = tiny()
    const setups = [setupOf(o, 'ae-only', 5, 0.1, 3), setupOf(o, 'rumor-ae', 6, 0, 4), setupOf(o, 'placement', 5, 0, 5)]
    const strip = (runs: ConvergenceRun[]) => runs.map(({ wallMs: _, ...rest }) => rest)
    const inline = await runSetups(setups, 1)
    const done: string[] = []
    const pooled = await runSetups(setups, 2, (run) => done.push(run.scenario))
    expect(strip(pooled)).toEqual(strip(inline))
    expect(done.sort()).toEqual(['ae-only', 'placement', 'rumor-ae'])
  })

  it('refuses options it cannot honour', () => {
    expect(() => parseOptions(['--nodes', '1'])).toThrow(/--nodes/)
    expect(() => parseOptions(['--loss', '1.5'])).toThrow(/--loss/)
    expect(() => parseOptions(['--scenarios', 'gossip'])).toThrow(/--scenarios/)
    expect(() => parseOptions(['--seeds', '0'])).toThrow(/--seeds/)
    expect(() => parseOptions(['--jobs', '0'])).toThrow(/--jobs/)
    expect(parseOptions(['--nodes', '10,100', '--loss', '0,0.3', '--seed', '9']).losses).toEqual([0, 0.3])
  })
})
