// GET /v1/sync, /v1/status and /metrics say whether a node is synced and why not: per peer
// (status, reason, pending hints) and per key anti-entropy could not reconcile. Two
// databases with real SQLite stores, joined by the in-process transport hub on real time.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GCounter, type GCounterState } from '../../crdts/index.js'
import { buildProgram } from '../../node/cli/program.js'
import { DATABASE_FILE } from '../../src/database/database.js'
import { openDatabase, type Database } from '../../src/index.js'
import { SqliteStore } from '../../src/store/index.js'
import { MemoryHub } from '../support/memory-hub.js'
import { closeAll, testServer } from './http-harness.js'
import { until } from '../support/waits.js'

const FAST = { heartbeatIntervalMs: 50, antiEntropyIntervalMs: 100, handoffIntervalMs: 100 }
let dir: string
let hub: MemoryHub
const opened: Database[] = []

/** The value of one sample line of a Prometheus text exposition (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

/** Runs `rumordb --node URL status` in this process and returns the lines it printed. */
async function rumordbStatus(url: string): Promise<string[]> {
  const lines: string[] = []
  await buildProgram((line) => lines.push(line)).parseAsync(['--node', url, 'status'], { from: 'user' })
  return lines
}

async function node(name: string): Promise<Database> {
  const db = await openDatabase({ dataDir: join(dir, name), transport: hub.transport(name), engine: FAST })
  opened.push(db)
  return db
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-sync-'))
  hub = new MemoryHub()
})

afterEach(async () => {
  await closeAll()
  await Promise.all(opened.splice(0).map((d) => d.close()))
  rmSync(dir, { recursive: true, force: true })
})

describe('GET /v1/sync', () => {
  it('a local database is synced: nothing to disagree with', async () => {
    const { server } = await testServer()
    const body = (await server.app.inject({ method: 'GET', url: '/v1/sync' })).json()
    expect(body).toMatchObject({ synced: true, peers: [], unreconciled: [] })
    expect(body).not.toHaveProperty('reason')
    const status = (await server.app.inject({ method: 'GET', url: '/v1/status' })).json()
    expect(status.antiEntropy).toMatchObject({ oversizedStates: 0, requestErrors: 0, unreconciledKeys: 0, mergeErrors: 0 })
    const metrics = (await server.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(sample(metrics, 'rumordb_synced')).toBe(1)
    const { url } = await server.listen()
    expect((await rumordbStatus(url)).filter((l) => l.startsWith('synced'))).toEqual(['synced: yes'])
    expect(sample(metrics, 'rumordb_unreconciled_keys')).toBe(0)
    expect(sample(metrics, 'rumordb_anti_entropy_errors_total{kind="oversized_state"}')).toBe(0)
  })

  it('reports each peer with status, reason and pending hints: suspect with hints while cut off, in sync once the cut mends', async () => {
    const a = await node('a')
    await node('b')
    const { server } = await testServer({ db: a })
    const sync = async () => (await server.app.inject({ method: 'GET', url: '/v1/sync' })).json()
    await until(async () => (await sync()).synced === true && (await sync()).peers.length === 1, 'a synced with b')
    expect((await sync()).peers).toEqual([{ id: 'b', status: 'alive', inSync: true, lastExchange: expect.stringMatching(/^\d{4}-/), pendingHints: 0 }])

    hub.cut('a', 'b')
    await until(() => a.members().members.some((m) => m.id === 'b' && m.status === 'suspect'), 'a to suspect b')
    await a.counter('while-cut').increment(1, { w: 1 })
    const cut = await sync()
    expect(cut.peers).toEqual([{ id: 'b', status: 'suspect', inSync: false, reason: 'suspect', lastExchange: expect.any(String), pendingHints: 1 }])
    expect(cut).toMatchObject({ synced: false, reason: 'hints pending for b (suspect)', unreconciled: [] })
    const metrics = (await server.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(sample(metrics, 'rumordb_synced')).toBe(0)

    hub.mend('a', 'b')
    await until(async () => (await sync()).synced === true, 'a synced again after the cut mends')
    const mended = await sync()
    expect(mended.peers).toEqual([{ id: 'b', status: 'alive', inSync: true, lastExchange: expect.any(String), pendingHints: 0 }])
    expect(mended).not.toHaveProperty('reason')
  })

  it('lists a key it cannot merge, with peer and reason; it is unsynced and counts the key in /v1/status and /metrics', async () => {
    // b's copy of a key is damaged on disk (a byte cut off): anti-entropy keeps sending it to a.
    const state = GCounter.encode(GCounter.increment(GCounter.empty() as GCounterState, 'b', 5))
    mkdirSync(join(dir, 'b'))
    const store = await SqliteStore.open({ path: join(dir, 'b', DATABASE_FILE) })
    await store.write({ keys: [{ key: 'damaged', type: 'gcounter', state: state.slice(0, -1), hlc: new Uint8Array(8) }] })
    await store.close()
    const a = await node('a')
    await node('b')
    const { server } = await testServer({ db: a })
    const sync = async () => (await server.app.inject({ method: 'GET', url: '/v1/sync' })).json()
    await until(async () => (await sync()).unreconciled.length > 0, 'a to report the damaged key')

    const body = await sync()
    expect(body.unreconciled).toEqual([{ key: 'damaged', peer: 'b', reason: expect.stringMatching(/^merge failed: CrdtDecodeError/), since: expect.stringMatching(/^\d{4}-/) }])
    expect(body.synced).toBe(false)
    expect(body.reason).toMatch(/^key "damaged" not reconciled with b: /)
    expect(body.peers).toEqual([{ id: 'b', status: 'alive', inSync: false, reason: 'digests differ', lastExchange: expect.any(String), pendingHints: 0 }])
    const status = (await server.app.inject({ method: 'GET', url: '/v1/status' })).json()
    expect(status.antiEntropy.unreconciledKeys).toBe(1)
    expect(status.antiEntropy.mergeErrors).toBeGreaterThan(0)
    expect(status.antiEntropy).toHaveProperty('oversizedStates')
    expect(status.antiEntropy).toHaveProperty('requestErrors')
    const metrics = (await server.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(sample(metrics, 'rumordb_unreconciled_keys')).toBe(1)
    expect(sample(metrics, 'rumordb_synced')).toBe(0)
    expect(sample(metrics, 'rumordb_anti_entropy_errors_total{kind="merge"}')).toBeGreaterThan(0)

    const { url } = await server.listen()
    const printed = await rumordbStatus(url)
    expect(printed).toContainEqual(expect.stringMatching(/^synced: no \(key "damaged" not reconciled with b: merge failed: CrdtDecodeError/))
    expect(printed).toContainEqual(expect.stringMatching(/^  b  alive    not in sync: digests differ  hints 0  last exchange \d{4}-/))
    expect(printed).toContainEqual(expect.stringMatching(/^  unreconciled "damaged" with b since \d{4}-.*: merge failed: CrdtDecodeError/))
  })
})
