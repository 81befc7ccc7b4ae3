// Keeps `npm run bench -- crdts` from rotting: a tiny run must still do the same work on
// both libraries, produce sane numbers and write its results file. It checks the harness,
// not the speed.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { formatReport, GOALS, parseOptions, runCrdtBenchmark, type CrdtBenchOptions, type CrdtReport } from '../../bench/crdts.js'
import { buildFixtures, checkAgreement, WorkloadMismatchError } from '../../bench/lib/crdt-workloads.js'
import { timePair } from '../../bench/lib/paired-timing.js'

let outDir: string

beforeEach(() => {
  outDir = mkdtempSync(join(tmpdir(), 'rumordb-bench-crdts-test-'))
})

afterEach(() => {
  rmSync(outDir, { recursive: true, force: true })
})

function tiny(): CrdtBenchOptions {
  return {
    ...parseOptions(['--quick', '--out', outDir]),
    counterActors: 4,
    setElements: 60,
    setActors: 3,
    setDivergence: 10,
    rounds: 3,
    sampleMs: 2,
    warmupMs: 5,
    progress: false,
  }
}

const finitePositive = (x: number): void => {
  expect(Number.isFinite(x)).toBe(true)
  expect(x).toBeGreaterThan(0)
}

describe('crdts benchmark', () => {
  it('times a tiny workload on both libraries and writes its results file', async () => {
    const { report, path } = await runCrdtBenchmark(tiny())

    expect(path.startsWith(outDir)).toBe(true)
    expect(path).toMatch(/\d{4}-\d{2}-\d{2}-crdts\.json$/)
    const written = JSON.parse(readFileSync(path, 'utf8')) as CrdtReport
    const ownVersion = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
    expect(written.results.versions.rumordb).toBe(ownVersion)
    expect(written.results.versions['delta-crdts']).toMatch(/^\d+\.\d+\.\d+/)
    expect(written.results.versions['delta-crdts-msgpack-codec']).toMatch(/^\d+\.\d+\.\d+/)
    expect(written.results.versions.node).toBe(process.version)
    expect(written.machine.cores).toBeGreaterThan(0)

    const r = report.results
    expect(r.mutators.map((m) => m.type)).toEqual(['gcounter', 'pncounter', 'orset', 'lww'])
    expect(r.merges.map((m) => m.type)).toEqual(['gcounter', 'pncounter', 'orset', 'orset', 'lww'])
    for (const t of [...r.mutators, ...r.merges]) {
      for (const side of [t.ours, t.theirs]) {
        expect(side.samples).toHaveLength(3)
        expect(side.iterations).toBeGreaterThan(0)
        side.samples.forEach(finitePositive)
      }
      finitePositive(t.ratio)
      expect(t.ratio).toBeCloseTo(t.ours.opsPerSecond.p50 / t.theirs.opsPerSecond.p50)
      expect(t.pass).toBe(t.group === 'merge' ? t.ratio >= GOALS.minMergeRatio : undefined)
    }
    expect(r.sizes).toHaveLength(5)
    for (const s of r.sizes) {
      finitePositive(s.ours)
      finitePositive(s.theirs)
      finitePositive(s.ratio)
      expect(s.pass).toBe(s.ratio <= GOALS.maxBytesRatio)
    }
    // The delta is one element on both sides; their replica's add() returned their whole set.
    const delta = r.sizes.find((s) => s.workload === '1-add delta')
    expect(delta?.theirsAddReturn).toBeGreaterThan(10 * (delta?.theirs ?? Infinity))
    expect(r.pass.merges).toBe(r.merges.every((m) => m.pass === true))
    expect(r.notes.length).toBeGreaterThan(0)

    const text = formatReport(report)
    expect(text).toMatch(/ours\/theirs/)
    expect(text).toMatch(/goal: merges ≥ 2\.00× theirs: (PASS|FAIL)/)
    expect(text).toMatch(/goal: encodings no larger than theirs: (PASS|FAIL)/)
  })

  it('builds fixtures on which both libraries agree, and notices when they do not', () => {
    const f = buildFixtures(tiny())
    expect(() => checkAgreement(f)).not.toThrow()
    expect(f.gcounter.merged.ours.actors).toHaveLength(4)
    expect(f.orset.merged.ours.entries).toHaveLength(61)
    const swapped = { ...f, orset: { ...f.orset, merged: { ours: f.orset.merged.ours, theirs: f.orset.a.theirs } } }
    expect(() => checkAgreement(swapped)).toThrow(WorkloadMismatchError)
  })

  it('resets a side before every run it times', () => {
    let fresh = false
    const side = {
      reset: () => void (fresh = true),
      run: (n: number) => {
        expect(fresh).toBe(true)
        fresh = false
        let x = 0
        for (let i = 0; i < n; i++) x += Math.sqrt(i)
        return x
      },
    }
    const t = timePair(side, { run: () => undefined }, { rounds: 2, sampleMs: 1, warmupMs: 1 })
    expect(t.ours.samples).toHaveLength(2)
    finitePositive(t.ratio)
  })

  it('refuses options it cannot honour', () => {
    expect(() => parseOptions(['--rounds', '0'])).toThrow(/--rounds/)
    expect(() => parseOptions(['--sample-ms', 'x'])).toThrow(/--sample-ms/)
    expect(() => parseOptions(['--bogus'])).toThrow()
    expect(parseOptions(['--quick']).rounds).toBeLessThan(parseOptions([]).rounds)
    expect(() => buildFixtures({ ...tiny(), setActors: 2 })).toThrow(/setActors/)
  })
})
