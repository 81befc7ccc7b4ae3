// Keeps `npm run bench -- cluster` from rotting: a tiny real cluster must converge with
// sane numbers and write its files; a run that cannot converge (a partition never healed)
// must be reported FAILED, not as a number. Checks the harness, not the speed.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatReport, parseOptions, renderClusterReport, runClusterBenchmark, type ClusterBenchOptions, type ClusterReport } from '../../bench/cluster.js'
import { checkConvergence, type SyncView } from '../../bench/cluster/convergence.js'
import { loadPeerResults } from '../../bench/cluster/peer-results.js'
import { runsOf } from '../../bench/cluster/report.js'
import { cli, NodeProcess } from '../../bench/lib/node-process.js'

let outDir: string

beforeAll(() => {
  outDir = mkdtempSync(join(tmpdir(), 'rumordb-bench-cluster-test-'))
})

afterAll(() => {
  rmSync(outDir, { recursive: true, force: true })
})

function tiny(overrides: Partial<ClusterBenchOptions>): ClusterBenchOptions {
  return {
    ...parseOptions(['--quick', '--out', outDir]),
    nodes: [3],
    writes: 12,
    keys: 6,
    repeats: 1,
    latencySamples: 20,
    clients: 4,
    concurrency: 4,
    batchSize: 5,
    batchConcurrency: 2,
    idleMs: 300,
    verifyKeys: 6,
    timeoutMs: 20_000,
    progress: false,
    ...overrides,
  }
}

describe('cluster benchmark', () => {
  it('runs every workload (burst-batched over POST /v1/batch too) on three real nodes, converges, and writes its files', async () => {
    const { report, path } = await runClusterBenchmark(tiny({}))
    const [r] = report.results.nodeCounts
    expect(r?.error).toBeUndefined()
    for (const workload of ['burst', 'burst-batched', 'concurrent', 'partition'] as const) {
      const [run] = runsOf(report, 3, workload)
      expect(run?.failure, `${workload}: ${run?.failure}`).toBeUndefined()
      expect(run!.convergeMs).toBeGreaterThanOrEqual(0)
      expect(run!.convergeMs).toBeLessThan(20_000)
      expect(run!.fromFirstWriteMs).toBeGreaterThanOrEqual(run!.convergeMs!)
      expect(run!.acked).toBe(12)
      expect(run!.bytesReceived.reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
    }
    expect(runsOf(report, 3, 'partition')[0]!.groups).toEqual([[0, 1], [2]])
    // burst-batched sent its 12 writes as batches of 5 over POST /v1/batch, the burst one request each.
    expect(runsOf(report, 3, 'burst-batched')[0]!.requests).toBe(3)
    expect(runsOf(report, 3, 'burst')[0]!.requests).toBe(12)
    // Each level with one client (the goal's measure), then with `clients` at once.
    expect(r!.latency.map((l) => [l.level, l.clients])).toEqual([
      [1, 1],
      [1, 4],
      [2, 1],
      [2, 4],
      [3, 1],
      [3, 4],
    ])
    for (const l of r!.latency) {
      for (const s of [l.write, l.read]) {
        expect(s.errors, s.firstError).toBe(0)
        expect(s.count).toBe(20)
        expect(s.p50).toBeGreaterThan(0)
        expect(s.p50).toBeLessThanOrEqual(s.p99)
        expect(s.opsPerSecond).toBeGreaterThan(0)
      }
    }
    expect(r!.counters!.checked).toBeGreaterThan(0)
    expect(r!.counters!.mismatches).toEqual([])
    expect(r!.peakRssBytes.every((b) => b !== null && b > 10 * 2 ** 20)).toBe(true)
    expect(report.results.deltaBytes).toBeGreaterThan(0)

    const written = JSON.parse(readFileSync(path, 'utf8')) as ClusterReport
    expect(path).toMatch(/\d{4}-\d{2}-\d{2}-cluster\.json$/)
    expect(written.options.seed).toBe(1)
    expect(written.machine.packages.libp2p).not.toBe('unknown')
    expect(readFileSync(report.results.markdown!, 'utf8')).toContain('## Time to converge')
    expect(report.results.plots.length).toBeGreaterThanOrEqual(4)
    for (const plot of report.results.plots) expect(readFileSync(plot, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/)
    const text = formatReport(report)
    expect(text).toMatch(/N\/A\s+burst of 1,000 writes on 5 nodes/)
    expect(text).toMatch(/quorum write p99 at w = 2 < 10 ms \(3 nodes, one client\): p99 .*; not judged, 4 clients at once: p99/)
    for (const name of ['cluster-latency-3n-1c.svg', 'cluster-latency-3n-4c.svg']) expect(report.results.plots.some((p) => p.endsWith(`-${name}`)), name).toBe(true)

    // --render redraws the report and plots from the JSON alone, elsewhere, leaving the JSON as it was.
    const json = readFileSync(path, 'utf8')
    const elsewhere = join(outDir, 'rendered')
    const rendered = renderClusterReport(path, elsewhere)
    expect(readFileSync(path, 'utf8')).toBe(json)
    expect(rendered.results.markdown).toBe(join(elsewhere, `${written.date.slice(0, 10)}-cluster.md`))
    expect(readFileSync(rendered.results.markdown!, 'utf8')).toBe(readFileSync(report.results.markdown!, 'utf8').replaceAll(outDir, elsewhere))
    expect(rendered.results.plots.map((p) => basename(p))).toEqual(report.results.plots.map((p) => basename(p)))
    expect(() => renderClusterReport(report.results.plots[0]!.replace(/\.svg$/, '.json'))).toThrow()
  }, 120_000)

  it('reports a partition that never heals as FAILED, not as a time', async () => {
    const { report } = await runClusterBenchmark(
      tiny({ nodes: [2], writes: 8, keys: 4, workloads: ['partition'], heal: false, timeoutMs: 1500, plots: false, verifyKeys: 1 }),
    )
    const [run] = runsOf(report, 2, 'partition')
    expect(run!.convergeMs).toBeNull()
    expect(run!.failure).toMatch(/not converged within 1500 ms/)
    expect(formatReport(report)).toMatch(/2\s+partition\s+0\/1\s+FAILED/)
  }, 90_000)

  it('a node started by the product CLI (not the fault-injection entry) has no fault route', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rumordb-bench-nofaults-'))
    const node = new NodeProcess('plain', join(dir, 'a'), { logLevel: 'warn', stopWithParent: true })
    try {
      await node.start(60_000)
      expect((await node.http('POST', '/v1/_faults', { block: [] })).status).toBe(404)
      expect(node.peakRssBytes()).toBeGreaterThan(0)
    } finally {
      await node.kill('SIGTERM')
      rmSync(dir, { recursive: true, force: true })
    }
  }, 90_000)

  it('rumordb bench runs bench/run.ts: it lists the benchmarks and passes options through', () => {
    const unknown = cli(['bench', 'no-such-bench'])
    expect(unknown.status).toBe(2)
    expect(unknown.stderr).toMatch(/cluster\|/)
    const help = cli(['bench', 'cluster', '--help'])
    expect(help.status).toBe(0)
    expect(help.stdout).toContain('rumordb bench cluster')
  }, 60_000)

  it('judges convergence from replica-set digests and the keys they hold', () => {
    const ids = ['a', 'b', 'c']
    const view = (ranges: [string[], number, string][]): SyncView => ({ digest: 'x', keys: 0, ranges: ranges.map(([replicas, keys, digest]) => ({ replicas, keys, digest })) })
    const sets: [string[], number, string][] = [[['a', 'b'], 2, 'd1'], [['b', 'c'], 3, 'd2'], [['a', 'c'], 1, 'd3']]
    const agreeing = [view([sets[0]!, sets[2]!]), view([sets[0]!, sets[1]!]), view([sets[1]!, sets[2]!])]
    expect(checkConvergence(ids, agreeing, { sure: 6, maybe: 0 })).toEqual({ converged: true, reason: 'converged' })
    expect(checkConvergence(ids, agreeing, { sure: 5, maybe: 1 }).converged).toBe(true)
    expect(checkConvergence(ids, agreeing, { sure: 7, maybe: 0 }).reason).toMatch(/hold 6 keys, expected 7/)
    const differing = [view([sets[0]!, sets[2]!]), view([[['a', 'b'], 2, 'other'], sets[1]!]), view([sets[1]!, sets[2]!])]
    expect(checkConvergence(ids, differing, { sure: 6, maybe: 0 }).reason).toMatch(/digests differ/)
    const missing = [view([sets[0]!, sets[2]!]), view([sets[0]!]), view([sets[1]!, sets[2]!])]
    expect(checkConvergence(ids, missing, { sure: 6, maybe: 0 }).reason).toMatch(/does not see/)
  })

  it('reads peer results wherever the entries sit in the file', () => {
    const file = join(outDir, '2026-01-02-peers.json')
    writeFileSync(file, JSON.stringify({ results: { runs: [{ system: 'gun', nodes: 5, writes: 1000, convergeMs: [10, 20] }, { system: 'orbitdb', nodes: 5, writes: 1000, convergeMs: null }] } }))
    const peers = loadPeerResults(outDir)
    expect(peers?.file).toBe(file)
    expect(peers?.entries).toEqual([
      { system: 'gun', nodes: 5, writes: 1000, convergeMs: [10, 20] },
      { system: 'orbitdb', nodes: 5, writes: 1000, convergeMs: null },
    ])
    rmSync(file)
    expect(existsSync(file)).toBe(false)
  })

  it('refuses options it cannot honour', () => {
    expect(() => parseOptions(['--nodes', '1'])).toThrow(/--nodes/)
    expect(() => parseOptions(['--types', 'gset'])).toThrow(/--types/)
    expect(() => parseOptions(['--workloads', 'chaos'])).toThrow(/--workloads/)
    expect(() => parseOptions(['--n', '2', '--w', '3'])).toThrow(/--w/)
    expect(parseOptions(['--quick'])).toMatchObject({ nodes: [3, 5], writes: 300 })
    expect(parseOptions(['--writes', '1000']).keys).toBe(250)
  })
})
