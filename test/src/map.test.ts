// Maps through the embedded API (issue 14): fields of every type, nested maps, field removal,
// type mismatches, deletes, session tokens and restarts.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { FieldTypeMismatchError, openDatabase, TypeMismatchError, type Change, type Database } from '../../src/index.js'

let dir: string
let db: Database

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-map-'))
  db = await openDatabase({ dataDir: join(dir, 'data') })
})

afterEach(async () => {
  await db.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('maps (embedded)', () => {
  it('holds fields of every type and nested maps; reads return the document', async () => {
    const profile = db.map('profile:1')
    await profile.register('name').set('Ada')
    await profile.counter('likes').increment(3)
    await profile.counter('likes').decrement(1)
    await profile.gcounter('visits').increment(5)
    await profile.set('tags').add('math')
    const last = await profile.map('address').register('city').set('London')
    const doc = { address: { city: 'London' }, likes: 2, name: 'Ada', tags: ['math'], visits: 5 }
    expect(last.value).toEqual(doc)
    expect(last.token).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(await profile.value()).toEqual(doc)
    expect(await db.get('profile:1')).toMatchObject({ type: 'map', value: doc })
    expect(await profile.counter('likes').value()).toBe(2)
    expect(await profile.map('address').value()).toEqual({ city: 'London' })
    expect(await profile.set('tags').value()).toEqual(['math'])
    // A field never written reads as its type's empty value.
    expect(await profile.counter('nothing').value()).toBe(0)
    expect(await profile.register('nothing').value()).toBeUndefined()
    expect(db.keys()).toEqual([{ key: 'profile:1', type: 'map' }])
  })

  it('removes a field; the field can be written again with another type', async () => {
    const m = db.map('m')
    await m.counter('n').increment(4)
    await m.set('s').add('x')
    const after = await m.remove('n')
    expect(after.value).toEqual({ s: ['x'] })
    expect(await m.counter('n').value()).toBe(0)
    await m.register('n').set('now a register')
    expect(await m.value()).toEqual({ n: 'now a register', s: ['x'] })
    await m.map('deep').map('er').register('x').set(1)
    await m.map('deep').remove('er')
    expect(await m.value()).toEqual({ deep: {}, n: 'now a register', s: ['x'] })
  })

  it('refuses a write of another type to a field, and a map write to a key of another type, changing nothing', async () => {
    const m = db.map('m')
    await m.counter('n').increment()
    const err = await m.register('n').set('x').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FieldTypeMismatchError)
    expect((err as Error).message).toMatch(/map field "n" holds a PN-counter \(pncounter\), not an LWW register \(lww\)/)
    await expect(m.map('n').register('x').set(1)).rejects.toBeInstanceOf(FieldTypeMismatchError)
    await expect(m.register('n').value()).rejects.toBeInstanceOf(FieldTypeMismatchError)
    await db.counter('c').increment()
    await expect(db.map('c').counter('n').increment()).rejects.toBeInstanceOf(TypeMismatchError)
    expect(await m.value()).toEqual({ n: 1 })
    expect(() => m.counter('')).toThrow(/field name must not be empty/)
    await expect(m.counter('n').increment(-1)).rejects.toThrow(RangeError)
    expect(await m.value()).toEqual({ n: 1 })
  })

  it('answers a short session token for a write of a big value to a register field, and reads with it', async () => {
    const big = 'x'.repeat(20_000)
    const { token } = await db.map('doc').register('body').set(big)
    expect(token.length).toBeLessThan(200)
    expect(await db.map('doc').register('body').value({ token })).toBe(big)
    const removed = await db.map('doc').remove('body')
    expect(await db.map('doc').value({ token: removed.token })).toEqual({})
  })

  it('deletes like any key, applies keyed writes once, reads with session tokens, notifies subscribers and survives a restart', async () => {
    const changes: Change[] = []
    db.subscribe('doc', (c) => changes.push(c))
    const m = db.map('doc')
    const first = await m.counter('n').increment(2, { idempotencyKey: 'once' })
    const again = await m.counter('n').increment(2, { idempotencyKey: 'once' })
    expect(again).toMatchObject({ replayed: true, value: { n: 2 } })
    expect(await m.value({ token: first.token })).toEqual({ n: 2 })
    expect(changes.map((c) => c.value)).toEqual([{ n: 2 }])
    await m.delete()
    expect(await db.get('doc')).toBeUndefined()
    await m.register('title').set('fresh')
    await db.close()
    db = await openDatabase({ dataDir: join(dir, 'data') })
    expect(await db.map('doc').value()).toEqual({ title: 'fresh' })
  })
})
