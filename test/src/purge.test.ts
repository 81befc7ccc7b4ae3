// The tombstone purge through the embedded API (issue 14), network off: a deleted or
// expired key's row goes once the window passed, a key written again is kept, the change
// feed refuses a cursor from before a purge (and says what to do), a write after the
// purge starts a new incarnation of the node's actor, a store from before schema v5 has
// its tombstones found at open, and a bad window is refused. The clock is the wall clock
// plus an offset the test moves.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { CursorTooOldError, InvalidOptionError, openDatabase, type Database } from '../../src/index.js'
import { createDatabase } from '../../src/database/create-database.js'
import { InMemoryStore } from '../../src/store/memory-store.js'
import { NEEDS_DELETED_CLASSIFICATION } from '../../src/store/migrations.js'
import { systemRandom } from '../../src/base/random.js'
import type { GCounterState, PNCounterState } from '../../crdts/index.js'
import { movedClock } from '../fixtures/moved-clock.js'

const WINDOW = 60_000
let dir: string
let db: Database
const { clock, moved } = movedClock()

const open = () => openDatabase({ dataDir: join(dir, 'data'), clock, tombstonePurgeMs: WINDOW })

beforeEach(async () => {
  moved.ms = 0
  dir = mkdtempSync(join(tmpdir(), 'rumordb-purge-'))
  db = await open()
})

afterEach(async () => {
  await db.close()
  rmSync(dir, { recursive: true, force: true })
})

function rows(d: Database): number {
  return d.replica.store.countKeys()
}

describe('tombstone purge (embedded, network off)', () => {
  it('purges deleted and expired keys once the window passed, keeps what shows something or is younger', async () => {
    await db.counter('gone').increment(3)
    await db.set('also-gone').add('x')
    await db.register('expires').set('v', { ttl: 1_000 })
    await db.register('stays').set('v')
    await db.delete('gone')
    await db.delete('also-gone')
    moved.ms = 2_000
    expect(await db.get('expires')).toBeUndefined()
    expect(await db.purgeTombstones()).toBe(0)
    expect(rows(db)).toBe(4)
    moved.ms = WINDOW + 1_000
    // The expiry sweep has not run (it runs every second): the purge finds only the deletes.
    const early = await db.purgeTombstones()
    expect(early).toBe(2)
    await db.delete('expires')
    await db.delete('late')
    moved.ms = 2 * WINDOW + 10_000
    expect(await db.purgeTombstones()).toBe(2)
    expect(rows(db)).toBe(1)
    expect(db.keys().map((k) => k.key)).toEqual(['stays'])
    expect(db.replica.stats.tombstonesPurged).toBe(4)
    // What status (and so /v1/status and /metrics) reports with the network off too.
    expect(db.status()).toMatchObject({ networked: false, replica: { tombstonesPurged: 4 } })
    // Gone keys read as they did, and take writes of any type again.
    expect(await db.counter('gone').value()).toBe(0)
    await db.register('gone').set('back')
    expect(await db.register('gone').value()).toBe('back')
  })

  it('writes after a purge count under a new incarnation of the actor; before any purge, under the plain actor', async () => {
    await db.counter('hits').increment(5)
    const before = db.replica.readTyped('hits', 'pncounter') as PNCounterState
    expect(before.p.actors).toEqual([db.actorId])
    await db.delete('hits')
    moved.ms = WINDOW + 1_000
    expect(await db.purgeTombstones()).toBe(1)
    const epoch = db.replica.purgeEpoch
    expect(epoch).toBeGreaterThan(0)
    await db.counter('hits').increment(2)
    await db.gcounter('fresh').increment(1)
    const after = db.replica.readTyped('hits', 'pncounter') as PNCounterState
    expect(after.p.actors).toEqual([`${db.actorId}.${epoch.toString(36)}`])
    expect((db.replica.readTyped('fresh', 'gcounter') as GCounterState).actors).toEqual([`${db.actorId}.${epoch.toString(36)}`])
    expect(await db.counter('hits').value()).toBe(2)
    // The epoch is kept across a restart: later writes go on in the same incarnation.
    await db.close()
    db = await open()
    expect(db.replica.purgeEpoch).toBe(epoch)
    await db.counter('hits').increment(1)
    expect((db.replica.readTyped('hits', 'pncounter') as PNCounterState).p.counts).toEqual([3])
  })

  it('a change feed cursor from before a purge is refused with what to do; a later one resumes', async () => {
    await db.register('a').set(1)
    await db.register('b').set(2)
    const feed = db.watch('')
    const first = (await feed.next()).value as { cursor: string }
    await feed.return?.()
    await db.delete('a')
    moved.ms = WINDOW + 1_000
    expect(await db.purgeTombstones()).toBe(1)
    let refused: unknown
    try {
      db.watch('', { since: first.cursor })
    } catch (err) {
      refused = err
    }
    expect(refused).toBeInstanceOf(CursorTooOldError)
    expect((refused as Error).message).toMatch(/read the keys again/)
    // A cursor issued after the purge resumes.
    await db.register('c').set(3)
    const again = db.watch('')
    const events: string[] = []
    for await (const e of again) {
      events.push(e.key)
      if (e.key === 'c') break
    }
    expect(events).toEqual(['b', 'c'])
  })

  it('a feed catching up when a purge takes a delete after its cursor ends with CursorTooOldError instead of missing it', async () => {
    for (let i = 0; i < 300; i++) await db.register(`k${String(i).padStart(3, '0')}`).set(i)
    await db.delete('k299')
    const feed = db.watch('')
    for (let i = 0; i < 256; i++) expect((await feed.next()).done).toBe(false)
    moved.ms = WINDOW + 1_000
    expect(await db.purgeTombstones()).toBe(1)
    await expect(feed.next()).rejects.toBeInstanceOf(CursorTooOldError)
    expect(await feed.next()).toEqual({ done: true, value: undefined })
  })

  it('refuses a window of the wrong kind, and one below the hint window with a network', async () => {
    await expect(openDatabase({ dataDir: join(dir, 'other'), tombstonePurgeMs: 0 })).rejects.toBeInstanceOf(InvalidOptionError)
    const store = new InMemoryStore()
    const transport = { self: 'x' } as never
    await expect(createDatabase({ store, clock, random: systemRandom, transport }, { tombstonePurgeMs: 60_000 })).rejects.toThrow(/at least the hint window/)
  })

  it('finds the tombstones of a store written before schema v5 at open', async () => {
    await db.counter('old-delete').increment(1)
    await db.delete('old-delete')
    await db.register('live').set('x')
    // As a v4 store left them: rows unmarked, and the migration's note that some may be tombstones.
    const store = db.replica.store
    const stored = store.getKey('old-delete')!
    await store.write({ keys: [{ key: stored.key, type: stored.type, state: stored.state, hlc: stored.hlc }], meta: [{ name: NEEDS_DELETED_CLASSIFICATION, value: Uint8Array.of(1) }] })
    expect(store.getDigestEntry('old-delete')?.deleted).toBeUndefined()
    await db.close()
    db = await open()
    expect(db.replica.store.getDigestEntry('old-delete')?.deleted).toBe(true)
    expect(db.replica.store.getDigestEntry('live')?.deleted).toBeUndefined()
    expect(db.replica.store.getMeta(NEEDS_DELETED_CLASSIFICATION)).toBeUndefined()
    moved.ms = WINDOW + 1_000
    expect(await db.purgeTombstones()).toBe(1)
  })
})
