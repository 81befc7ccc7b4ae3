// The embedded database with the network on: same handles and errors, now replicated.
// Three databases with real SQLite stores, joined by an in-process transport hub.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openDatabase, QuorumNotMetError, TypeMismatchError, type Database } from '../../src/index.js'
import { MemoryHub } from '../support/memory-hub.js'
import { until } from '../support/waits.js'

const FAST = { heartbeatIntervalMs: 50, antiEntropyIntervalMs: 100, handoffIntervalMs: 100 }
let dir: string
let hub: MemoryHub
let dbs: Database[]

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-net-'))
  hub = new MemoryHub()
  dbs = []
  for (const name of ['a', 'b', 'c']) {
    dbs.push(await openDatabase({ dataDir: join(dir, name), transport: hub.transport(name), engine: FAST }))
  }
  await until(() => dbs.every((d) => d.members().members.filter((m) => m.status === 'alive').length === 3), 'three alive members')
})

afterEach(async () => {
  await Promise.all(dbs.map((d) => d.close()))
  rmSync(dir, { recursive: true, force: true })
})

describe('openDatabase with a transport', () => {
  it('replicates writes of every type; a read with r = 3 on another node sees them', async () => {
    const [a, , c] = dbs as [Database, Database, Database]
    expect((await a.counter('visits').increment(4)).quorum).toBe(true)
    await a.gcounter('likes').increment(2)
    await a.set('tags').add('red')
    await a.register('name').set('Ada')
    expect(await c.counter('visits').value({ r: 3 })).toBe(4)
    expect(await c.gcounter('likes').value({ r: 3 })).toBe(2)
    expect(await c.set('tags').values({ r: 3 })).toEqual(['red'])
    expect(await c.register('name').value({ r: 3 })).toBe('Ada')
    expect(await c.get('visits', { r: 3 })).toEqual({ key: 'visits', type: 'pncounter', value: 4, replicas: 3 })
    expect(await c.get('missing')).toBeUndefined()
  })

  it('concurrent writes on every node converge on every node', async () => {
    await Promise.all(dbs.map((d, i) => Promise.all([d.counter('hits').increment(i + 1), d.set('who').add(`n${i}`)])))
    await until(async () => {
      const values = await Promise.all(dbs.map((d) => d.counter('hits').value({ r: 1 })))
      return values.every((v) => v === 6)
    }, 'counters to converge')
    for (const d of dbs) expect(await d.set('who').values({ r: 1 })).toEqual(['n0', 'n1', 'n2'])
  })

  it('keeps the local errors: a type mismatch written elsewhere is refused', async () => {
    const [a, b] = dbs as [Database, Database, Database]
    await a.set('s').add(1)
    await expect(b.counter('s').increment({ r: 3 } as never)).rejects.toBeInstanceOf(RangeError)
    await expect(b.counter('s').increment(1)).rejects.toBeInstanceOf(TypeMismatchError)
  })

  it('a session token lets another node read its own write', async () => {
    const [a, b] = dbs as [Database, Database, Database]
    const { token } = await a.register('profile').set({ v: 1 }, { w: 1 })
    expect(await b.register('profile').value({ token, r: 1 })).toEqual({ v: 1 })
  })

  it('reports quorum false when cut off, and converges after the cut mends', async () => {
    const [a] = dbs as [Database, Database, Database]
    hub.cut('a', 'b')
    hub.cut('a', 'c')
    await until(() => a.members().members.filter((m) => m.status === 'suspect').length === 2, 'a to suspect both peers')
    const r = await a.counter('alone').increment(3)
    expect(r).toMatchObject({ acks: 1, quorum: false })
    await expect(a.counter('alone').increment(1, { requireQuorum: true })).rejects.toBeInstanceOf(QuorumNotMetError)
    hub.mend('a', 'b')
    hub.mend('a', 'c')
    await until(async () => (await Promise.all(dbs.map((d) => d.counter('alone').value({ r: 1 })))).every((v) => v === 4), 'the cut-off writes to spread')
  })

  it('reports members and status', async () => {
    const [a] = dbs as [Database, Database, Database]
    await a.counter('x').increment()
    const members = a.members()
    expect(members.self).toBe('a')
    expect(members.members.map((m) => m.id)).toEqual(['a', 'b', 'c'])
    const status = a.status()
    expect(status.networked).toBe(true)
    expect(status.members).toEqual({ alive: 3, suspect: 0, left: 0 })
    await a.checkWritable()
  })
})

describe('a networked open of a store with many keys', () => {
  it('resolves before the anti-entropy index is whole, serves meanwhile, and says so in the sync status', async () => {
    const dataDir = join(dir, 'big')
    const local = await openDatabase({ dataDir })
    for (let i = 0; i < 16_000; i += 4_000) await Promise.all(Array.from({ length: 4_000 }, (_, j) => local.counter(`k${i + j}`).increment(1)))
    await local.close()
    const db = await openDatabase({ dataDir, transport: hub.transport('big'), engine: FAST })
    dbs.push(db)
    // 16 pages of 1,024 keys, a timer turn before each: the open did not wait for them.
    const during = db.syncStatus()
    expect(during.synced).toBe(false)
    expect(during.reason).toMatch(/^building the anti-entropy index \(\d+ of 16000 keys\)/)
    expect(await db.counter('k1').value()).toBe(1)
    await until(() => db.syncStatus().synced, 'synced once the index is whole', 60_000)
    expect(db.syncStatus().keys).toBe(16_000)
  })
})
