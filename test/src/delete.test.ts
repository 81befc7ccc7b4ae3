// Deleting a key through the embedded API (issue 14): observed-remove of whatever the key
// holds, a deleted key reads as missing and can be written again with any type, counters
// count from the delete, idempotency keys, subscriptions, session tokens, restarts.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { InvalidOptionError, openDatabase, type Change, type Database } from '../../src/index.js'

let dir: string
let db: Database

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-delete-'))
  db = await openDatabase({ dataDir: join(dir, 'data') })
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

describe('delete (embedded)', () => {
  it('a deleted key reads as missing everywhere it is listed, and can be written again with another type', async () => {
    await db.counter('visits').increment(5)
    await db.set('tags').add('a')
    expect(await db.delete('visits')).toMatchObject({ key: 'visits', deleted: true, acks: 1, quorum: true })
    expect(await db.get('visits')).toBeUndefined()
    expect(await db.counter('visits').value()).toBe(0)
    expect(db.keys().map((k) => k.key)).toEqual(['tags'])
    expect(await scanned(db)).toEqual(['tags'])
    // Another type, as if the key were new.
    await db.set('visits').add('x')
    expect(await db.get('visits')).toMatchObject({ type: 'orset', value: ['x'] })
    expect(db.keys().map((k) => k.key)).toEqual(['tags', 'visits'])
    // A key that was never written: nothing to delete, not an error.
    expect(await db.delete('nothing')).toMatchObject({ key: 'nothing', deleted: false })
    expect(await db.get('nothing')).toBeUndefined()
    expect(db.keys().map((k) => k.key)).toEqual(['tags', 'visits'])
  })

  it('every handle deletes its key, whatever the type; a counter counts from the delete', async () => {
    await db.counter('c').increment(7)
    expect(await db.counter('c').delete()).toMatchObject({ deleted: true })
    expect((await db.counter('c').increment(2)).value).toBe(2)
    expect(await db.get('c')).toMatchObject({ type: 'pncounter', value: 2 })
    await db.gcounter('g').increment(3)
    await db.gcounter('g').delete()
    expect((await db.gcounter('g').increment()).value).toBe(1)
    await db.set('s').add('old')
    await db.set('s').delete()
    expect((await db.set('s').add('new')).value).toEqual(['new'])
    expect(await db.set('s').size()).toBe(1)
    await db.register('r').set({ v: 1 })
    await db.register('r').delete()
    expect(await db.register('r').value()).toBeUndefined()
    await db.register('r').set('back')
    expect(await db.register('r').value()).toBe('back')
  })

  it('a retry with the same idempotency key deletes once: a write between the two attempts survives', async () => {
    await db.set('cart').add('apple')
    const first = await db.delete('cart', { idempotencyKey: 'del-1' })
    await db.set('cart').add('pear')
    const retry = await db.delete('cart', { idempotencyKey: 'del-1' })
    expect(first).toMatchObject({ deleted: true })
    expect(retry).toEqual({ key: 'cart', deleted: true, replayed: true, token: first.token })
    expect(await db.set('cart').values()).toEqual(['pear'])
    // The key names this delete: reused for a write it is refused.
    await expect(db.set('cart').add('plum', { idempotencyKey: 'del-1' })).rejects.toBeInstanceOf(InvalidOptionError)
  })

  it('subscribers see the delete; a session token from before it still reads (the write was seen, then deleted)', async () => {
    const changes: Change[] = []
    db.subscribe('k', (c) => changes.push(c))
    const { token } = await db.counter('k').increment(4)
    await db.delete('k')
    expect(changes.map((c) => ({ type: c.type, value: c.value, deleted: c.deleted }))).toEqual([
      { type: 'pncounter', value: 4, deleted: undefined },
      { type: undefined, value: undefined, deleted: true },
    ])
    expect(await db.counter('k').value({ token })).toBe(0)
    expect(await db.get('k', { token })).toBeUndefined()
  })

  it('a write that leaves a deleted key showing nothing is a delete for subscribers and the feed, as reads say', async () => {
    const changes: Change[] = []
    db.subscribe('k3', (c) => changes.push(c))
    await db.set('k3').add('x')
    await db.delete('k3')
    // Removing an element the set no longer shows: the key still reads as missing.
    await db.set('k3').remove('x')
    expect(await db.get('k3')).toBeUndefined()
    expect(changes.map((c) => c.deleted === true)).toEqual([false, true, true])
    const feed = db.watch('k3')
    const first = await feed.next()
    await feed.return?.(undefined)
    expect(first.value).toMatchObject({ key: 'k3', deleted: true })
  })

  it("a delete's session token reads the delete, on any handle; a delete of nothing gets one too", async () => {
    await db.register('r').set('v')
    const { token } = await db.delete('r')
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(await db.get('r', { token })).toBeUndefined()
    expect(await db.register('r').value({ token })).toBeUndefined()
    // Any type reads with it: the key reads as that type's empty value.
    expect(await db.counter('r').value({ token })).toBe(0)
    const again = await db.set('r').add('x')
    expect(await db.get('r', { token })).toMatchObject({ type: 'orset', value: ['x'] })
    expect(await db.set('r').values({ token: again.token })).toEqual(['x'])
    // A token is for its key only.
    await expect(db.get('other', { token })).rejects.toThrow(/another key/)
    const nothing = await db.delete('never-written')
    expect(nothing.deleted).toBe(false)
    expect(await db.get('never-written', { token: nothing.token })).toBeUndefined()
  })

  it('stays deleted across a restart, and its tombstone is small', async () => {
    for (let i = 0; i < 2000; i++) await db.set('big').add(`element number ${i}`)
    await db.delete('big')
    await db.close()
    db = await openDatabase({ dataDir: join(dir, 'data') })
    expect(await db.get('big')).toBeUndefined()
    expect(await db.set('big').values()).toEqual([])
    expect(db.replica.store.getKey('big')!.state.length).toBeLessThan(80)
  })

  it('refuses bad input before changing anything', async () => {
    await db.counter('x').increment()
    await expect(db.delete('x', { w: 0 } as never)).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(db.delete('x', { nope: true } as never)).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(db.delete('')).rejects.toThrow()
    expect(await db.counter('x').value()).toBe(1)
  })
})
