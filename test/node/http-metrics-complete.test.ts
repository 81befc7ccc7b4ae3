// /v1/status and /metrics come from the engine's own counters (issue 12, item 2): walk
// the engine's status() here, on its own, and every number in it must show in both, whether the
// network is on or off. A counter added to any part of the engine fails this test until
// it is exported, unless the export is generic.
import { afterEach, describe, expect, it } from 'vitest'
import { STATUS_ALIASES } from '../../src/cluster/engine.js'
import { openDatabase, type Database } from '../../src/index.js'
import { engineMetricOf } from '../../node/http/metrics.js'
import { MemoryHub } from '../support/memory-hub.js'
import { closeAll, testServer, tempDir, track } from './http-harness.js'

afterEach(closeAll)

/** Every number (booleans too) in a status object, by its dotted path; strings (the id) left out. */
function leaves(value: object, prefix = ''): Map<string, number> {
  const out = new Map<string, number>()
  for (const [name, v] of Object.entries(value)) {
    const path = prefix === '' ? name : `${prefix}.${name}`
    if (typeof v === 'number' || typeof v === 'boolean') out.set(path, Number(v))
    else if (typeof v === 'object' && v !== null) for (const [p, n] of leaves(v, path)) out.set(p, n)
  }
  return out
}

function at(body: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, part) => (typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[part] : undefined), body)
}

/** The value of one sample line of a Prometheus text exposition (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

async function networked(hub: MemoryHub, id: string): Promise<Database> {
  return track(
    await openDatabase({
      dataDir: tempDir(),
      transport: hub.transport(id),
      engine: { heartbeatIntervalMs: 50, antiEntropyIntervalMs: 100, handoffIntervalMs: 100 },
    }),
  )
}

/** Every engine counter of `db`, aliases aside, with where it is missing from /v1/status and /metrics. */
async function missing(db: Database, engineStatus: object): Promise<{ counters: string[]; status: string[]; metrics: string[] }> {
  const { server } = await testServer({ db })
  const status = (await server.app.inject({ method: 'GET', url: '/v1/status' })).json()
  const metrics = (await server.app.inject({ method: 'GET', url: '/metrics' })).body
  const counters = [...leaves(engineStatus).keys()].filter((p) => !STATUS_ALIASES.has(p))
  return {
    counters,
    status: counters.filter((p) => typeof at(status, p) !== 'number'),
    metrics: counters.filter((p) => sample(metrics, engineMetricOf(p).series) === undefined),
  }
}

describe('/v1/status and /metrics show every engine counter', () => {
  it('of a networked node: every number db.status() holds is in both', async () => {
    const hub = new MemoryHub()
    const a = await networked(hub, 'a')
    await networked(hub, 'b')
    for (let i = 0; i < 5; i++) await a.counter(`k${i}`).increment(1)
    const status = a.engine?.status()
    if (status === undefined) throw new Error('not networked')
    const found = await missing(a, status)
    // Every part of the engine is there (a sanity check of the walk itself).
    for (const group of ['messages', 'coordinator', 'antiEntropy', 'handoff', 'rumors', 'replica', 'keyedWrites', 'clock', 'members']) {
      expect(found.counters.some((p) => p.startsWith(`${group}.`)), group).toBe(true)
    }
    expect(found.status, 'counters missing from /v1/status').toEqual([])
    expect(found.metrics, 'counters missing from /metrics').toEqual([])
  })

  it('of a local database: the same counters, at zero', async () => {
    const hub = new MemoryHub()
    const engineStatus = (await networked(hub, 'n')).engine?.status() ?? {}
    const local = track(await openDatabase({ dataDir: tempDir() }))
    const found = await missing(local, engineStatus)
    expect(found.status).toEqual([])
    expect(found.metrics).toEqual([])
    const { server } = await testServer({ db: local })
    const body = (await server.app.inject({ method: 'GET', url: '/v1/status' })).json()
    expect(at(body, 'antiEntropy.rounds')).toBe(0)
    expect(at(body, 'handoff.queued')).toBe(0)
  })

  it('keeps the groups and metric names earlier versions had', async () => {
    const hub = new MemoryHub()
    const a = await networked(hub, 'a')
    await a.counter('k').increment(1)
    const { server } = await testServer({ db: a })
    const status = (await server.app.inject({ method: 'GET', url: '/v1/status' })).json()
    expect(Object.keys(status.gossip).sort()).toEqual(
      ['broadcastsReceived', 'broadcastsSent', 'bytesReceived', 'bytesSent', 'requestsFailed', 'requestsReceived', 'requestsSent', 'rumorsIgnored', 'rumorsMerged'].sort(),
    )
    expect(Object.keys(status.largeMessages).sort()).toEqual(['bytesHeld', 'dropped', 'received', 'refused', 'sent'])
    expect(status.clock).toHaveProperty('mergesRefused')
    const metrics = (await server.app.inject({ method: 'GET', url: '/metrics' })).body
    for (const series of [
      'rumordb_keys',
      'rumordb_pending_hints',
      'rumordb_peers{status="alive"}',
      'rumordb_clock_offset_ms',
      'rumordb_clock_off',
      'rumordb_unreconciled_keys',
      'rumordb_anti_entropy_rounds_total{outcome="synced"}',
      'rumordb_anti_entropy_keys_total{direction="sent"}',
      'rumordb_network_bytes_total{direction="sent"}',
      'rumordb_anti_entropy_errors_total{kind="oversized_state"}',
      'rumordb_clock_skew_refusals_total{kind="merge"}',
      'rumordb_keyed_writes_total{outcome="replayed"}',
      'rumordb_large_messages_total{event="dropped"}',
      'rumordb_gossip_rumors_total{outcome="merged"}',
      'rumordb_handoff_deliveries_total{outcome="delivered"}',
      // Generated from the status path.
      'rumordb_coordinator_writes_total',
      'rumordb_handoff_queued_total',
      'rumordb_replica_remote_states_refused_total',
      'rumordb_messages_large_bytes_held',
    ]) {
      expect(sample(metrics, series), series).toBeTypeOf('number')
    }
    expect(sample(metrics, 'rumordb_coordinator_writes_total')).toBe(status.coordinator.writes)
    expect(metrics).toMatch(/# TYPE rumordb_messages_large_bytes_held gauge/)
    expect(metrics).toMatch(/# TYPE rumordb_coordinator_writes_total counter/)
  })
})
