// The equal-work comparison's pure rules (bench/peers/equal-work): workload plans, a node's
// view of its keys, when a cluster counts as converged, per-key times, quantiles and the
// PASS/FAIL verdicts. No process is started: the real runs stay in `npm run bench`.
import { describe, expect, it } from 'vitest'
import { clusterConverged, finalValueProblem, keyTimes, quantiles } from '../../bench/peers/equal-work/judge.js'
import { NodeView } from '../../bench/peers/equal-work/node-view.js'
import { summarizeTrials, cellsOf } from '../../bench/peers/equal-work/summary.js'
import type { EqualWorkTrial } from '../../bench/peers/equal-work/trial.js'
import { judgeEqualWork } from '../../bench/peers/equal-work/verdict.js'
import { planWorkload } from '../../bench/peers/equal-work/workloads.js'

describe('equal-work workloads', () => {
  it('puts the burst on node 0, spreads all-writers over every node, and gives conflict two writers of the same keys', () => {
    const burst = planWorkload('burst', 3, 6, 'b')
    expect(burst.writes.map((w) => w.length)).toEqual([6, 0, 0])
    expect(burst.expected).toEqual([1, 2, 3, 4, 5, 6])
    const all = planWorkload('all-writers', 3, 6, 'a')
    expect(all.writes.map((w) => w.map(([k]) => k))).toEqual([
      ['a-000000', 'a-000003'],
      ['a-000001', 'a-000004'],
      ['a-000002', 'a-000005'],
    ])
    const conflict = planWorkload('conflict', 3, 5, 'c')
    expect(conflict.keys).toEqual(['c-000000', 'c-000001', 'c-000002'])
    expect(conflict.expected).toBeNull()
    expect(conflict.writes[0]!.map(([k]) => k)).toEqual(conflict.writes[1]!.map(([k]) => k))
    expect(conflict.writes[2]).toEqual([])
    expect(conflict.writeCount).toBe(6)
    expect(conflict.allowed[0]).toEqual([2, 3])
  })
})

describe('equal-work convergence rules', () => {
  it('counts matching keys and their last change times in a node view', () => {
    const view = new NodeView(['k-0', 'k-1'], [1, 2])
    expect(view.set('other', 9, 1)).toBe(false)
    view.set('k-0', 1, 10)
    view.set('k-1', 5, 11)
    expect(view.progress()).toMatchObject({ have: 2, matching: 1, lastChangeAt: 11 })
    expect(view.set('k-1', 5, 12)).toBe(false)
    view.set('k-1', 2, 13)
    expect(view.progress().matching).toBe(2)
    expect(view.times()).toEqual([10, 13])
  })

  it('is converged on known values only when every node matches and the writers are done', () => {
    const plan = planWorkload('burst', 2, 2, 'b')
    const done = { have: 2, matching: 2, digest: 'd', lastChangeAt: 1 }
    expect(clusterConverged(plan, [done, done], true)).toBe(true)
    expect(clusterConverged(plan, [done, done], false)).toBe(false)
    expect(clusterConverged(plan, [done, { ...done, matching: 1 }], true)).toBe(false)
    expect(clusterConverged(plan, [done, undefined], true)).toBe(false)
  })

  it('is converged on a conflict when every node holds every key and all digests agree', () => {
    const plan = planWorkload('conflict', 3, 4, 'c')
    const a = new NodeView(plan.keys, null)
    const b = new NodeView(plan.keys, null)
    a.set('c-000000', 2, 1)
    a.set('c-000001', 5, 1)
    b.set('c-000000', 3, 1)
    b.set('c-000001', 5, 1)
    expect(clusterConverged(plan, [a.progress(), b.progress(), a.progress()], true)).toBe(false)
    b.set('c-000000', 2, 2)
    expect(clusterConverged(plan, [a.progress(), b.progress(), a.progress()], true)).toBe(true)
    expect(finalValueProblem(plan, [[2, 5], [2, 5], [2, 5]])).toBeNull()
    expect(finalValueProblem(plan, [[2, 5], [3, 5], [2, 5]])).toMatch(/disagree on c-000000/)
    expect(finalValueProblem(plan, [[2, 7], [2, 7], [2, 7]])).toMatch(/c-000001 = 7; written: 4 or 5/)
  })

  it('times each key from its last write to the last node holding it, and the run from the first write', () => {
    const plan = planWorkload('conflict', 2, 2, 'c') // one key, written by nodes 0 and 1
    const times = keyTimes(plan, [[100], [104]], [[130], [120]])
    expect(times.perKeyMs).toEqual([26]) // held everywhere at 130, last write issued at 104
    expect(times.convergeMs).toBe(30) // first write at 100
    expect(() => keyTimes(plan, [[100], [104]], [[null], [120]])).toThrow(/node 0 never held c-000000/)
  })

  it('gives nearest-rank quantiles', () => {
    const q = quantiles(Array.from({ length: 100 }, (_, i) => 100 - i))
    expect(q).toEqual({ count: 100, p50: 50, p95: 95, p99: 99, max: 100 })
    expect(() => quantiles([])).toThrow(/no samples/)
  })
})

describe('equal-work verdicts', () => {
  const cell = (system: string, nodes: number, workload: 'burst' | 'conflict', convergeMs: number[] | null) => ({ system, nodes, workload, convergeMs })

  it('holds the 5-node burst to 0.5× the fastest peer and everything else to 1×', () => {
    const verdicts = judgeEqualWork([
      cell('rumordb', 5, 'burst', [90, 100, 400]),
      cell('gun', 5, 'burst', [300, 210, 200]),
      cell('automerge', 5, 'burst', null),
      cell('rumordb', 3, 'burst', [100]),
      cell('gun', 3, 'burst', [90]),
      cell('rumordb', 5, 'conflict', [100]),
      cell('gun', 5, 'conflict', [100]),
    ])
    expect(verdicts.map((v) => [v.nodes, v.workload, v.verdict, v.ratio?.toFixed(2), v.fastestPeer])).toEqual([
      [5, 'burst', 'PASS', '0.48', 'gun'],
      [3, 'burst', 'FAIL', '1.11', 'gun'],
      [5, 'conflict', 'PASS', '1.00', 'gun'],
    ])
  })

  it('fails rumordb when it did not converge, and says N/A when no peer did', () => {
    const verdicts = judgeEqualWork([cell('rumordb', 3, 'burst', null), cell('gun', 3, 'burst', [5]), cell('rumordb', 5, 'burst', [5]), cell('gun', 5, 'burst', null)])
    expect(verdicts.map((v) => v.verdict)).toEqual(['FAIL', 'N/A'])
    expect(verdicts[1]!.detail).toMatch(/every peer FAILED/)
  })

  it('summarizes trials into rows, and a row with a FAILED run is FAILED for the verdict', () => {
    const ok = (convergeMs: number) => ({ ok: true as const, workload: 'burst' as const, writes: 10, convergeMs, perKeyMs: [1, 2], writeMs: 5, bytesSent: [100, 50], cpuMs: [30, 10], cpuSystemMs: [10, 0], peakRssBytes: [10, 20] })
    const trials: EqualWorkTrial[] = [
      { system: 'gun', nodes: 2, repeat: 0, workloads: [ok(40)] },
      { system: 'gun', nodes: 2, repeat: 1, workloads: [ok(60)] },
      { system: 'rumordb', nodes: 2, repeat: 0, workloads: [ok(20)] },
      { system: 'rumordb', nodes: 2, repeat: 1, failure: 'start: boom', workloads: [] },
    ]
    const rows = summarizeTrials(trials, ['burst'])
    const gun = rows.find((r) => r.system === 'gun')!
    expect(gun).toMatchObject({ runs: 2, failed: 0, convergeMs: [40, 60], bytesPerWrite: 15, cpuMsPerWrite: 4, cpuSystemShare: 0.25, peakRssNodeBytes: 20, peakRssClusterBytes: 30 })
    expect(gun.perKeyMs).toMatchObject({ count: 4, p50: 1, max: 2 })
    const rumordb = rows.find((r) => r.system === 'rumordb')!
    expect(rumordb).toMatchObject({ runs: 2, failed: 1, failure: 'start: boom' })
    expect(cellsOf(rows).find((c) => c.system === 'rumordb')!.convergeMs).toBeNull()
  })
})

describe('equal-work profile breakdown', () => {
  it('books a frame to rumordb only outside node_modules, and native frames to their nearest caller', async () => {
    const { categoryOf } = await import('../../bench/cluster/equal-work-profile.js')
    const frame = (url: string, functionName = 'f') => ({ url, functionName })
    expect(categoryOf([frame('file:///r/src/store/sqlite-tables.ts')])).toMatch(/SQLite/)
    expect(categoryOf([frame('file:///r/node_modules/@chainsafe/libp2p-noise/dist/src/streaming.js')])).toMatch(/libp2p transport/)
    expect(categoryOf([frame('', 'writeBuffer'), frame('node:internal/stream_base_commons')])).toMatch(/sockets/)
    expect(categoryOf([frame('file:///r/src/database/database.ts', 'scan'), frame('file:///r/bench/peers/equal-work/drivers/rumordb.ts', 'readKey')])).toBe('harness: local reads')
    expect(categoryOf([frame('', '(root)')])).toBeNull()
  })
})

describe('equal-work options', () => {
  it('defaults to rumordb, GUN and Automerge on 3 and 5 nodes, and refuses unknown systems and workloads', async () => {
    const { parseEqualWorkOptions } = await import('../../bench/equal-work.js')
    const o = parseEqualWorkOptions(['--equal-work', '--quick'])
    expect(o).toMatchObject({ systems: ['rumordb', 'gun', 'automerge'], nodes: [3, 5], writes: 1000, repeats: 1, inFlight: 1, rumordbW: 1, partial: true })
    expect(parseEqualWorkOptions(['--systems', 'rumordb,orbitdb', '--workloads', 'conflict', '--in-flight', '16']).workloads).toEqual(['conflict'])
    expect(() => parseEqualWorkOptions(['--systems', 'riak'])).toThrow(/unknown system riak/)
    expect(() => parseEqualWorkOptions(['--workloads', 'partition'])).toThrow(/unknown workload partition/)
    expect(() => parseEqualWorkOptions(['--nodes', '1'])).toThrow(/at least 2 nodes/)
  })
})
