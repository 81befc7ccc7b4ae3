// Keeps `npm run bench -- storage` from rotting: a tiny run must still produce sane
// numbers and a results file. It checks the harness, not the speed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { percentile, summarize } from '../../bench/lib/stats.js'
import { formatReport, parseOptions, runStorageBenchmark, type StorageReport } from '../../bench/storage.js'

let outDir: string

beforeEach(() => {
  outDir = mkdtempSync(join(tmpdir(), 'rumordb-bench-storage-test-'))
})

afterEach(() => {
  rmSync(outDir, { recursive: true, force: true })
})

describe('storage benchmark', () => {
  it('measures a tiny workload and writes its results file', async () => {
    const options = {
      ...parseOptions(['--quick', '--out', outDir]),
      ops: 300,
      samples: 100,
      concurrency: 16,
      counterKeys: 200,
      setKeys: 20,
      setElements: 8,
      progress: false,
    }
    const { report, path } = await runStorageBenchmark(options)

    expect(path.startsWith(outDir)).toBe(true)
    expect(path).toMatch(/\d{4}-\d{2}-\d{2}-storage\.json$/)
    const written = JSON.parse(readFileSync(path, 'utf8')) as StorageReport
    expect(written.results.counter.raw.ops).toBe(300)
    expect(written.machine.packages['better-sqlite3']).not.toBe('unknown')
    for (const kind of ['counter', 'set'] as const) {
      const r = report.results[kind]
      expect(r.raw.opsPerSecond).toBeGreaterThan(0)
      expect(r.raw.stateBytes).toBeGreaterThan(0)
      expect(r.concurrent.opsPerSecond).toBeGreaterThan(0)
      // Fails if the database stops exposing its commit counters to the benchmark.
      expect(r.concurrent.opsPerCommitSource).toBe('measured')
      expect(r.concurrent.opsPerCommit).toBeGreaterThan(1)
      expect(r.ratio).toBeCloseTo(r.concurrent.opsPerSecond / r.raw.opsPerSecond)
      for (const { all: l, unflagged, flagged } of [r.latencyMs, r.raw.latencyMs]) {
        expect(flagged + (unflagged?.count ?? 0)).toBe(100)
        expect(l.count).toBe(100)
        expect(l.min).toBeGreaterThan(0)
        expect([l.min, l.p50, l.p90, l.p99, l.max]).toEqual([...[l.min, l.p50, l.p90, l.p99, l.max]].sort((a, b) => a - b))
      }
    }
    expect(formatReport(report)).toMatch(/\(b\)\/\(a\)/)
  })

  it('refuses options it cannot honour', () => {
    expect(() => parseOptions(['--ops', '0'])).toThrow(/--ops/)
    expect(() => parseOptions(['--synchronous', 'OFF'])).toThrow(/--synchronous/)
    expect(() => parseOptions(['--bogus'])).toThrow()
    expect(parseOptions(['--synchronous', 'full']).synchronous).toBe('FULL')
  })

  it('takes nearest-rank percentiles', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2)
    expect(percentile([1, 2, 3, 4], 99)).toBe(4)
    expect(summarize([5, 1, 3])).toMatchObject({ count: 3, min: 1, p50: 3, max: 5, mean: 3 })
  })
})
