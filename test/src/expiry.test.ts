// Expiry through the embedded API (issue 14): a write's `ttl`, the key reading as missing
// once its time came, renewal, a write after expiry starting a key that does not expire,
// the sweep removing expired keys (feed `expired` events, keys(), scan()), restarts, and
// bad input refused without changing anything. The clock is the wall clock plus an offset
// the test moves, so expiries come without waiting for them.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { InvalidOptionError, openDatabase, type Database } from '../../src/index.js'
import { movedClock } from '../fixtures/moved-clock.js'
import type { FeedEvent } from '../../src/database/change-feed.js'

let dir: string
let db: Database
const { clock, moved } = movedClock()

const open = () => openDatabase({ dataDir: join(dir, 'data'), clock })

beforeEach(async () => {
  moved.ms = 0
  dir = mkdtempSync(join(tmpdir(), 'rumordb-expiry-'))
  db = await open()
})

afterEach(async () => {
  await db.close()
  rmSync(dir, { recursive: true, force: true })
})

async function scanned(d: Database): Promise<string[]> {
  const out: string[] = []
  for await (const e of d.scan()) out.push(e.key)
  return out
}

/** The next event of the feed, or a failure after `limitMs` (meant for a slow machine). */
async function nextEvent(feed: AsyncIterator<FeedEvent>, limitMs = 30_000): Promise<FeedEvent> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no feed event within ${limitMs} ms`)), limitMs)))
  try {
    const next = await Promise.race([feed.next(), timeout])
    if (next.done === true) throw new Error('the feed ended')
    return next.value
  } finally {
    clearTimeout(timer)
  }
}

describe('expiry (embedded)', () => {
  it('a key written with a ttl reads as missing once it is due, and can be written again without expiring', async () => {
    await db.counter('session').increment(3, { ttl: 60_000 })
    expect(await db.get('session')).toMatchObject({ type: 'pncounter', value: 3 })
    moved.ms = 59_000
    expect(await db.counter('session').value()).toBe(3)
    moved.ms = 60_001
    expect(await db.get('session')).toBeUndefined()
    expect(await db.counter('session').value()).toBe(0)
    expect(db.keys().map((k) => k.key)).toEqual([])
    expect(await scanned(db)).toEqual([])
    // Written again: a new key, counting from zero, that does not expire.
    expect((await db.counter('session').increment(2)).value).toBe(2)
    moved.ms = 10 * 60_000
    expect(await db.get('session')).toMatchObject({ type: 'pncounter', value: 2 })
    // Even with another type.
    await db.set('cart').add('apple', { ttl: 1_000 })
    moved.ms += 1_000
    await db.register('cart').set('gone-and-back')
    expect(await db.get('cart')).toMatchObject({ type: 'lww', value: 'gone-and-back' })
  })

  it('a later write keeps the expiry; a later ttl renews it, longer or shorter', async () => {
    await db.set('s').add('a', { ttl: 10_000 })
    moved.ms = 5_000
    await db.set('s').add('b')
    moved.ms = 9_000
    // Renewed from t = 9 s for 10 s more.
    await db.set('s').add('c', { ttl: 10_000 })
    moved.ms = 15_000
    expect(await db.set('s').value()).toEqual(['a', 'b', 'c'])
    moved.ms = 19_001
    expect(await db.get('s')).toBeUndefined()
    // Shortened.
    await db.register('r').set(1, { ttl: 60_000 })
    await db.register('r').set(2, { ttl: 1_000 })
    moved.ms += 1_001
    expect(await db.get('r')).toBeUndefined()
  })

  it('the sweep removes an expired key: the feed says expired, the key stays missing after a restart', async () => {
    const feed = db.watch('k')
    await db.counter('k1').increment(1, { ttl: 5_000 })
    const written = await nextEvent(feed)
    expect(written).toMatchObject({ key: 'k1', type: 'pncounter', value: 1 })
    moved.ms = 5_000
    // No write: the node's sweep finds the key in the store's expiry index.
    const gone = await nextEvent(feed)
    expect(gone).toMatchObject({ key: 'k1', deleted: true, expired: true })
    await feed.return?.()
    await db.close()
    db = await open()
    expect(await db.get('k1')).toBeUndefined()
    // A feed resumed from before the expiry gives the key's last change: deleted.
    const resumed = db.watch('k', { since: written.cursor })
    expect(await nextEvent(resumed)).toMatchObject({ key: 'k1', deleted: true, expired: true })
    await resumed.return?.()
  })

  it('an expired key answers a delete as already gone, and a delete then a write starts a key without expiry', async () => {
    await db.counter('a').increment(1, { ttl: 1_000 })
    moved.ms = 1_000
    expect(await db.delete('a')).toMatchObject({ deleted: false })
    await db.counter('b').increment(1, { ttl: 1_000 })
    expect(await db.delete('b')).toMatchObject({ deleted: true })
    await db.counter('b').increment(5)
    moved.ms = 60_000
    expect(await db.counter('b').value()).toBe(5)
  })

  it('refuses a bad ttl with a clear error and changes nothing', async () => {
    await db.counter('c').increment(1)
    for (const ttl of [0, -1, 1.5, 2 ** 41, '1000', Number.NaN]) {
      await expect(db.counter('c').increment(1, { ttl } as never)).rejects.toThrow(InvalidOptionError)
      await expect(db.counter('c').increment(1, { ttl } as never)).rejects.toThrow(/option "ttl" must be a whole number of milliseconds from 1 to/)
    }
    await expect(db.delete('c', { ttl: 1000 } as never)).rejects.toThrow(InvalidOptionError)
    await expect(db.counter('c').delete({ ttl: 1000 } as never)).rejects.toThrow(InvalidOptionError)
    expect(await db.counter('c').value()).toBe(1)
    moved.ms = 2 ** 41
    expect(await db.counter('c').value()).toBe(1)
  })

  it('an idempotency key covers the ttl: a retry returns the first result, the same key with another ttl is refused', async () => {
    const first = await db.counter('c').increment(1, { ttl: 5_000, idempotencyKey: 'k-1' })
    const again = await db.counter('c').increment(1, { ttl: 5_000, idempotencyKey: 'k-1' })
    expect(again).toMatchObject({ value: first.value, replayed: true })
    await expect(db.counter('c').increment(1, { ttl: 9_000, idempotencyKey: 'k-1' })).rejects.toThrow(/idempotency/i)
    expect(await db.counter('c').value()).toBe(1)
    moved.ms = 5_000
    expect(await db.counter('c').value()).toBe(0)
  })

  it('maps expire as a whole; a field write keeps the document expiry', async () => {
    const doc = db.map('profile')
    await doc.register('name').set('ada', { ttl: 2_000 })
    await doc.counter('logins').increment(1)
    expect(await db.get('profile')).toMatchObject({ type: 'map', value: { name: 'ada', logins: 1 } })
    moved.ms = 2_000
    expect(await db.get('profile')).toBeUndefined()
  })
})
