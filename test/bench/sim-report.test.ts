// The sim benchmark's Markdown report and plots, from a small hand-made result (no
// simulation runs): the goal verdict and the table in the Markdown, plots that name their
// series and axes and parse as XML, FAILED configurations left out of the plots, a CDF
// only with several seeds, and `--render` redrawing from a JSON file without touching it.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { ConvergenceRun, Scenario } from '../../bench/lib/sim-convergence.js'
import { buildSimPlots } from '../../bench/lib/sim-plots.js'
import { GOAL, judgeGoal, main, parseOptions, parseRenderOptions, summarizeConfig, writeSimFiles, formatMarkdown, type SimReport } from '../../bench/sim.js'

let dir: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-bench-sim-report-test-'))
})

afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
  vi.restoreAllMocks()
  process.exitCode = undefined
})

function run(scenario: Scenario, nodes: number, loss: number, seed: number, rounds: number | undefined): ConvergenceRun {
  return {
    scenario,
    nodes,
    loss,
    seed,
    converged: rounds !== undefined,
    timeMs: rounds === undefined ? undefined : rounds * 1000,
    rounds,
    done: rounds === undefined ? 1 : nodes,
    total: nodes,
    aeExchangesPerNode: 2,
    bytesPerNode: 100 * nodes + 1000 * loss,
    heartbeatBytesPerNode: 0,
    bytesByType: {},
    framesLost: 0,
    simulatedMs: 5000,
    wallMs: 10,
    events: 100,
  }
}

/**
 * ae-only and rumor-ae at 10 and 1,000 nodes, 0 and 30% loss, `seeds` seeds each; rumor-ae
 * at 1,000 nodes and 30% loss does not converge in its last seed (FAILED).
 */
function fixture(seeds: number): SimReport {
  const base = parseOptions(['--quick', '--out', dir])
  const options = { ...base, nodes: [10, 1000], losses: [0, 0.3], scenarios: ['ae-only', 'rumor-ae'] as Scenario[], seeds, jobs: 1, progress: false }
  const runs: ConvergenceRun[] = []
  for (const nodes of options.nodes)
    for (const loss of options.losses)
      for (const scenario of options.scenarios)
        for (let seed = 1; seed <= seeds; seed++) {
          const failing = scenario === 'rumor-ae' && nodes === 1000 && loss === 0.3 && seed === seeds
          runs.push(run(scenario, nodes, loss, seed, failing ? undefined : (scenario === 'ae-only' ? 2 : 0.5) * Math.log10(nodes) * (1 + loss) + seed / 10))
        }
  const configs = options.nodes.flatMap((nodes) => options.losses.flatMap((loss) => options.scenarios.map((scenario) => ({ scenario, nodes, loss }))))
  const summaries = configs.map((c) => summarizeConfig(c, runs.filter((r) => r.scenario === c.scenario && r.nodes === c.nodes && r.loss === c.loss)))
  const machine = { cpuModel: 'Test CPU 9000', cores: 4, memoryBytes: 2 ** 33, freeMemoryBytes: 2 ** 32, loadAverage: [0.5, 0.4, 0.3], platform: 'linux', arch: 'x64', osRelease: '6', node: 'v20.99.0', packages: {} }
  return {
    benchmark: 'sim',
    date: '2031-02-03T04:05:06.000Z',
    options,
    machine,
    machineAfter: machine,
    results: { summaries, goal: judgeGoal(summaries), runs, notes: ['First note.', 'Second note.'] },
  }
}

/** Every element closed, in order, and no unescaped `&` or `<` in text: enough XML to render. */
function expectWellFormed(svg: string): void {
  const stack: string[] = []
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z:-]+="[^"<]*")*)\s*(\/?)>/g)) {
    const [, closing, name, , selfClosing] = m
    if (selfClosing === '/') continue
    if (closing === '/') expect(stack.pop(), `</${name}>`).toBe(name)
    else stack.push(name as string)
  }
  expect(stack).toEqual([])
  const text = svg.replace(/<[^>]*>/g, '')
  expect(text).not.toMatch(/<|&(?!(amp|lt|gt|quot|apos);)/)
  expect(svg).not.toContain('NaN')
  expect(svg).not.toContain('undefined')
}

describe('sim benchmark report', () => {
  it('writes the goal verdict, the table and the notes as Markdown, linking the plots', () => {
    const report = fixture(3)
    const md = formatMarkdown(report, ['2031-02-03-sim-rounds-loss-0.svg'])
    expect(md).toMatch(/^# rumordb simulation benchmark, 2031-02-03\n/)
    expect(md).toContain('Test CPU 9000, 4 cores')
    // The goal's configuration (ae-only, 1,000 nodes, no loss) ran and is within the limit.
    expect(report.results.goal.pass).toBe(true)
    expect(md).toMatch(/## Goal\n\n\*\*PASS\*\* \(max \d+\.\d\d rounds\): ae-only, 1,000 nodes, 0% loss/)
    expect(md).toContain('| scenario | N | loss | conv | rounds p50 |')
    expect(md).toContain('| --- | ---: | ---: |')
    expect(md).toMatch(/\| ae-only \| 1,000 \| 0% \| 3\/3 \| 6\.20 \|/)
    expect(md).toMatch(/\| rumor-ae \| 1,000 \| 30% \| 2\/3 \| FAILED \|/)
    expect(md).toContain('- rumor-ae, 1,000 nodes, 30% loss: FAILED (2/3 seeds converged within 90 rounds)')
    expect(md).toContain('1. First note.\n2. Second note.')
    expect(md).toContain('![2031-02-03-sim-rounds-loss-0.svg](2031-02-03-sim-rounds-loss-0.svg)')
    expect(md).toContain('Raw numbers: `2031-02-03-sim.json`')
  })

  it('says FAIL when the goal configuration misses the limit', () => {
    const report = fixture(1)
    const slow = report.results.summaries.map((s) => (s.scenario === 'ae-only' && s.nodes === 1000 && s.loss === 0 && s.rounds !== null ? { ...s, rounds: { ...s.rounds, max: 99 } } : s))
    const md = formatMarkdown({ ...report, results: { ...report.results, summaries: slow, goal: judgeGoal(slow) } }, [])
    expect(md).toContain('**FAIL** (max 99.00 rounds)')
    expect(md).not.toContain('## Plots')
  })

  it('plots rounds per loss rate with the bound and the limit, bytes per scenario, and a CDF per size', () => {
    const report = fixture(3)
    const plots = buildSimPlots(report, GOAL)
    expect(plots.map((p) => p.name)).toEqual([
      'sim-rounds-loss-0.svg',
      'sim-rounds-loss-30.svg',
      'sim-bytes-ae-only.svg',
      'sim-bytes-rumor-ae.svg',
      'sim-cdf-10n.svg',
      'sim-cdf-1000n.svg',
    ])
    for (const p of plots) {
      expect(p.svg, p.name).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"[\s\S]*<\/svg>$/)
      expectWellFormed(p.svg)
      // The context line: machine, node version, date, seeds.
      expect(p.svg, p.name).toContain('Test CPU 9000, 4 cores, node v20.99.0 · 2031-02-03 · seeds 1..3')
    }
    const svg = (name: string): string => plots.find((p) => p.name === name)?.svg as string
    const rounds = svg('sim-rounds-loss-0.svg')
    expect(rounds).toContain('Rounds until every replica has the update, 0% frame loss')
    expect(rounds).toContain('nodes in the cluster (log scale)')
    expect(rounds).toContain('rounds to converge (1 round = 1 s)')
    expect(rounds).toContain('ae-only: anti-entropy only, n = N, median of 3 seeds')
    expect(rounds).toContain('rumor-ae: rumor + anti-entropy, n = N, median of 3 seeds')
    expect(rounds).toContain('ae-only: max of 3 seeds (the goal is judged on it)')
    expect(rounds).toContain('bound log₃N + ln ln N')
    expect(rounds).toContain('goal limit 1.5 × bound')
    expect(rounds).toContain('>1,000</text>')
    // The lossy plot leaves the FAILED configuration out and says so.
    const lossy = svg('sim-rounds-loss-30.svg')
    expect(lossy).toContain('Not plotted: rumor-ae at 1,000 nodes, 30% loss FAILED (2/3 seeds within 90 rounds)')
    expect(lossy).not.toContain('max of 3 seeds')
    const bytes = svg('sim-bytes-ae-only.svg')
    expect(bytes).toContain('bytes sent per node (B, mean over seeds)')
    expect(bytes).toContain('0% frame loss')
    expect(bytes).toContain('30% frame loss')
    const cdf = svg('sim-cdf-1000n.svg')
    expect(cdf).toContain('CDF of rounds to converge over seeds, 1,000 nodes')
    expect(cdf).toContain('fraction of seeds converged')
    expect(cdf).toContain('rumor-ae, 30% loss (2/3 converged)')
    expect(cdf).toContain('ae-only, 0% loss (3/3 converged)')
  })

  it('draws no CDF with one seed and says why', () => {
    const report = fixture(1)
    const files = writeSimFiles(report, dir, true)
    const names = files.plots.map((p) => p.slice(dir.length + 1))
    expect(names).toEqual(expect.arrayContaining(['2031-02-03-sim-rounds-loss-0.svg', '2031-02-03-sim-bytes-rumor-ae.svg']))
    expect(names.some((n) => n.includes('cdf'))).toBe(false)
    expect(readFileSync(files.markdown, 'utf8')).toContain('No CDF of rounds: one seed per configuration')
    expect(readFileSync(files.plots[0] as string, 'utf8')).toContain('seed 1 · simulator')
  })

  it('--render redraws the Markdown and plots beside a JSON file, or into --out, without changing it', async () => {
    const json = join(dir, '2031-02-03-sim.json')
    const text = `${JSON.stringify(fixture(3), null, 2)}\n`
    writeFileSync(json, text)
    const lines: string[] = []
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void lines.push(args.join(' ')))

    await main(['--render', json])
    expect(process.exitCode).toBeUndefined()
    const written = readdirSync(dir).sort()
    expect(written).toContain('2031-02-03-sim.md')
    expect(written.filter((f) => f.endsWith('.svg'))).toHaveLength(6)
    expect(readFileSync(json, 'utf8')).toBe(text)
    const output = lines.join('\n')
    expect(output).toContain('goal: ae-only, 1,000 nodes, 0% loss')
    expect(output).toContain(`report:  ${join(dir, '2031-02-03-sim.md')}`)
    expect(output).toContain(`plot:    ${join(dir, '2031-02-03-sim-cdf-1000n.svg')}`)

    const out = join(dir, 'elsewhere')
    await main(['--render', json, '--out', out, '--no-plots'])
    expect(readdirSync(out)).toEqual(['2031-02-03-sim.md'])
    expect(readFileSync(join(out, '2031-02-03-sim.md'), 'utf8')).toContain('**PASS**')
  })

  it('--render refuses a file that is not a sim result, and run options', async () => {
    const errors: string[] = []
    vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void errors.push(args.join(' ')))
    const other = join(dir, 'cluster.json')
    writeFileSync(other, JSON.stringify({ benchmark: 'cluster', date: '2031-02-03', results: {} }))
    await main(['--render', other])
    expect(process.exitCode).toBe(1)
    expect(errors.join('\n')).toMatch(/is not a sim benchmark result \(no benchmark "sim"/)
    expect(readdirSync(dir)).toEqual(['cluster.json'])

    process.exitCode = undefined
    await main(['--render', join(dir, 'missing.json')])
    expect(process.exitCode).toBe(1)

    expect(() => parseRenderOptions(['--render', 'x.json', '--nodes', '10'])).toThrow(/--nodes/)
    expect(parseRenderOptions(['--render', 'x.json'])).toEqual({ file: 'x.json', outDir: undefined, plots: true })
    expect(parseOptions(['--no-plots']).plots).toBe(false)
    expect(parseOptions([]).plots).toBe(true)
  })
})
