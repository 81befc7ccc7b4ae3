// The cluster benchmark's --with-peers: its options, the install check, and the burst goal
// judged only against peers that ran in the same run (another run's file is shown, never
// judged). Synthetic results, no processes, except one real run that skips, with the
// reason printed, when bench/peers/node_modules is absent (as peers-bench.test.ts does).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { formatMarkdown, formatReport, GOALS, parseOptions, runClusterBenchmark, type ClusterReport, type NodeCountResult } from '../../bench/cluster.js'
import { readPeerResults, type PeerResults } from '../../bench/cluster/peer-results.js'
import { assertPeersInstalled, peerOptionsOf, peersInstallProblem, PeersNotInstalledError } from '../../bench/cluster/peers-in-run.js'
import { burstVersusPeers } from '../../bench/cluster/peer-comparison.js'
import { judgeGoals, type Verdict } from '../../bench/cluster/report.js'
import { machineInfo } from '../../bench/lib/machine.js'
import { missingPeerPackages, type PeerResult as PeerRow } from '../../bench/peers/index.js'
import type { PeerReport } from '../../bench/peers/run.js'
import { convergenceRun } from './run-fixture.js'

const missing = missingPeerPackages(['gun'])
const skipReason = missing.length === 0 ? '' : `skipping the real --with-peers run: ${missing.join(', ')} not installed (run bash bench/peers/install.sh)`
if (skipReason !== '') console.warn(skipReason)

let dir: string

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-bench-cluster-peers-test-'))
})

afterAll(() => {
  rmSync(dir, { recursive: true, force: true })
})


function fiveNodes(times: readonly (number | null)[]): NodeCountResult {
  return {
    nodes: 5,
    replicas: 3,
    startMs: 1000,
    warmup: { convergeMs: 10 },
    idle: null,
    runs: times.map((t, i) => convergenceRun('burst', i, t)),
    latency: [],
    counters: null,
    peakRssBytes: [],
  }
}

function peers(ranInThisRun: boolean, rows: PeerResults['entries']): PeerResults {
  return { file: join(dir, '2026-01-02-peers.json'), date: '2026-01-02T03:04:05.000Z', ranInThisRun, entries: rows }
}

const options = { ...parseOptions(['--writes', '1000', '--with-peers']), progress: false }
const rumordb = [fiveNodes([100, 120, 110])] // median 110 ms
const burstVerdict = (p: PeerResults | null, results = rumordb): Verdict => judgeGoals(options, results, 20, p)[0]!

describe('cluster benchmark --with-peers options', () => {
  it('defaults the peers to every system, rumordb\'s repeat count and a 120 s timeout', () => {
    const o = parseOptions(['--quick', '--with-peers'])
    expect(o).toMatchObject({ withPeers: true, peerSystems: ['orbitdb', 'automerge', 'gun'], peerRepeats: 2, peerTimeoutMs: 120_000 })
    expect(parseOptions(['--with-peers', '--repeats', '4']).peerRepeats).toBe(4)
    const chosen = parseOptions(['--with-peers', '--peer-systems', 'gun, orbitdb', '--peer-repeats', '1', '--peer-timeout-s', '30'])
    expect(chosen).toMatchObject({ peerSystems: ['orbitdb', 'gun'], peerRepeats: 1, peerTimeoutMs: 30_000 })
  })

  it('leaves a run without --with-peers as it was', () => {
    expect(parseOptions(['--quick'])).toMatchObject({ withPeers: false, nodes: [3, 5], writes: 300, repeats: 2 })
  })

  it('refuses bad peer options with a message naming the flag', () => {
    expect(() => parseOptions(['--with-peers', '--peer-systems', 'riak'])).toThrow(/--peer-systems: unknown system riak/)
    expect(() => parseOptions(['--with-peers', '--peer-repeats', '0'])).toThrow(/--peer-repeats must be a positive integer, got 0/)
    expect(() => parseOptions(['--with-peers', '--peer-timeout-s', 'soon'])).toThrow(/--peer-timeout-s must be a positive integer/)
    expect(() => parseOptions(['--peer-repeats', '2'])).toThrow(/--peer-repeats only applies with --with-peers/)
    expect(() => parseOptions(['--peer-systems', 'gun'])).toThrow(/--peer-systems only applies with --with-peers/)
    expect(() => parseOptions(['--with-peers', '--peers', 'old.json'])).toThrow(/--peers FILE and --with-peers exclude each other/)
    expect(() => parseOptions(['--with-peers', '--workloads', 'latency'])).toThrow(/include burst/)
  })

  it('gives the peers the burst of this run: its sizes, writes, keys and poll interval', () => {
    const o = peerOptionsOf(parseOptions(['--with-peers', '--nodes', '3,5', '--writes', '400', '--poll-ms', '10', '--peer-repeats', '2']))
    expect(o).toMatchObject({ nodes: [3, 5], writes: 400, keys: 100, repeat: 2, pollMs: 10, convergeTimeoutMs: 120_000, systems: ['orbitdb', 'automerge', 'gun'] })
  })

  it('fails at once, saying what to run, when bench/peers is not installed', () => {
    const absent = join(dir, 'no-node-modules')
    expect(peersInstallProblem(['gun'], absent)).toMatch(/bench\/peers is not installed .*bash bench\/peers\/install\.sh.*npm run bench:peers/)
    expect(() => assertPeersInstalled(['gun'], absent)).toThrow(PeersNotInstalledError)
    const partial = join(dir, 'partial-node-modules')
    mkdirSync(join(partial, 'gun'), { recursive: true })
    writeFileSync(join(partial, 'gun', 'package.json'), '{"version":"0.0.1"}')
    expect(peersInstallProblem(['gun'], partial)).toBeNull()
    expect(peersInstallProblem(['orbitdb', 'gun'], partial)).toMatch(/@orbitdb\/core not installed in bench\/peers: run `bash bench\/peers\/install.sh`/)
  })
})

describe('the burst goal against the peer systems', () => {
  const gun = (convergeMs: number[] | null): PeerResults['entries'][number] => ({ system: 'gun', nodes: 5, writes: 1000, convergeMs })
  const automerge = (convergeMs: number[] | null): PeerResults['entries'][number] => ({ system: 'automerge', nodes: 5, writes: 1000, convergeMs })

  it('judges against the fastest peer of the same run, first write to converged on both sides', () => {
    const pass = burstVerdict(peers(true, [gun([300, 400, 350]), automerge([900])]))
    expect(pass.verdict).toBe('PASS')
    expect(pass.detail).toMatch(/rumordb 110 ms \(3 runs\) ÷ gun 350 ms \(3 trials\) = 0\.31×/)
    expect(pass.detail).toContain('peers ran in this run')
    const fail = burstVerdict(peers(true, [gun([200])]))
    expect(fail.verdict).toBe('FAIL')
    expect(fail.detail).toContain('gun 200 ms (1 trial) = 0.55×')
  })

  it('shows another run\'s peer numbers as cross-run and N/A, naming the file and its date', () => {
    const v = burstVerdict(peers(false, [gun([300, 400, 350])]))
    expect(v.verdict).toBe('N/A')
    expect(v.detail).toMatch(/^cross-run, not judged: .*= 0\.31×.*another run \(2026-01-02-peers\.json, 2026-01-02T03:04:05\.000Z\).*--with-peers/)
  })

  it('is N/A without peers, when every peer FAILED, and FAIL when a rumordb run FAILED', () => {
    expect(burstVerdict(null).verdict).toBe('N/A')
    expect(burstVerdict(null).detail).toContain('the peer systems did not run')
    const allFailed = burstVerdict(peers(true, [gun(null)]))
    expect(allFailed.verdict).toBe('N/A')
    expect(allFailed.detail).toContain('every peer FAILED')
    const ours = burstVerdict(peers(true, [gun([10_000])]), [fiveNodes([100, null])])
    expect(ours.verdict).toBe('FAIL')
    expect(ours.detail).toContain('1 of 2 rumordb runs FAILED')
  })

  it('tabulates each size: rumordb, every peer, and the ratio to the fastest', () => {
    const t = burstVersusPeers(options, rumordb, peers(true, [gun([300]), automerge(null), { system: 'gun', nodes: 3, writes: 1000, convergeMs: [50] }]))
    expect(t.header).toEqual(['nodes', 'rumordb burst', 'rumordb ms (runs)', 'gun ms (trials)', 'automerge ms (trials)', 'rumordb ÷ fastest peer'])
    expect(t.rows).toEqual([
      ['3', '-', '-', '50.0 (1)', '-', 'N/A'],
      ['5', 'burst: 1 write per request, 16 in flight', '110 (3)', '300 (1)', 'FAILED', '0.37×'],
    ])
  })

  it('says in the printed and Markdown reports whether the peers ran in this run', () => {
    const report = (p: PeerResults): ClusterReport => ({
      benchmark: 'cluster',
      date: '2026-02-03T00:00:00.000Z',
      options,
      machine: { ...machineInfo(), packages: {} },
      results: { goals: GOALS, deltaBytes: 20, nodeCounts: rumordb, peers: p, verdicts: judgeGoals(options, rumordb, 20, p), plots: [], markdown: null },
    })
    const same = report(peers(true, [gun([300])]))
    expect(formatReport(same)).toMatch(/same run\)[\s\S]*The peer systems ran in this run[\s\S]*PASS\s+burst of 1,000 writes on 5 nodes/)
    expect(formatMarkdown(same)).toMatch(/## Peer systems\n\nThe peer systems ran in this run[\s\S]*\| rumordb ÷ fastest peer \|/)
    const other = report(peers(false, [gun([300])]))
    expect(formatReport(other)).toMatch(/peers from ANOTHER run[\s\S]*another run: 2026-01-02-peers\.json, dated 2026-01-02[\s\S]*N\/A\s+burst of 1,000 writes on 5 nodes converges in [^:]*: cross-run, not judged/)
    expect(formatMarkdown(other)).toContain('**N/A** | burst of 1,000 writes on 5 nodes')
  })

  it('reads the peer benchmark\'s own file shape back, with its date and keys', () => {
    const row = (system: 'gun' | 'orbitdb', ok: boolean): PeerRow => ({
      system,
      packageName: system,
      version: '1.0.0',
      topology: 't',
      convergedMeans: 'c',
      nodes: 3,
      writes: 100,
      keys: 25,
      repeats: 2,
      status: ok ? 'ok' : 'failed',
      peakRssBytes: 1,
      trials: [1, 2].map((repeat) => ({
        system,
        nodes: 3,
        repeat,
        outcome: ok
          ? { ok: true, startMs: 1, warmupMs: 1, burstMs: 5, convergeMs: 10 * repeat, checkMs: 1, bytesSent: 3000, sockets: 2, peakRssBytes: 1 }
          : { ok: false, phase: 'converge', reason: 'PeerTimeoutError', peakRssBytes: 1 },
      })),
    })
    const report: PeerReport = {
      benchmark: 'peers',
      date: '2026-03-04T05:06:07.000Z',
      options: { ...peerOptionsOf(options), out: dir },
      machine: machineInfo(),
      results: { versions: {}, rows: [row('gun', true), row('orbitdb', false)] },
    }
    const file = join(dir, 'peers-shape.json')
    writeFileSync(file, JSON.stringify(report))
    const read = readPeerResults(file, true)
    expect(read).toMatchObject({ file, date: '2026-03-04T05:06:07.000Z', ranInThisRun: true })
    expect(read.entries).toEqual([
      { system: 'gun', nodes: 3, writes: 100, keys: 25, convergeMs: [10, 20] },
      { system: 'orbitdb', nodes: 3, writes: 100, keys: 25, convergeMs: null },
    ])
  })
})

describe.skipIf(skipReason !== '')('--with-peers on a real cluster (bench/peers installed)', () => {
  it('runs GUN on the same burst after rumordb, writes its peers file and marks it as this run', async () => {
    const out = join(dir, 'real')
    const { report } = await runClusterBenchmark({
      ...parseOptions(['--quick', '--out', out, '--with-peers', '--peer-systems', 'gun', '--peer-repeats', '1', '--peer-timeout-s', '60']),
      nodes: [2],
      writes: 12,
      keys: 6,
      repeats: 1,
      workloads: ['burst'],
      concurrency: 4,
      idleMs: 200,
      verifyKeys: 4,
      timeoutMs: 20_000,
      plots: false,
      progress: false,
    })
    const p = report.results.peers
    expect(report.results.peersError).toBeUndefined()
    expect(p?.ranInThisRun).toBe(true)
    expect(existsSync(p!.file)).toBe(true)
    expect(p!.file).toMatch(/\d{4}-\d{2}-\d{2}-peers\.json$/)
    expect(JSON.parse(readFileSync(p!.file, 'utf8'))).toMatchObject({ benchmark: 'peers', options: { nodes: [2], writes: 12, keys: 6, repeat: 1 } })
    const [gun] = p!.entries
    expect(gun).toMatchObject({ system: 'gun', nodes: 2, writes: 12, keys: 6 })
    expect(gun!.convergeMs?.[0]).toBeGreaterThan(0)
    expect(formatReport(report)).toContain('The peer systems ran in this run')
  }, 180_000)
})
