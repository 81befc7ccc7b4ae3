// The tombstone purge in a simulated cluster (issue 14): what deletes leave goes once every
// replica agrees, a replica that is away holds the purge up (and nothing comes back when it
// returns), and a write after a purge shows on a replica that still holds the tombstone.
import { describe, expect, it } from 'vitest'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261203)
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 250, handoffIntervalMs: 250, hintWindowMs: 10_000 }
/** The purge window the tests run with (virtual ms); the purge looks every 10 s. */
const WINDOW = 20_000

async function cluster(options: { databaseOf?: (id: string) => { tombstonePurgeMs: number } } = {}): Promise<SimCluster> {
  const c = new SimCluster({
    seed: SEED,
    size: 3,
    link: { latency: { baseMs: 1, jitterMs: 1 } },
    config: FAST,
    database: { tombstonePurgeMs: WINDOW },
    ...options,
  })
  await c.start()
  await c.runFor(1000)
  return c
}

/** Rows the node's store holds for `keys` (tombstones included). */
function rowsOn(c: SimCluster, id: string, keys: readonly string[]): number {
  return keys.filter((key) => c.member(id).store.getKey(key) !== undefined).length
}

describe(`tombstone purge (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/purge.test.ts)`, () => {
  it('deleted keys of every type leave no row on any replica once the window passed and every replica agrees', async () => {
    const c = await cluster()
    const [a, b, d] = c.ids as [string, string, string]
    const keys: string[] = []
    for (let i = 0; i < 10; i++) {
      await c.settle(c.db(a).counter(`c${i}`).increment(i + 1, { w: 3 }))
      await c.settle(c.db(b).set(`s${i}`).add(`e${i}`, { w: 3 }))
      await c.settle(c.db(d).register(`r${i}`).set({ i }, { w: 3 }))
      await c.settle(c.db(a).map(`m${i}`).counter('n').increment(1, { w: 3 }))
      keys.push(`c${i}`, `s${i}`, `r${i}`, `m${i}`)
    }
    for (const [i, key] of keys.entries()) await c.settle(c.db(c.ids[i % 3] as string).delete(key, { w: 3 }))
    for (const id of c.ids) expect(rowsOn(c, id, keys)).toBe(keys.length)
    // Before the window nothing goes.
    await c.runFor(WINDOW / 2)
    for (const id of c.ids) expect(rowsOn(c, id, keys)).toBe(keys.length)
    await c.scheduler.runUntil(() => c.ids.every((id) => rowsOn(c, id, keys) === 0), { maxTime: 3 * WINDOW })
    for (const id of c.ids) {
      expect(rowsOn(c, id, keys)).toBe(0)
      expect(c.member(id).store.countKeys()).toBe(0)
      expect(c.db(id).replica.stats.tombstonesPurged).toBe(keys.length)
      expect(c.db(id).keys()).toEqual([])
    }
    for (const key of keys) expect(await c.settle(c.db(a).get(key, { r: 3 }))).toBeUndefined()
    await c.runFor(2000)
    for (const id of c.ids) expect(c.db(id).syncStatus()).toMatchObject({ synced: true, unreconciled: [] })
  })

  it('a replica that was down holds the purge up; when it is back it gets the tombstone and nothing comes back', async () => {
    const c = await cluster()
    const [a, b, d] = c.ids as [string, string, string]
    await c.settle(c.db(a).register('profile').set({ name: 'Ada' }, { w: 3 }))
    await c.settle(c.db(a).counter('visits').increment(7, { w: 3 }))
    c.crash(d)
    await c.runFor(3000)
    await c.settle(c.db(b).delete('profile', { w: 2 }))
    await c.settle(c.db(b).delete('visits', { w: 2 }))
    // Far past the window: d never agreed, so a and b keep the tombstones that d's copy needs,
    // and their passes rest rather than walk them every 5 s (12 passes in these 60 s).
    const store = c.member(a).store
    const scan = store.scanDeleted.bind(store)
    let scans = 0
    store.scanDeleted = (...args) => {
      scans++
      return scan(...args)
    }
    await c.runFor(3 * WINDOW)
    store.scanDeleted = scan
    expect(rowsOn(c, a, ['profile', 'visits'])).toBe(2)
    expect(rowsOn(c, b, ['profile', 'visits'])).toBe(2)
    expect(scans).toBeGreaterThan(0)
    expect(scans).toBeLessThanOrEqual(7)
    await c.restart(d)
    await c.scheduler.runUntil(() => c.ids.every((id) => rowsOn(c, id, ['profile', 'visits']) === 0), { maxTime: 4 * WINDOW })
    for (const id of c.ids) expect(rowsOn(c, id, ['profile', 'visits'])).toBe(0)
    for (const id of c.ids) {
      expect(await c.settle(c.db(id).register('profile').value({ r: 1 }))).toBeUndefined()
      expect(await c.settle(c.db(id).counter('visits').value({ r: 1 }))).toBe(0)
    }
  })

  it('a write after a purge is not covered by a tombstone another replica still keeps', async () => {
    // Node c keeps its tombstones ten windows long: a and b purge while it still has them.
    const c = await cluster({ databaseOf: (id) => ({ tombstonePurgeMs: id === 'n2' ? 10 * WINDOW : WINDOW }) })
    const [a, b, d] = c.ids as [string, string, string]
    expect(d).toBe('n2')
    for (let i = 0; i < 5; i++) await c.settle(c.db(a).counter('hits').increment(1, { w: 3 }))
    await c.settle(c.db(a).set('tags').add('x', { w: 3 }))
    await c.settle(c.db(a).set('tags').add('y', { w: 3 }))
    await c.settle(c.db(b).delete('hits', { w: 3 }))
    await c.settle(c.db(b).delete('tags', { w: 3 }))
    await c.scheduler.runUntil(() => rowsOn(c, a, ['hits', 'tags']) === 0 && rowsOn(c, b, ['hits', 'tags']) === 0, { maxTime: 3 * WINDOW })
    // Anti-entropy leaves tombstones out: c's copies do not come back to a and b, and all agree.
    await c.runFor(5000)
    expect(rowsOn(c, a, ['hits', 'tags'])).toBe(0)
    expect(rowsOn(c, b, ['hits', 'tags'])).toBe(0)
    expect(rowsOn(c, d, ['hits', 'tags'])).toBe(2)
    for (const id of c.ids) expect(c.db(id).syncStatus()).toMatchObject({ synced: true })
    // a counted 5 and added two elements under its actor before; it starts again after the purge.
    await c.settle(c.db(a).counter('hits').increment(2, { w: 3 }))
    await c.settle(c.db(a).set('tags').add('z', { w: 3 }))
    await c.runFor(5000)
    for (const id of c.ids) {
      expect(await c.settle(c.db(id).counter('hits').value({ r: 1 }))).toBe(2)
      expect(await c.settle(c.db(id).set('tags').values({ r: 1 }))).toEqual(['z'])
      expect(c.db(id).syncStatus()).toMatchObject({ synced: true, unreconciled: [] })
      expect(c.db(id).replica.stats.remoteStatesRefused).toBe(0)
    }
  })
})
