// Keeps the peer benchmark (bench/peers) from rotting. Its packages are installed only by
// bench/peers/install.sh, never by `npm ci`, so the tests that run real peers skip, with
// the reason printed, when they are absent; the harness's own logic is tested always.
// They check the harness, not the speed.
import { describe, expect, it } from 'vitest'
import { burstWrites } from '../../bench/peers/harness/trial.js'
import { missingPeerPackages, runPeerBenchmark, SYSTEM_NAMES, type PeerResult } from '../../bench/peers/index.js'
import { formatReport, parseOptions, type PeerReport } from '../../bench/peers/run.js'
import { machineInfo } from '../../bench/lib/machine.js'

const missing = missingPeerPackages()
const skipReason =
  missing.length === 0 ? '' : `skipping the peer-system runs: ${missing.join(', ')} not installed (run bash bench/peers/install.sh)`
if (skipReason !== '') console.warn(skipReason)

function reportOf(rows: PeerResult[]): PeerReport {
  const options = parseOptions(['--nodes', '2', '--writes', '10', '--repeat', '1'])
  return { benchmark: 'peers', date: new Date().toISOString(), options, machine: machineInfo(), results: { versions: {}, rows } }
}

describe('peer benchmark harness', () => {
  it('writes counter-like values: each key ends at the number of writes to it', () => {
    const final = new Map(burstWrites(7, 3))
    expect([...final]).toEqual([
      ['key-0', 3],
      ['key-1', 2],
      ['key-2', 2],
    ])
  })

  it('parses the documented options and refuses unknown systems and one-node clusters', () => {
    const o = parseOptions(['--nodes', '3,5', '--writes', '1_000', '--repeat', '2', '--systems', 'gun,orbitdb', '--timeout', '30'])
    expect(o.nodes).toEqual([3, 5])
    expect(o.writes).toBe(1000)
    expect(o.keys).toBe(1000)
    expect(o.repeat).toBe(2)
    expect(o.systems).toEqual(['gun', 'orbitdb'])
    expect(o.convergeTimeoutMs).toBe(30_000)
    expect(() => parseOptions(['--systems', 'riak'])).toThrow(/unknown system riak/)
    expect(() => parseOptions(['--nodes', '1'])).toThrow(/at least 2 nodes/)
  })

  it('prints a failed row as FAILED with its reason, never as a time', () => {
    const failed: PeerResult = {
      system: 'gun',
      packageName: 'gun',
      version: '0.2020.1241',
      topology: 't',
      convergedMeans: 'c',
      nodes: 2,
      writes: 10,
      keys: 10,
      repeats: 1,
      status: 'failed',
      failure: '1/1 trials failed; first in converge: PeerTimeoutError: not converged',
      peakRssBytes: 0,
      trials: [],
    }
    const text = formatReport(reportOf([failed]))
    expect(text).toMatch(/gun\s+0\.2020\.1241\s+2\s+10\s+-\s+-\s+-\s+-\s+0 MiB\s+FAILED/)
    expect(text).toContain('gun n=2: 1/1 trials failed; first in converge: PeerTimeoutError: not converged')
  })
})

describe.skipIf(skipReason !== '')('peer systems (bench/peers/node_modules installed)', () => {
  it(
    'every system converges on a tiny burst, with times, bytes and peak RSS',
    async () => {
      const rows = await runPeerBenchmark({ systems: SYSTEM_NAMES, nodes: [2], writes: 10, repeat: 1, convergeTimeoutMs: 60_000 })
      for (const row of rows) {
        expect(row.status, `${row.system}: ${row.failure ?? ''} ${row.trials[0]?.logTail ?? ''}`).toBe('ok')
        expect(row.convergeMs?.p50).toBeGreaterThan(0)
        expect(row.convergeMs!.p50).toBeGreaterThanOrEqual(row.burstMs!.p50)
        expect(row.bytesSent?.p50).toBeGreaterThan(0)
        expect(row.peakRssBytes).toBeGreaterThan(0)
        expect(row.version).toMatch(/^\d+\.\d+/)
      }
    },
    180_000,
  )

  it('reports a system that cannot converge in time as FAILED with the phase and reason', async () => {
    const [row] = await runPeerBenchmark({ systems: ['gun'], nodes: [2], writes: 50, repeat: 1, convergeTimeoutMs: 1 })
    expect(row?.status).toBe('failed')
    expect(row?.convergeMs).toBeUndefined()
    expect(row?.failure).toMatch(/1\/1 trials failed; first in (burst|converge): PeerTimeoutError/)
  }, 60_000)
})
