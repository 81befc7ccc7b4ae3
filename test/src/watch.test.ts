// The change feed (db.watch, src/database/change-feed.ts): what is stored under a prefix,
// then live changes in commit order; resuming by cursor misses nothing, across a restart;
// deletes show; a slow consumer costs bounded memory and still misses nothing; bad cursors.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { InvalidCursorError, openDatabase, type Database, type FeedEvent } from '../../src/index.js'
import { MAX_BUFFERED } from '../../src/database/change-feed.js'

let dir: string
let db: Database

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-watch-'))
  db = await openDatabase({ dataDir: join(dir, 'data') })
})

afterEach(async () => {
  await db.close()
  rmSync(dir, { recursive: true, force: true })
})

/** The next `n` events of a feed. */
async function take(feed: AsyncIterator<FeedEvent>, n: number): Promise<FeedEvent[]> {
  const out: FeedEvent[] = []
  while (out.length < n) {
    const r = await feed.next()
    if (r.done === true) break
    out.push(r.value)
  }
  return out
}

const brief = (e: FeedEvent): unknown => (e.deleted === true ? [e.key, 'deleted'] : [e.key, e.value])

describe('db.watch', () => {
  it('gives what is stored under the prefix in commit order, then each change as it commits', async () => {
    await db.counter('cart:a').increment(1)
    await db.counter('other').increment(1)
    await db.set('cart:b').add('x')
    await db.counter('cart:a').increment(2)
    const feed = db.watch('cart:')
    // Stored: cart:b, then cart:a (its last change is the latest).
    expect((await take(feed, 2)).map(brief)).toEqual([
      ['cart:b', ['x']],
      ['cart:a', 3],
    ])
    const next = take(feed, 3)
    await db.set('cart:b').add('y')
    await db.counter('other').increment()
    await db.delete('cart:a')
    await db.register('cart:c').set('hi')
    const live = await next
    expect(live.map(brief)).toEqual([
      ['cart:b', ['x', 'y']],
      ['cart:a', 'deleted'],
      ['cart:c', 'hi'],
    ])
    expect(live.map((e) => e.origin)).toEqual(['local', 'local', 'local'])
    await feed.return?.()
  })

  it('resumes after a cursor with everything committed since, across a restart', async () => {
    for (let i = 0; i < 5; i++) await db.counter(`k${i}`).increment(i + 1)
    const first = await take(db.watch(), 5)
    const cursor = first[2]!.cursor
    await db.counter('k0').increment(10)
    await db.close()
    db = await openDatabase({ dataDir: join(dir, 'data') })
    await db.counter('k9').increment()
    const resumed = await take(db.watch('', { since: cursor }), 4)
    // k3, k4 (after the cursor), then k0 and k9 changed since; nothing before the cursor again.
    expect(resumed.map(brief)).toEqual([
      ['k3', 4],
      ['k4', 5],
      ['k0', 11],
      ['k9', 1],
    ])
    expect(resumed.every((e) => e.origin === undefined)).toBe(true)
  })

  it('a consumer that does not read while more than the buffer commits still gets every key, with bounded memory', async () => {
    const feed = db.watch('many:')
    expect(await take(feed, 0)).toEqual([])
    const n = MAX_BUFFERED + 2_000
    const writes: Promise<unknown>[] = []
    for (let i = 0; i < n; i++) writes.push(db.gcounter(`many:${i}`).increment())
    await Promise.all(writes)
    // The feed held at most MAX_BUFFERED changes, then let go of them to read the store again.
    expect((feed as unknown as { buffer: unknown[] }).buffer.length).toBeLessThanOrEqual(MAX_BUFFERED)
    expect((feed as unknown as { dropped: boolean }).dropped).toBe(true)
    const seen = new Set((await take(feed, n)).map((e) => e.key))
    expect(seen.size).toBe(n)
    await feed.return?.()
  })

  it('refuses a malformed cursor and one of another database', async () => {
    await db.counter('a').increment()
    const [event] = await take(db.watch(), 1)
    const other = await openDatabase({ dataDir: join(dir, 'other') })
    try {
      expect(() => other.watch('', { since: event!.cursor })).toThrow(InvalidCursorError)
      expect(() => db.watch('', { since: 'not a cursor!' })).toThrow(/invalid cursor/)
      expect(() => db.watch('', { since: event!.cursor.slice(0, 8) })).toThrow(InvalidCursorError)
    } finally {
      await other.close()
    }
  })

  it('ends when the database closes', async () => {
    const feed = db.watch()
    const pending = feed.next()
    await db.close()
    expect(await pending).toEqual({ done: true, value: undefined })
    db = await openDatabase({ dataDir: join(dir, 'data') })
  })
})
