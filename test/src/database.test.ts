import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  DatabaseClosedError,
  InvalidKeyError,
  InvalidOptionError,
  InvalidTokenError,
  InvalidValueError,
  openDatabase,
  QuorumNotMetError,
  StaleReadError,
  TypeMismatchError,
  ValueTooLargeError,
  type Change,
  type Database,
} from '../../src/index.js'

let dir: string
let db: Database

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-db-'))
  db = await openDatabase({ dataDir: join(dir, 'data') })
})

afterEach(async () => {
  await db.close()
  rmSync(dir, { recursive: true, force: true })
})

async function dump(d: Database): Promise<unknown[]> {
  const out: unknown[] = []
  for await (const e of d.scan()) out.push(e)
  return out
}

describe('the embedded API', () => {
  it('runs the README example', async () => {
    expect((await db.counter('visits').increment(2)).value).toBe(2)
    expect((await db.gcounter('likes').increment()).value).toBe(1)
    expect((await db.set('cart:alice').add({ sku: 'apple', qty: 1 })).value).toEqual([{ qty: 1, sku: 'apple' }])
    expect((await db.register('profile:alice').set({ name: 'Alice' })).value).toEqual({ name: 'Alice' })
    expect(await db.counter('visits').value()).toBe(2)
    const seen: Change[] = []
    const off = db.subscribe('cart:', (c) => seen.push(c))
    await db.set('cart:alice').add('pear')
    await db.set('cart:bob').add('kiwi')
    await db.counter('visits').increment()
    off()
    await db.set('cart:alice').remove('pear')
    expect(seen).toEqual([
      { key: 'cart:alice', type: 'orset', value: ['pear', { qty: 1, sku: 'apple' }], origin: 'local', size: 2 },
      { key: 'cart:bob', type: 'orset', value: ['kiwi'], origin: 'local', size: 1 },
    ])
    const entries = []
    for await (const e of db.scan({ prefix: 'cart:' })) entries.push(e)
    expect(entries).toEqual([
      { key: 'cart:alice', type: 'orset', value: [{ qty: 1, sku: 'apple' }] },
      { key: 'cart:bob', type: 'orset', value: ['kiwi'] },
    ])
  })

  it('reads unwritten keys as the empty value of the handle type', async () => {
    expect(await db.counter('a').value()).toBe(0)
    expect(await db.gcounter('b').value()).toBe(0)
    expect(await db.set('c').values()).toEqual([])
    expect(await db.set('c').has('x')).toBe(false)
    expect(await db.register('d').value()).toBeUndefined()
    expect(await dump(db)).toEqual([])
  })

  it('is its own only replica: a read requiring more than one replica is refused, one requiring one answers', async () => {
    await db.counter('a').increment(3)
    expect(await db.get('a', { requireQuorum: true })).toMatchObject({ value: 3, replicas: 1 })
    expect(await db.counter('a').value({ r: 1, requireQuorum: true })).toBe(3)
    await expect(db.get('a', { r: 2, requireQuorum: true })).rejects.toMatchObject({ name: 'QuorumNotMetError', acks: 1, required: 2, operation: 'read' })
    await expect(db.set('s').values({ r: 2, requireQuorum: true })).rejects.toBeInstanceOf(QuorumNotMetError)
    expect(await db.get('a', { r: 2 })).toMatchObject({ value: 3, replicas: 1 })
  })

  it('counts increments and decrements, and answers has() for sets', async () => {
    await db.counter('n').increment(5)
    expect((await db.counter('n').decrement(7)).value).toBe(-2)
    await db.set('s').add([1, 2])
    expect(await db.set('s').has([1, 2])).toBe(true)
    expect(await db.set('s').has([2, 1])).toBe(false)
    await db.register('r').set('one')
    await db.register('r').set('two')
    expect(await db.register('r').value()).toBe('two')
  })

  it('group-commits writes issued together and keeps their order per key', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => db.counter(`k${i % 7}`).increment(i)))
    expect(results.length).toBe(200)
    let total = 0
    for (let k = 0; k < 7; k++) total += await db.counter(`k${k}`).value()
    expect(total).toBe((199 * 200) / 2)
  })

  it('scans every key in order, across pages, with prefixes', async () => {
    const keys = Array.from({ length: 600 }, (_, i) => `p:${String(i).padStart(4, '0')}`)
    await Promise.all(keys.map((k) => db.gcounter(k).increment()))
    await db.gcounter('q:1').increment()
    const scanned = []
    for await (const e of db.scan({ prefix: 'p:' })) scanned.push(e.key)
    expect(scanned).toEqual(keys)
    expect((await dump(db)).length).toBe(601)
  })
})

describe('bad input is refused with a named error and changes nothing', () => {
  beforeEach(async () => {
    await db.counter('counter').increment(3)
    await db.set('set').add('a')
    await db.register('reg').set({ v: 1 })
  })

  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const cases: [string, (d: Database) => Promise<unknown>, new (...a: never[]) => Error][] = [
    ['another type on an existing key', (d) => d.gcounter('counter').increment(), TypeMismatchError],
    ['a set write on a register', (d) => d.set('reg').add(1), TypeMismatchError],
    ['an empty key', (d) => d.counter('').increment(), InvalidKeyError],
    ['a key over 1024 bytes', (d) => d.counter('é'.repeat(513)).increment(), InvalidKeyError],
    ['a key with a lone surrogate', (d) => d.counter('a\ud800').increment(), InvalidKeyError],
    ['a non-string key', (d) => d.counter(42 as unknown as string).increment(), InvalidKeyError],
    ['a value over 64 KiB', (d) => d.register('reg').set('x'.repeat(65_536)), ValueTooLargeError],
    ['an element over 64 KiB', (d) => d.set('set').add({ big: 'y'.repeat(70_000) }), ValueTooLargeError],
    ['a function value', (d) => d.register('reg').set((() => 1) as never), InvalidValueError],
    ['NaN', (d) => d.register('reg').set(NaN), InvalidValueError],
    ['a cycle', (d) => d.set('set').add(cyclic as never), InvalidValueError],
    ['a BigInt', (d) => d.register('reg').set(10n as never), InvalidValueError],
    ['undefined', (d) => d.register('reg').set(undefined as never), InvalidValueError],
    ['a negative amount', (d) => d.counter('counter').increment(-1), RangeError],
    ['a fractional amount', (d) => d.counter('counter').decrement(1.5), RangeError],
    ['an unsafe amount', (d) => d.gcounter('g').increment(2 ** 53), RangeError],
    ['a string amount', (d) => d.counter('counter').increment('3' as never), RangeError],
    ['an empty idempotency key', (d) => d.counter('counter').increment(1, { idempotencyKey: '' }), InvalidOptionError],
  ]

  for (const [name, attempt, ErrorClass] of cases) {
    it(`refuses ${name}`, async () => {
      const before = await dump(db)
      const err = await (async () => attempt(db))().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(err).toBeInstanceOf(ErrorClass)
      expect((err as Error).message.length).toBeGreaterThan(20)
      expect(await dump(db)).toEqual(before)
      await db.close()
      db = await openDatabase({ dataDir: join(dir, 'data') })
      expect(await dump(db)).toEqual(before)
    })
  }

  it('says which type a key holds and which handle to use', async () => {
    await expect(db.counter('set').increment()).rejects.toThrow(/holds an OR-set.*db\.set\("set"\)/)
  })

  it('refuses writes and reads after close', async () => {
    await db.close()
    await expect(db.counter('counter').increment()).rejects.toBeInstanceOf(DatabaseClosedError)
    await expect(db.counter('counter').value()).rejects.toBeInstanceOf(DatabaseClosedError)
    db = await openDatabase({ dataDir: join(dir, 'data') })
  })
})

describe('idempotency keys', () => {
  it('returns the first result and applies nothing on a retry', async () => {
    const first = await db.counter('c').increment(5, { idempotencyKey: 'req-1' })
    const again = await db.counter('c').increment(5, { idempotencyKey: 'req-1' })
    expect({ value: again.value, token: again.token }).toEqual({ value: first.value, token: first.token })
    expect(await db.counter('c').value()).toBe(5)
    await db.counter('c').increment(5, { idempotencyKey: 'req-2' })
    expect(await db.counter('c').value()).toBe(10)
  })

  it('applies once when the same key is retried concurrently', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => db.gcounter('g').increment(3, { idempotencyKey: 'same' })))
    expect(new Set(results.map((r) => r.token)).size).toBe(1)
    expect(await db.gcounter('g').value()).toBe(3)
  })

  it('survives a restart', async () => {
    await db.set('s').add('x', { idempotencyKey: 'add-x' })
    await db.set('s').remove('x')
    await db.close()
    db = await openDatabase({ dataDir: join(dir, 'data') })
    const retry = await db.set('s').add('x', { idempotencyKey: 'add-x' })
    expect(retry.value).toEqual(['x'])
    expect(await db.set('s').values()).toEqual([])
  })

  it('expires after its time to live', async () => {
    let now = 1_700_000_000_000
    await db.close()
    const clock = { now: () => now, setTimeout: () => ({}), clearTimeout: () => undefined }
    db = await openDatabase({ dataDir: join(dir, 'data'), clock, idempotencyTtlMs: 1000 })
    await db.counter('c').increment(1, { idempotencyKey: 'k' })
    now += 999
    await db.counter('c').increment(1, { idempotencyKey: 'k' })
    expect(await db.counter('c').value()).toBe(1)
    now += 1
    await db.counter('c').increment(1, { idempotencyKey: 'k' })
    expect(await db.counter('c').value()).toBe(2)
  })

  it('refuses a key reused for a different write', async () => {
    await db.counter('c').increment(1, { idempotencyKey: 'k' })
    await expect(db.counter('c').increment(2, { idempotencyKey: 'k' })).rejects.toThrow(InvalidOptionError)
    await expect(db.counter('other').increment(1, { idempotencyKey: 'k' })).rejects.toThrow(/different write/)
    expect(await db.counter('c').value()).toBe(1)
    expect(await db.counter('other').value()).toBe(0)
  })
})

describe('subscriptions', () => {
  it('delivers committed changes by prefix and stops after off()', async () => {
    const all: string[] = []
    const users: string[] = []
    const offAll = db.subscribe('', (c) => all.push(c.key))
    const offUsers = db.subscribe('user:', (c) => users.push(`${c.key}=${JSON.stringify(c.value)}`))
    await db.register('user:1').set('ann')
    await db.counter('hits').increment()
    offUsers()
    await db.register('user:2').set('bob')
    offAll()
    await db.register('user:3').set('cid')
    expect(all).toEqual(['user:1', 'hits', 'user:2'])
    expect(users).toEqual(['user:1="ann"'])
  })

  it('keeps the write and other listeners when a listener throws', async () => {
    const errors: unknown[] = []
    await db.close()
    db = await openDatabase({ dataDir: join(dir, 'data'), onListenerError: (e) => errors.push(e) })
    const seen: string[] = []
    db.subscribe('', () => {
      throw new Error('listener bug')
    })
    db.subscribe('', (c) => seen.push(c.key))
    const r = await db.counter('x').increment()
    expect(r.value).toBe(1)
    expect(seen).toEqual(['x'])
    expect(errors).toHaveLength(1)
  })

  it('does not notify refused writes', async () => {
    const seen: Change[] = []
    db.subscribe('', (c) => seen.push(c))
    await expect(db.set('s').add(NaN)).rejects.toThrow(InvalidValueError)
    expect(seen).toEqual([])
  })
})

describe('session tokens', () => {
  it('are accepted by reads of the same key', async () => {
    const { token } = await db.set('s').add('a')
    expect(await db.set('s').values({ token })).toEqual(['a'])
    const w = await db.register('r').set(1)
    await db.register('r').set(2)
    expect(await db.register('r').value({ token: w.token })).toBe(2)
  })

  it('are refused for another key, another type, or when malformed', async () => {
    const { token } = await db.counter('c').increment()
    await expect(db.counter('d').value({ token })).rejects.toBeInstanceOf(InvalidTokenError)
    await db.gcounter('g').increment()
    await expect(db.gcounter('c').value({ token })).rejects.toBeInstanceOf(TypeMismatchError)
    await expect(db.counter('c').value({ token: 'not a token!' })).rejects.toBeInstanceOf(InvalidTokenError)
    await expect(db.counter('c').value({ token: token.slice(0, 10) })).rejects.toBeInstanceOf(InvalidTokenError)
  })

  it('fail a read on a node that does not have the write yet', async () => {
    const other = await openDatabase({ dataDir: join(dir, 'other') })
    try {
      const { token } = await other.counter('c').increment()
      await expect(db.counter('c').value({ token })).rejects.toBeInstanceOf(StaleReadError)
    } finally {
      await other.close()
    }
  })
})

describe('the data directory', () => {
  it('keeps the actor id across restarts and differs between directories', async () => {
    const actor = db.actorId
    expect(actor.length).toBeGreaterThan(8)
    await db.close()
    db = await openDatabase({ dataDir: join(dir, 'data') })
    expect(db.actorId).toBe(actor)
    const other = await openDatabase({ dataDir: join(dir, 'other') })
    expect(other.actorId).not.toBe(actor)
    await other.close()
  })

  it('refuses a second open of a directory held by this process', async () => {
    await expect(openDatabase({ dataDir: join(dir, 'data') })).rejects.toThrow(/another|locked|in use/i)
    expect((await db.counter('c').increment()).value).toBe(1)
  })

  it('refuses a missing dataDir with a clear error', async () => {
    await expect(openDatabase({} as never)).rejects.toBeInstanceOf(InvalidOptionError)
  })
})
