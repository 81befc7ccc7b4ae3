// Keeps `npm run bench -- storage --growth` from rotting: a tiny run must reach every size
// it claims (the stores hold exactly the keys, the set the elements), produce sane numbers
// and a complete results file, and judge a slow size FAIL. It checks the harness, not the speed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ORSet, type ORSetState } from '../../crdts/index.js'
import { openDatabase } from '../../src/index.js'
import { PRELOAD_ACTOR, preloadElements, sampleCount, SET_KEY, topUpSet } from '../../bench/lib/growth-set.js'
import { formatReport, judge, parseOptions, runGrowthBenchmark, type GrowthBenchOptions, type GrowthReport } from '../../bench/storage-growth.js'
import { STALL_RESOLUTION_MS } from '../../bench/lib/growth-startup.js'

let dir: string

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-bench-growth-test-'))
})

afterEach(() => {
  rmSync(dir, { recursive: true, force: true })
})

function tiny(): GrowthBenchOptions {
  const o = parseOptions(['--quick', '--store-sizes', '2000,4000', '--set-sizes', '100,200', '--ops', '400', '--out', dir])
  return { ...o, warmupOps: 100, rounds: 2, progress: false, set: { ...o.set, samples: 20, budgetMs: 1_000, warmupAdds: 2 } }
}

describe('storage growth benchmark', () => {
  it('grows a store and a set to tiny sizes, measures each and writes its results file', async () => {
    const { report, path } = await runGrowthBenchmark(tiny())
    const r = report.results

    expect(path.startsWith(dir)).toBe(true)
    expect(path).toMatch(/\d{4}-\d{2}-\d{2}-storage-growth\.json$/)
    const written = JSON.parse(readFileSync(path, 'utf8')) as GrowthReport
    expect(written.results.counters.map((c) => c.keys)).toEqual([2000, 4000])

    // Each size was reached exactly (the database's own count), and the timed writes added keys.
    expect(r.counters.map((c) => c.target)).toEqual([2000, 4000])
    expect(r.counters.map((c) => c.keys)).toEqual([2000, 4000])
    for (const c of r.counters) {
      expect(c.keysAfter).toBeGreaterThan(c.keys)
      expect(c.engine.opsPerSecond).toBeGreaterThan(0)
      expect(c.raw.opsPerSecond).toBeGreaterThan(0)
      expect(c.raw.stateBytes).toBeGreaterThan(0)
      // Fails if the database stops exposing its commit counters to the benchmark.
      expect(c.engine.opsPerCommitSource).toBe('measured')
      expect(c.ratioToRaw).toBeCloseTo(c.engine.opsPerSecond / c.raw.opsPerSecond)
    }
    expect(r.counters[0]!.reference).toBeNull()
    expect(r.counters[0]!.ratioToSmallest).toBe(1)
    // The second size ran beside a copy of the store at the first size.
    const second = r.counters[1]!
    expect(second.reference?.keys).toBe(2000)
    expect(second.ratioToSmallest).toBeCloseTo(second.engine.opsPerSecond / second.reference!.opsPerSecond)

    // Start-up opened the store as it was after each size's timed writes.
    expect(r.startup.map((s) => s.target)).toEqual([2000, 4000])
    for (const [i, s] of r.startup.entries()) {
      for (const x of [s.local, s.networked, s.restart]) {
        expect(x.keys).toBe(r.counters[i]!.keysAfter)
        expect(x.openMs).toBeGreaterThan(0)
        expect(x.readyMs).toBeGreaterThanOrEqual(x.openMs)
        expect(x.maxStallMs).toBeGreaterThan(0)
        expect(x.maxStallAfterOpenMs).toBeLessThanOrEqual(x.maxStallMs + 2 * STALL_RESOLUTION_MS)
        expect(x.gc).toBe(true)
        expect(x.after.rss).toBeGreaterThan(0)
        expect(Number.isFinite(x.rssPerKey)).toBe(true)
      }
      expect(s.local.mode).toBe('local')
      expect(s.networked.mode).toBe('networked')
      expect(s.restart.mode).toBe('restart')
      expect(s.restart.polls).toBeGreaterThanOrEqual(1)
      expect(s.networked.polls).toBeGreaterThanOrEqual(1)
      expect(s.networked.longestPollGap.ms).toBeGreaterThanOrEqual(0)
      expect(s.local.longestPollGap.ms).toBe(0)
    }

    // The set reached each size before the timed adds (preload plus the warm-up adds).
    expect(r.set.map((s) => s.elements)).toEqual([102, 202])
    for (const s of r.set) {
      expect(s.skipped).toBeUndefined()
      expect(s.adds?.all.count).toBe(20)
      expect(s.adds!.all.p50).toBeGreaterThan(0)
      expect(s.raw!.all.count).toBeGreaterThanOrEqual(20)
      expect(s.stateBytes).toBeGreaterThan(s.elements)
    }
    expect(r.set[0]!.ratioToSmallest).toBe(1)

    for (const v of Object.values(r.verdicts)) expect(typeof v.pass).toBe('boolean')
    const text = formatReport(report)
    expect(text).toMatch(/seed 1/)
    expect(text.match(/^goal: .*: (PASS|FAIL) /gm)).toHaveLength(6)
  })

  it('judges a slow size FAIL, and says when there is nothing to compare', async () => {
    const { report } = await runGrowthBenchmark({ ...tiny(), storeSizes: [2000], set: { ...tiny().set, sizes: [50, 100] } })
    const { counters, startup, set } = report.results
    expect(report.results.verdicts.writes.pass).toBeNull()

    const slower = [counters[0]!, { ...counters[0]!, ratioToSmallest: 0.5 }]
    expect(judge(slower, startup, set).writes.pass).toBe(false)
    const late = startup.map((s) => ({
      ...s,
      networked: { ...s.networked, readyMs: 2_500, maxStallAfterOpenMs: 150, rssPerKey: 1_000 },
      restart: { ...s.restart, readyMs: 2_500 },
    }))
    const verdicts = judge(counters, late, set)
    expect([verdicts.ready.pass, verdicts.coldReady.pass, verdicts.stall.pass, verdicts.memory.pass]).toEqual([false, false, false, false])
    const growing = [set[0]!, { ...set[1]!, ratioToSmallest: 11 }]
    expect(judge(counters, startup, growing).setAdd.pass).toBe(false)
  })

  it('preloads the same set that one add at a time would build, keeping what was there', async () => {
    let oneByOne = ORSet.empty()
    for (let i = 0; i < 50; i++) oneByOne = ORSet.merge(oneByOne, ORSet.add(oneByOne, PRELOAD_ACTOR, `p/${i}`))
    expect(ORSet.equals(preloadElements(ORSet.empty(), 0, 50), oneByOne)).toBe(true)

    const dataDir = join(dir, 'set')
    const db = await openDatabase({ dataDir })
    await db.set(SET_KEY).add('mine')
    await db.close()
    await topUpSet(dataDir, 30, 'NORMAL')
    await topUpSet(dataDir, 30, 'NORMAL')
    const reopened = await openDatabase({ dataDir })
    try {
      const values = await reopened.set(SET_KEY).values()
      expect(values).toHaveLength(30)
      expect(values).toContain('mine')
      expect(values).toContain('p/28')
      const state = (await reopened.readState(SET_KEY, 'orset')) as ORSetState
      expect(state.context.get(PRELOAD_ACTOR)?.contiguous).toBe(29)
    } finally {
      await reopened.close()
    }
  })

  it('refuses options it cannot honour, and fits the set samples to the budget', () => {
    expect(() => parseOptions(['--store-sizes', '100000,10000'])).toThrow(/--store-sizes must ascend/)
    expect(() => parseOptions(['--set-sizes', '0'])).toThrow(/--set-sizes/)
    expect(() => parseOptions(['--synchronous', 'OFF'])).toThrow(/--synchronous/)
    expect(() => parseOptions(['--bogus'])).toThrow()
    expect(parseOptions(['--quick']).storeSizes).toEqual([10_000, 100_000])
    expect(parseOptions([]).storeSizes).toEqual([10_000, 100_000, 1_000_000])
    const o = { samples: 200, minSamples: 5, budgetMs: 10_000 }
    expect(sampleCount(1, o)).toBe(200)
    expect(sampleCount(1_000, o)).toBe(10)
    expect(sampleCount(60_000, o)).toBe(5)
  })
})
