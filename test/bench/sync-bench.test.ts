// Keeps `npm run bench -- sync` from rotting: a tiny store must really end equal on both
// replicas after the measured rounds, with sane numbers and a complete results file, and a
// size that does not settle must be judged FAIL. It checks the harness, not the speed. The
// set part: a small set must really reach the wiped replica and the elements added apart
// both sides, and the counted bytes must be the page path's, not the whole-state path's.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GCounter, ORSet, type GCounterState, type ORSetState } from '../../crdts/index.js'
import type { Store } from '../../src/store/store.js'
import { formatReport, judge, measureSize, parseOptions, runSyncBenchmark, setOptionsOf, type SizeResult, type SyncReport } from '../../bench/sync.js'
import { measureCase, seededSet, SET_KEY, type SetCase } from '../../bench/lib/sync-set.js'
import type { SyncPair } from '../../bench/lib/sync-fixture.js'

let outDir: string

beforeEach(() => {
  outDir = mkdtempSync(join(tmpdir(), 'rumordb-bench-sync-test-'))
})

afterEach(() => {
  rmSync(outDir, { recursive: true, force: true })
})

const tiny = (sizes: number[]) => ({ ...parseOptions(['--quick', '--out', outDir]), sizes, diffs: 4, progress: false, setElements: 0 })

/** Every key's digest, read here rather than through the benchmark's own comparison. */
function digests(store: Store): Map<string, string> {
  return new Map(store.scan({}).map((k) => [k.key, Buffer.from(k.digest).toString('hex')]))
}

describe('sync benchmark', () => {
  it('measures 2,000 keys with 4 differences: the replicas end equal and every number is sane', async () => {
    const { result, pair } = await measureSize(2000, tiny([2000]))

    expect(result.settled).toBe(true)
    const a = digests(pair.a.store)
    expect(a.size).toBe(2000)
    expect(a).toEqual(digests(pair.b.store))
    // The changes were real and both survived: each changed key counts its increment on both sides.
    expect(result.changed.onA).toHaveLength(2)
    expect(result.changed.onB).toHaveLength(2)
    const values = (key: string): number[] =>
      [pair.a, pair.b].map((node) => GCounter.value(node.replica.read(key)!.state as GCounterState))
    for (const key of [...result.changed.onA, ...result.changed.onB]) {
      const [onA, onB] = values(key)
      expect(onA).toBe(onB)
      expect(pair.a.replica.read(key)!.state).toEqual(pair.b.replica.read(key)!.state)
      expect((pair.a.replica.read(key)!.state as GCounterState).actors).toHaveLength(2)
    }

    expect(result.rounds).toBeGreaterThanOrEqual(1)
    expect(result.rounds).toBe(result.perRound.length)
    expect(result.bytesAtoB).toBeGreaterThan(0)
    expect(result.bytesBtoA).toBeGreaterThan(0)
    expect(result.bytes).toBe(result.bytesAtoB + result.bytesBtoA)
    expect(result.settleMs).toBeGreaterThan(0)
    // Every changed key travelled: a received b's, b received a's (AntiEntropy.stats).
    expect(result.stats.a.keysReceived).toBeGreaterThanOrEqual(2)
    expect(result.stats.b.keysReceived).toBeGreaterThanOrEqual(2)
    expect(result.perRound.reduce((n, r) => n + r.listed, 0)).toBeGreaterThan(0)
    // Before the changes and after settling, one round finds the replicas equal, cheaply.
    expect(result.idle.outcome).toBe('equal')
    expect(result.after?.outcome).toBe('equal')
    expect(result.idle.bytesAtoB + result.idle.bytesBtoA).toBeGreaterThan(0)
    expect(result.idle.bytesAtoB + result.idle.bytesBtoA).toBeLessThan(result.bytes / 10)
    expect(result.arcs).toBe(1024)
    expect(result.preload.storeMs).toBeGreaterThan(0)
    expect(result.preload.indexMsA).toBeGreaterThan(0)
  })

  it('writes a results file with both verdicts judged from the same run', async () => {
    const { report, path } = await runSyncBenchmark(tiny([1000, 2000]))

    expect(path.startsWith(outDir)).toBe(true)
    expect(path).toMatch(/\d{4}-\d{2}-\d{2}-sync\.json$/)
    const written = JSON.parse(readFileSync(path, 'utf8')) as SyncReport
    expect(written.benchmark).toBe('sync')
    expect(written.options).toMatchObject({ sizes: [1000, 2000], diffs: 4, seed: 1 })
    expect(written.machine.cores).toBeGreaterThan(0)
    expect(written.results.sizes.map((s) => s.keys)).toEqual([1000, 2000])
    for (const s of written.results.sizes) {
      expect(s).toMatchObject({ settled: true, idle: { outcome: 'equal' } })
      expect(s.rounds).toBeGreaterThanOrEqual(1)
      expect(s.bytes).toBeGreaterThan(0)
      expect(s.perRound[0]).toHaveProperty('bytesByType')
      expect(s.preload).toHaveProperty('heapUsedBytes')
    }
    const [small, large] = written.results.sizes as [SizeResult, SizeResult]
    expect(written.results.verdicts.bytes.ratio).toBeCloseTo(large.bytes / small.bytes)
    expect(written.results.verdicts.rounds.pass).toBe(Math.max(small.rounds, large.rounds) <= 3)
    expect(written.results.peakRssBytes).toBeGreaterThan(0)
    expect(written.results.set).toBeNull()
    expect(formatReport(report)).toMatch(/goal: 4 differences settle in ≤ 3 rounds at every size: (PASS|FAIL)/)
    expect(formatReport(report)).toMatch(/goal: bytes to settle at 2,000 keys ≤ 2 × at 1,000 keys: (PASS|FAIL) \(\d+\.\d\d×/)
  })

  it('judges a size that did not settle, or whose bytes grew, as FAIL', () => {
    const size = (keys: number, settled: boolean, rounds: number, bytes: number) => ({ keys, settled, rounds, bytes }) as unknown as SizeResult
    const failed = judge([size(10_000, true, 1, 10_000), size(1_000_000, false, 200, 15_000)], 10)
    expect(failed.rounds.pass).toBe(false)
    expect(failed.rounds.measured).toMatch(/not settled within 200 rounds at 1,000,000 keys/)
    expect(failed.bytes.pass).toBe(false)
    const grew = judge([size(10_000, true, 1, 10_000), size(1_000_000, true, 3, 20_001)], 10)
    expect(grew.rounds.pass).toBe(true)
    expect(grew.bytes).toMatchObject({ pass: false, ratio: 2.0001 })
    expect(judge([size(10_000, true, 4, 1)], 10)).toMatchObject({ rounds: { pass: false }, bytes: { pass: null } })
  })

  it('refuses options it cannot honour', () => {
    expect(parseOptions(['--quick']).sizes).toEqual([1000, 10_000, 100_000])
    expect(parseOptions([]).sizes).toEqual([10_000, 100_000, 1_000_000])
    expect(parseOptions(['--sizes', '2000, 4_000']).sizes).toEqual([2000, 4000])
    expect(() => parseOptions(['--sizes', '0'])).toThrow(/--sizes/)
    expect(() => parseOptions(['--sizes', ','])).toThrow(/--sizes/)
    expect(() => parseOptions(['--sizes', '5', '--diffs', '10'])).toThrow(/--diffs/)
    expect(() => parseOptions(['--bogus'])).toThrow()
  })
})

describe('sync benchmark, set part', () => {
  const ELEMENTS = 20_000
  const options = () => setOptionsOf({ ...parseOptions(['--set-elements', String(ELEMENTS), '--set-only', '--out', outDir]), progress: false })
  const encoded = ORSet.encode(seededSet(ELEMENTS))

  const valuesOf = (pair: SyncPair, node: 'a' | 'b'): string[] => ORSet.value(pair[node].replica.read(SET_KEY)!.state as ORSetState) as string[]
  const sums = (c: SetCase, pick: (r: SetCase['perRound'][number]) => number): number => c.perRound.reduce((n, r) => n + pick(r), 0)

  it('reaches a wiped replica by its pages: every page once, about the state in bytes', async () => {
    const c = await measureCase('wiped', encoded, options())

    expect(c.settled).toBe(true)
    expect(valuesOf(c.pair, 'b')).toHaveLength(ELEMENTS)
    expect(valuesOf(c.pair, 'b')).toEqual(valuesOf(c.pair, 'a'))
    expect(c.stateBytes).toBe(encoded.length)
    expect(c.pages).toBeGreaterThan(50)
    expect(c.rounds).toBe(c.perRound.length)
    expect(c.bytes).toBe(c.bytesAtoB + c.bytesBtoA)
    expect(c.bytes).toBe(sums(c, (r) => r.bytesAtoB + r.bytesBtoA))
    expect(c.ratio).toBeCloseTo(c.bytes / c.stateBytes, 9)
    // b received every page exactly once, and its pages are the state but for its prefix.
    expect(c.stats.b.pagesReceived).toBe(c.pages)
    expect(c.stats.b.pageBytesReceived).toBe(c.stateBytes - c.prefixBytes)
    expect(sums(c, (r) => r.pagesSent)).toBe(c.pages)
    expect(c.stats.a.pagesReceived).toBe(0)
    // What b got is the state and little else; what it sent is small.
    expect(c.bytesAtoB).toBeGreaterThan(c.stateBytes)
    expect(c.ratio).toBeLessThan(1.1)
    expect(c.bytesBtoA).toBeLessThan(c.stateBytes / 20)
    expect(c.settleMs).toBeGreaterThan(0)
    expect(c.rssBytes).toBeGreaterThan(0)
  })

  it('settles elements added apart on both sides by moving a few pages, not the set both ways', async () => {
    const c = await measureCase('diffs', encoded, options())

    expect(c.settled).toBe(true)
    expect(c.added.onA).toHaveLength(5)
    expect(c.added.onB).toHaveLength(5)
    const [onA, onB] = [valuesOf(c.pair, 'a'), valuesOf(c.pair, 'b')]
    expect(onA).toHaveLength(ELEMENTS + 10)
    expect(onB).toEqual(onA)
    for (const element of [...c.added.onA, ...c.added.onB]) expect(onA).toContain(element)
    expect(c.stats.a.pagesReceived).toBeGreaterThan(0)
    expect(c.stats.b.pagesReceived).toBeGreaterThan(0)
    expect(c.stats.a.pagesReceived + c.stats.b.pagesReceived).toBeLessThanOrEqual(4 * 10)
    expect(c.bytes).toBe(sums(c, (r) => r.bytesAtoB + r.bytesBtoA))
    // The whole-state path sends the set both ways (ratio about 2): this must stay far below one copy.
    expect(c.ratio).toBeLessThan(0.5)
  })

  it('writes the set part and its four verdicts into the results file', async () => {
    const { report, path } = await runSyncBenchmark({ ...parseOptions(['--set-only', '--set-elements', String(ELEMENTS), '--out', outDir]), progress: false })

    const written = JSON.parse(readFileSync(path, 'utf8')) as SyncReport
    expect(written.results.sizes).toEqual([])
    const set = written.results.set!
    expect(set.elements).toBe(ELEMENTS)
    expect(set.encodedBytes).toBe(encoded.length)
    expect(set.cases.map((c) => c.name)).toEqual(['wiped', 'diffs'])
    const [wiped, diffs] = set.cases as [SetCase, SetCase]
    expect(wiped).not.toHaveProperty('pair')
    expect(set.verdicts.wipedRounds.pass).toBe(wiped.settled && wiped.rounds <= 3)
    expect(set.verdicts.wipedBytes.pass).toBe(wiped.ratio <= 1.1)
    expect(set.verdicts.diffsBytes.pass).toBe(diffs.ratio <= 0.05)
    const text = formatReport(report)
    expect(text).toMatch(/goal: a wiped replica of the set settles in ≤ 3 rounds: (PASS|FAIL)/)
    expect(text).toMatch(/goal: a wiped replica of the set: bytes ≤ 1.1 × the state's size: (PASS|FAIL) \(1\.\d{3}×/)
    expect(text).toMatch(/goal: 10 elements added apart settles in ≤ 3 rounds: (PASS|FAIL)/)
    expect(text).toMatch(/goal: 10 elements added apart: bytes ≤ 0.05 × the state's size: (PASS|FAIL)/)
    expect(text).not.toMatch(/settle in ≤ 3 rounds at every size/)
  })

  it('takes the set options', () => {
    expect(parseOptions([]).setElements).toBe(1_000_000)
    expect(parseOptions(['--quick']).setElements).toBe(100_000)
    expect(parseOptions(['--skip-set']).setElements).toBe(0)
    expect(parseOptions(['--set-only']).sizes).toEqual([])
    expect(parseOptions(['--list-pages-from', '1024']).listPagesFromBytes).toBe(1024)
    expect(() => parseOptions(['--set-only', '--skip-set'])).toThrow(/--set-only/)
    expect(() => parseOptions(['--set-elements', '0'])).toThrow(/--set-elements/)
    expect(() => parseOptions(['--set-elements', '5'])).toThrow(/--diffs/)
  })
})
