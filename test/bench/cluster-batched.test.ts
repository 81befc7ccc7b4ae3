// The cluster benchmark's burst-batched workload without processes: its options, the same
// writes as the per-request burst, sending batches and tallying each item's own outcome
// (only ok: true is acknowledged), and the report judging the burst goal on it with the
// per-request burst printed beside it. The real cluster runs it in cluster-bench.test.ts.
import { describe, expect, it } from 'vitest'
import { formatMarkdown, formatReport, GOALS, parseOptions, seriesOf, type ClusterReport, type NodeCountResult } from '../../bench/cluster.js'
import type { JsonResponse } from '../../bench/cluster/http-json.js'
import type { PeerResults } from '../../bench/cluster/peer-results.js'
import { burstVersusPeers } from '../../bench/cluster/peer-comparison.js'
import { buildPlots } from '../../bench/cluster/plots.js'
import { bytesPerUpdate, judgeGoals } from '../../bench/cluster/report.js'
import { batchOutcomes, sendBatches, sendWrites, type JsonRequester } from '../../bench/cluster/send-writes.js'
import { ExpectedCounters, type Write } from '../../bench/cluster/workload.js'
import { convergenceWrites, KeyLedger } from '../../bench/cluster/workloads.js'
import { machineInfo } from '../../bench/lib/machine.js'
import { seededRandom } from '../../src/base/random.js'
import { convergenceRun } from './run-fixture.js'

describe('burst-batched options', () => {
  it('is on by default in full and --quick runs, batches of 100, 2 in flight', () => {
    for (const args of [[], ['--quick']]) {
      const o = parseOptions(args)
      expect(o.workloads).toContain('burst')
      expect(o.workloads).toContain('burst-batched')
      expect(o).toMatchObject({ batchSize: 100, batchConcurrency: 2 })
    }
    expect(parseOptions(['--workloads', 'burst-batched,burst']).workloads).toEqual(['burst', 'burst-batched'])
  })

  it('takes --batch-size from 1 to 1000 and --batch-concurrency from 1', () => {
    expect(parseOptions(['--batch-size', '1', '--batch-concurrency', '1'])).toMatchObject({ batchSize: 1, batchConcurrency: 1 })
    expect(parseOptions(['--batch-size', '1000', '--batch-concurrency', '8'])).toMatchObject({ batchSize: 1000, batchConcurrency: 8 })
    expect(() => parseOptions(['--batch-size', '0'])).toThrow(/--batch-size must be a positive integer, got 0/)
    expect(() => parseOptions(['--batch-size', '1001'])).toThrow(/--batch-size must be from 1 to 1000/)
    expect(() => parseOptions(['--batch-size', 'lots'])).toThrow(/--batch-size must be a positive integer/)
    expect(() => parseOptions(['--batch-concurrency', '0'])).toThrow(/--batch-concurrency must be a positive integer, got 0/)
    expect(() => parseOptions(['--batch-concurrency', '1.5'])).toThrow(/--batch-concurrency must be a positive integer/)
  })

  it('refuses batch flags for a run without burst-batched, and --with-peers without any burst', () => {
    expect(() => parseOptions(['--workloads', 'burst', '--batch-size', '10'])).toThrow(/--batch-size only applies to the burst-batched workload/)
    expect(() => parseOptions(['--workloads', 'latency', '--batch-concurrency', '3'])).toThrow(/--batch-concurrency only applies/)
    expect(parseOptions(['--with-peers', '--workloads', 'burst-batched']).withPeers).toBe(true)
    expect(() => parseOptions(['--with-peers', '--workloads', 'concurrent'])).toThrow(/include burst or burst-batched/)
  })
})

describe('burst-batched writes', () => {
  const settings = { writes: 40, keys: 10, types: ['gcounter', 'pncounter', 'orset', 'lww'] as const, seed: 7 }

  it('sends the same writes as the per-request burst of the same run, on keys of its own', () => {
    const shared = seededRandom(1)
    const burst = convergenceWrites(settings, 'burst', 1, shared)
    const batched = convergenceWrites(settings, 'burst-batched', 1, shared)
    expect(batched.map((w) => w.body)).toEqual(burst.map((w) => w.body))
    expect(batched.map((w) => w.key.replace('burst-batched.1-', ''))).toEqual(burst.map((w) => w.key.replace('burst.1-', '')))
    expect(batched.every((w) => w.key.startsWith('burst-batched.1-'))).toBe(true)
    // The bursts leave the shared generator alone; another repeat is another burst.
    expect(shared.next()).toBe(seededRandom(1).next())
    expect(convergenceWrites(settings, 'burst', 2, shared).map((w) => w.body)).not.toEqual(burst.map((w) => w.body))
    expect(convergenceWrites({ ...settings, seed: 8 }, 'burst', 1, shared).map((w) => w.body)).not.toEqual(burst.map((w) => w.body))
  })

  // Sent as batches of 3: [a, b, a], [c, d, e], [f, c].
  const writes: Write[] = [
    { key: 'a', body: { type: 'gcounter', op: 'increment', amount: 2 } }, // ok
    { key: 'b', body: { type: 'gcounter', op: 'increment', amount: 3 } }, // ok: false
    { key: 'a', body: { type: 'gcounter', op: 'increment', amount: 4 } }, // ok
    { key: 'c', body: { type: 'pncounter', op: 'decrement', amount: 1 } }, // ok, quorum: false
    { key: 'd', body: { type: 'orset', op: 'add', element: 'x' } }, // ok
    { key: 'e', body: { type: 'gcounter', op: 'increment', amount: 5 } }, // ok: false
    { key: 'f', body: { type: 'gcounter', op: 'increment', amount: 1 } }, // its batch answered 503
    { key: 'c', body: { type: 'pncounter', op: 'increment', amount: 7 } }, // its batch answered 503
  ]
  const refusedKeys = new Set(['b', 'e'])

  /** Answers batch items ok except keys b and e; the batch holding f is refused whole. */
  function fakeNode(): JsonRequester & { calls: { path: string; body: unknown }[] } {
    const calls: { path: string; body: unknown }[] = []
    return {
      calls,
      request: async (method, path, body): Promise<JsonResponse> => {
        calls.push({ path, body })
        expect(method).toBe('POST')
        const items = (body as { writes: { key: string; type: string }[] }).writes
        if (items.some((i) => i.key === 'f')) return { status: 503, body: { error: { code: 'UNAVAILABLE', message: 'try again' } } }
        return {
          status: 200,
          body: {
            results: items.map((i) =>
              refusedKeys.has(i.key)
                ? { key: i.key, type: i.type, ok: false, error: { code: 'QUORUM_NOT_MET', message: 'only 1 of 2 acks' } }
                : { key: i.key, type: i.type, ok: true, value: 1, acks: 2, quorum: i.key !== 'c', token: 't' },
            ),
          },
        }
      },
    }
  }

  it('sends batches of --batch-size to POST /v1/batch, each item the single-write body plus its key', async () => {
    const node = fakeNode()
    await sendBatches(node, writes, 3, 2, new KeyLedger(), new ExpectedCounters())
    expect(node.calls.map((c) => c.path)).toEqual(['/v1/batch', '/v1/batch', '/v1/batch'])
    const sent = node.calls.flatMap((c) => (c.body as { writes: unknown[] }).writes)
    expect(sent).toHaveLength(writes.length)
    expect(sent).toContainEqual({ key: 'a', type: 'gcounter', op: 'increment', amount: 2 })
    expect(sent).toContainEqual({ key: 'd', type: 'orset', op: 'add', element: 'x' })
    expect(node.calls.map((c) => (c.body as { writes: unknown[] }).writes.length).sort()).toEqual([2, 3, 3])
  })

  it('counts as acknowledged only the items answered ok: true, in the ledger and the expected counters', async () => {
    const ledger = new KeyLedger()
    const counters = new ExpectedCounters()
    const progress: number[] = []
    const sent = await sendBatches(fakeNode(), writes, 3, 2, ledger, counters, (d) => progress.push(d))
    expect(sent).toMatchObject({ acked: 4, failed: 4, notQuorum: 1, requests: 3 })
    expect(sent.firstError).toMatch(/QUORUM_NOT_MET|503/)
    // Sure: a, d and c (acknowledged once, though its other write's batch was refused);
    // maybe: b, e, f (never acknowledged; they may or may not have been applied).
    expect(ledger.count).toEqual({ sure: 3, maybe: 3 })
    // a = 2 + 4; c had a write of unknown outcome, b/e/f none acknowledged: left out.
    expect(counters.known()).toEqual([['a', 6]])
    expect(progress.at(-1)).toBe(writes.length)
  })

  it('tallies the same writes sent one request each the same way', async () => {
    const single: JsonRequester = {
      request: async (_method, path, body) => {
        const key = decodeURIComponent(path.replace('/v1/kv/', ''))
        if (key === 'f' || key === 'c') return { status: 503, body: { error: { code: 'UNAVAILABLE' } } }
        if (refusedKeys.has(key)) return { status: 503, body: { error: { code: 'QUORUM_NOT_MET' } } }
        return { status: 200, body: { key, type: (body as { type: string }).type, quorum: true } }
      },
    }
    const ledger = new KeyLedger()
    const counters = new ExpectedCounters()
    const sent = await sendWrites([single], writes, () => 0, 4, ledger, counters)
    expect(sent).toMatchObject({ acked: 3, failed: 5, notQuorum: 0, requests: 8 })
    expect(ledger.count).toEqual({ sure: 2, maybe: 4 })
    expect(counters.known()).toEqual([['a', 6]])
  })

  it('treats an answer that does not match the batch item for item as acknowledging nothing', () => {
    const batch = writes.slice(0, 2)
    const ok = (key: string): object => ({ key, type: 'gcounter', ok: true, quorum: true })
    expect(batchOutcomes({ status: 200, body: { results: [ok('a'), ok('b')] } }, batch)).toEqual([
      { ok: true, quorum: true },
      { ok: true, quorum: true },
    ])
    expect(batchOutcomes({ status: 200, body: { results: [ok('a')] } }, batch)).toMatch(/not one result per item \(2 sent\)/)
    expect(batchOutcomes({ status: 200, body: { results: [ok('b'), ok('a')] } }, batch)).toMatch(/result 0 is not an outcome for a/)
    expect(batchOutcomes({ status: 200, body: { results: [ok('a'), { key: 'b' }] } }, batch)).toMatch(/result 1 is not an outcome for b/)
    expect(batchOutcomes({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } }, batch)).toMatch(/^400: .*INVALID_REQUEST/)
    expect(batchOutcomes({ status: 404, body: undefined }, batch)).toMatch(/^404/)
  })

  it('counts a batch whose request threw as not acknowledged, and refuses a batch size out of bounds', async () => {
    const down: JsonRequester = { request: () => Promise.reject(new Error('ECONNREFUSED')) }
    const ledger = new KeyLedger()
    const sent = await sendBatches(down, writes, 4, 1, ledger, new ExpectedCounters())
    expect(sent).toMatchObject({ acked: 0, failed: writes.length, requests: 2 })
    expect(sent.firstError).toContain('ECONNREFUSED')
    expect(ledger.count.sure).toBe(0)
    await expect(sendBatches(down, writes, 0, 1, ledger, new ExpectedCounters())).rejects.toThrow(/from 1 to 1000/)
    await expect(sendBatches(down, writes, 1001, 1, ledger, new ExpectedCounters())).rejects.toThrow(/from 1 to 1000/)
  })
})


function fiveNodes(burst: readonly (number | null)[], batched: readonly (number | null)[]): NodeCountResult {
  return {
    nodes: 5,
    replicas: 3,
    startMs: 1000,
    warmup: { convergeMs: 10 },
    idle: { ms: 1000, bytesSentPerSecond: [0, 0, 0, 0, 0], bytesReceivedPerSecond: [0, 0, 0, 0, 0] },
    runs: [...burst.map((t, i) => convergenceRun('burst', i, t, 40_000)), ...batched.map((t, i) => convergenceRun('burst-batched', i, t, 20_000))],
    latency: [],
    counters: null,
    peakRssBytes: [],
  }
}

describe('the burst goal with both rumordb bursts', () => {
  const options = { ...parseOptions(['--writes', '1000', '--with-peers']), progress: false }
  const gun = (convergeMs: number[] | null): PeerResults['entries'][number] => ({ system: 'gun', nodes: 5, writes: 1000, convergeMs })
  const peers = (ranInThisRun: boolean, rows: PeerResults['entries']): PeerResults => ({ file: '/tmp/2026-01-02-peers.json', date: '2026-01-02T03:04:05.000Z', ranInThisRun, entries: rows })
  const both = [fiveNodes([900, 1000, 950], [200, 220, 210])]
  const verdictOf = (results: NodeCountResult[], p: PeerResults | null = peers(true, [gun([663])])): ReturnType<typeof judgeGoals>[number] =>
    judgeGoals(options, results, 20, p)[0]!

  it('is judged on burst-batched, with the per-request burst and its ratio in the same line', () => {
    const v = verdictOf(both)
    expect(v.verdict).toBe('PASS')
    expect(v.detail).toBe(
      'judged on burst-batched: 100 writes per request, 2 in flight: first write → converged, median: rumordb 210 ms (3 runs) ÷ gun 663 ms (1 trial) = 0.32×; ' +
        'not judged, burst: 1 write per request, 16 in flight: rumordb 950 ms (3 runs) ÷ gun = 1.43×; ' +
        'peers ran in this run, applying one write at a time in-process with no request per write',
    )
  })

  it('fails when burst-batched is too slow or FAILED, however the per-request burst did', () => {
    const slow = verdictOf([fiveNodes([100, 100, 100], [400, 400, 400])])
    expect(slow.verdict).toBe('FAIL')
    expect(slow.detail).toMatch(/rumordb 400 ms \(3 runs\) ÷ gun 663 ms \(1 trial\) = 0\.60×; not judged, burst: .*= 0\.15×/)
    const failed = verdictOf([fiveNodes([100, 100], [200, null])])
    expect(failed.verdict).toBe('FAIL')
    expect(failed.detail).toMatch(/^judged on burst-batched: .*: 1 of 2 rumordb runs FAILED; not judged, burst: .*rumordb 100 ms \(2 runs\) ÷ gun = 0\.15×/)
  })

  it('shows a per-request burst that FAILED beside a batched PASS', () => {
    const v = verdictOf([fiveNodes([null, 900], [200, 210])])
    expect(v.verdict).toBe('PASS')
    expect(v.detail).toContain('not judged, burst: 1 write per request, 16 in flight: rumordb 1 of 2 runs FAILED;')
  })

  it('is judged on the per-request burst, saying so, when burst-batched did not run', () => {
    const v = verdictOf([fiveNodes([300, 320, 310], [])])
    expect(v.verdict).toBe('PASS')
    expect(v.detail).toMatch(/^judged on burst: 1 write per request, 16 in flight \(burst-batched not in this run\): .*rumordb 310 ms \(3 runs\) ÷ gun 663 ms \(1 trial\) = 0\.47×; peers ran/)
    expect(v.detail).not.toContain('not judged')
  })

  it('prints both bursts without peers, and N/A across runs', () => {
    const none = verdictOf(both, null)
    expect(none.verdict).toBe('N/A')
    expect(none.detail).toMatch(/judged on burst-batched: .*rumordb median 210 ms \(3 runs\); not judged, burst: .*rumordb 950 ms \(3 runs\); the peer systems did not run/)
    const cross = verdictOf(both, peers(false, [gun([663])]))
    expect(cross.verdict).toBe('N/A')
    expect(cross.detail).toMatch(/^cross-run, not judged: judged on burst-batched: .*= 0\.32×; not judged, burst: .*= 1\.43×.*another run/)
  })

  it('keeps the bytes-per-update goal on the per-request burst', () => {
    const [r] = both
    const perRequest = bytesPerUpdate(r!, 20)!
    expect(bytesPerUpdate(r!, 20, 'burst-batched')!.ratio).toBeCloseTo(perRequest.ratio / 2)
    const bytes = judgeGoals(options, both, 20, null).find((v) => v.goal.startsWith('bytes per converged update'))!
    expect(bytes.detail).toContain(`= ${perRequest.ratio.toFixed(1)}×`)
  })

  it('tabulates a row per rumordb burst against every peer', () => {
    const t = burstVersusPeers(options, both, peers(true, [gun([663]), { system: 'automerge', nodes: 5, writes: 1000, convergeMs: [2000] }]))
    expect(t.header).toEqual(['nodes', 'rumordb burst', 'rumordb ms (runs)', 'gun ms (trials)', 'automerge ms (trials)', 'rumordb ÷ fastest peer'])
    expect(t.rows).toEqual([
      ['5', 'burst: 1 write per request, 16 in flight', '950 (3)', '663 (1)', '2,000 (1)', '1.43×'],
      ['5', 'burst-batched: 100 writes per request, 2 in flight', '210 (3)', '663 (1)', '2,000 (1)', '0.32×'],
    ])
  })

  it('explains in the reports why the goal is judged on burst-batched, and plots both rumordb series', () => {
    const p = peers(true, [gun([663])])
    const report: ClusterReport = {
      benchmark: 'cluster',
      date: '2026-02-03T00:00:00.000Z',
      options,
      machine: { ...machineInfo(), packages: {} },
      results: { goals: GOALS, deltaBytes: 20, nodeCounts: both, peers: p, verdicts: judgeGoals(options, both, 20, p), plots: [], markdown: null },
    }
    expect(formatReport(report)).toMatch(/PASS\s+burst of 1,000 writes on 5 nodes[^\n]*judged on burst-batched[^\n]*= 0\.32×; not judged, burst[^\n]*= 1\.43×/)
    const md = formatMarkdown(report)
    expect(md).toContain('The burst goal is judged on burst-batched, and the per-request burst is printed beside it in the same line.')
    expect(md).toContain('The peers write in-process with no request per write, while rumordb\'s client is another process speaking HTTP')
    expect(md).toContain('are how a bulk client is meant to write to rumordb')
    expect(md).toMatch(/\| 5 \| burst-batched \| 3\/3 \|/)

    const series = both.map((r) => seriesOf(r, options))
    expect(series[0]!.fromFirstWriteMs).toEqual({ burst: [900, 1000, 950], 'burst-batched': [200, 220, 210] })
    const plots = buildPlots(series, p.entries, 'test')
    const svg = (name: string): string => plots.find((x) => x.name === name)!.svg
    expect(svg('cluster-convergence.svg')).toContain('rumordb: burst on one node, 1 request per write')
    expect(svg('cluster-convergence.svg')).toContain('rumordb: burst on one node, batches of 100')
    for (const name of ['cluster-burst-vs-peers.svg', 'cluster-cdf.svg']) {
      expect(svg(name)).toContain('rumordb, 1 request/write')
      expect(svg(name)).toContain('rumordb, batches of 100')
      expect(svg(name)).toContain('gun')
    }
  })
})
