// /v1/kv/:key and /v1/keys through app.inject on a local database.
import { afterEach, describe, expect, it } from 'vitest'
import { closeAll, kvPath, testServer } from './http-harness.js'

afterEach(closeAll)

type Inject = Awaited<ReturnType<typeof testServer>>['server']['app']['inject']

function post(inject: Inject, key: string, body: unknown, options: { query?: string; headers?: Record<string, string> } = {}) {
  return inject({
    method: 'POST',
    url: `${kvPath(key)}${options.query === undefined ? '' : `?${options.query}`}`,
    payload: body as object,
    headers: options.headers,
  })
}

describe('POST /v1/kv/:key', () => {
  it('applies an operation of every type and answers the value, acks, quorum and a token', async () => {
    const { server } = await testServer()
    const inject = server.app.inject.bind(server.app)
    const cases: [string, object, unknown][] = [
      ['likes', { type: 'gcounter', op: 'increment', amount: 3 }, 3],
      ['visits', { type: 'pncounter', op: 'decrement', amount: 2 }, -2],
      ['tags', { type: 'orset', op: 'add', element: { sku: 'apple' } }, [{ sku: 'apple' }]],
      ['name', { type: 'lww', op: 'set', value: 'Ada' }, 'Ada'],
    ]
    for (const [key, body, value] of cases) {
      const res = await post(inject, key, body)
      expect(res.statusCode, res.body).toBe(200)
      const json = res.json()
      expect(json).toMatchObject({ key, type: (body as { type: string }).type, value, acks: 1, quorum: true })
      expect(typeof json.token).toBe('string')
      expect(json.token.length).toBeGreaterThan(0)
    }
  })

  it('defaults counter amounts to 1 and takes null as an element and as a value', async () => {
    const { server, db } = await testServer()
    const inject = server.app.inject.bind(server.app)
    await post(inject, 'c', { type: 'pncounter', op: 'increment' })
    expect((await post(inject, 'c', { type: 'pncounter', op: 'increment' })).json().value).toBe(2)
    expect((await post(inject, 's', { type: 'orset', op: 'add', element: null })).json().value).toEqual([null])
    expect((await post(inject, 's', { type: 'orset', op: 'remove', element: null })).json().value).toEqual([])
    const set = await post(inject, 'r', { type: 'lww', op: 'set', value: null })
    expect(set.statusCode).toBe(200)
    expect(set.json()).toMatchObject({ type: 'lww', value: null })
    expect(await db.get('r')).toMatchObject({ type: 'lww', value: null })
  })

  it.each([
    ['an unknown type', { type: 'hashmap', op: 'set', value: 1 }, /body\.type must be one of/],
    ['an op of another type', { type: 'gcounter', op: 'decrement' }, /body\.op must be one of "increment" for type gcounter/],
    ['add on a register', { type: 'lww', op: 'add', element: 1 }, /body\.op must be one of "set" for type lww/],
    ['a set without its element', { type: 'orset', op: 'add' }, /must have "element" for type orset/],
    ['a register without its value', { type: 'lww', op: 'set' }, /must have "value" for type lww/],
    ['an element on a counter', { type: 'pncounter', op: 'increment', element: 1 }, /body\.element is not allowed for type pncounter: it takes "amount"/],
    ['a negative amount', { type: 'pncounter', op: 'increment', amount: -1 }, /body\.amount must be >= 0/],
    ['a fractional amount', { type: 'gcounter', op: 'increment', amount: 1.5 }, /body\.amount must be integer/],
    ['an amount as a string', { type: 'gcounter', op: 'increment', amount: '5' }, /body\.amount must be integer/],
    ['an amount past 2^53', { type: 'gcounter', op: 'increment', amount: 2 ** 60 }, /body\.amount must be <=/],
    ['an unknown field', { type: 'gcounter', op: 'increment', by: 2 }, /unknown property "by"/],
    ['no op', { type: 'gcounter' }, /must have "op"/],
    ['an array', [1, 2], /body must be object/],
  ])('refuses %s with 400 INVALID_REQUEST and changes nothing', async (_name, body, message) => {
    const { server, db } = await testServer()
    const res = await post(server.app.inject.bind(server.app), 'k', body)
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ error: { code: 'INVALID_REQUEST', message: expect.stringMatching(message) } })
    expect(await db.get('k')).toBeUndefined()
  })

  it('refuses bodies that are not JSON objects with 400 INVALID_REQUEST', async () => {
    const { server } = await testServer()
    const bad = await server.app.inject({ method: 'POST', url: kvPath('k'), payload: '{"type":', headers: { 'content-type': 'application/json' } })
    expect(bad.statusCode).toBe(400)
    expect(bad.json().error.code).toBe('INVALID_REQUEST')
    const text = await server.app.inject({ method: 'POST', url: kvPath('k'), payload: 'hello', headers: { 'content-type': 'text/plain' } })
    expect(text.statusCode).toBe(400)
    expect(text.json().error).toEqual({ code: 'INVALID_REQUEST', message: expect.stringContaining('Content-Type: application/json') })
  })

  it('answers 409 TYPE_MISMATCH for a write of another type, and keeps the value', async () => {
    const { server, db } = await testServer()
    const inject = server.app.inject.bind(server.app)
    await post(inject, 'visits', { type: 'pncounter', op: 'increment', amount: 4 })
    const res = await post(inject, 'visits', { type: 'orset', op: 'add', element: 'x' })
    expect(res.statusCode).toBe(409)
    expect(res.json().error.code).toBe('TYPE_MISMATCH')
    expect(res.json().error.message).toContain('db.counter')
    expect(await db.get('visits')).toMatchObject({ type: 'pncounter', value: 4 })
  })

  it('answers 413 TOO_LARGE for a body over 1 MiB and for a value over 64 KiB', async () => {
    const { server, db } = await testServer()
    const inject = server.app.inject.bind(server.app)
    const prefix = '{"type":"lww","op":"set","value":"'
    const suffix = '"}'
    const payload = prefix + 'x'.repeat(1024 * 1024 + 1 - prefix.length - suffix.length) + suffix
    expect(Buffer.byteLength(payload)).toBe(1024 * 1024 + 1)
    const huge = await inject({ method: 'POST', url: kvPath('big'), payload, headers: { 'content-type': 'application/json' } })
    expect(huge.statusCode).toBe(413)
    expect(huge.json().error.code).toBe('TOO_LARGE')

    const value = await post(inject, 'big', { type: 'lww', op: 'set', value: 'x'.repeat(65 * 1024) })
    expect(value.statusCode).toBe(413)
    expect(value.json().error).toEqual({ code: 'TOO_LARGE', message: expect.stringMatching(/64 KiB|65536/) })
    expect(await db.get('big')).toBeUndefined()
  })

  it('applies a write once per Idempotency-Key and replays the first result', async () => {
    const { server, db } = await testServer()
    const inject = server.app.inject.bind(server.app)
    const body = { type: 'pncounter', op: 'increment', amount: 5 }
    const headers = { 'idempotency-key': 'order-17' }
    const first = await post(inject, 'orders', body, { headers })
    const second = await post(inject, 'orders', body, { headers })
    expect(first.statusCode).toBe(200)
    expect(second.statusCode).toBe(200)
    expect(second.json()).toMatchObject({ key: 'orders', type: 'pncounter', value: 5, token: first.json().token, replayed: true })
    expect(first.json().replayed).toBeUndefined()
    expect(await db.get('orders')).toMatchObject({ value: 5 })

    // Without the header, the same body is a new increment.
    expect((await post(inject, 'orders', body)).json().value).toBe(10)
    // The same key for another write is a client mistake.
    const reused = await post(inject, 'orders', { type: 'pncounter', op: 'increment', amount: 6 }, { headers })
    expect(reused.statusCode).toBe(400)
    expect(reused.json().error.message).toContain('different write')
  })

  it('takes w and requireQuorum from the query string and validates them', async () => {
    const { server } = await testServer()
    const inject = server.app.inject.bind(server.app)
    const ok = await post(inject, 'k', { type: 'gcounter', op: 'increment' }, { query: 'w=1&requireQuorum=true' })
    expect(ok.statusCode).toBe(200)
    for (const query of ['w=0', 'w=two', 'requireQuorum=yes', 'w=1&w=2', 'x=1']) {
      const res = await post(inject, 'k', { type: 'gcounter', op: 'increment' }, { query })
      expect(res.statusCode, query).toBe(400)
      expect(res.json().error.code).toBe('INVALID_REQUEST')
    }
  })

  it('takes URL-encoded keys up to 1,024 UTF-8 bytes, slashes and emoji included', async () => {
    const { server, db } = await testServer()
    const inject = server.app.inject.bind(server.app)
    const keys = ['a/b c?d#e%f', 'ключ-🍎', 'é'.repeat(512), 'k'.repeat(1024)]
    for (const key of keys) {
      const res = await post(inject, key, { type: 'lww', op: 'set', value: key.length })
      expect(res.statusCode, key.slice(0, 20)).toBe(200)
      expect(res.json().key).toBe(key)
      expect(await db.get(key)).toMatchObject({ value: key.length })
    }
    for (const key of ['k'.repeat(1025), 'é'.repeat(513)]) {
      const res = await post(inject, key, { type: 'lww', op: 'set', value: 1 })
      expect(res.statusCode).toBe(400)
      expect(res.json().error).toEqual({ code: 'INVALID_REQUEST', message: expect.stringContaining('1024 bytes') })
    }
  })
})

describe('GET /v1/kv/:key', () => {
  it('reads a key with its type and replica count; 404 NOT_FOUND for a missing key', async () => {
    const { server } = await testServer()
    const inject = server.app.inject.bind(server.app)
    await post(inject, 'tags', { type: 'orset', op: 'add', element: 'b' })
    await post(inject, 'tags', { type: 'orset', op: 'add', element: 'a' })
    const res = await inject({ method: 'GET', url: `${kvPath('tags')}?r=1` })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ key: 'tags', type: 'orset', value: ['a', 'b'], replicas: 1 })

    const missing = await inject({ method: 'GET', url: kvPath('nope') })
    expect(missing.statusCode).toBe(404)
    expect(missing.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('"nope"') } })
  })

  it('reads its own write with the token a write returned; refuses a bad token with 400', async () => {
    const { server } = await testServer()
    const inject = server.app.inject.bind(server.app)
    const write = await post(inject, 'name', { type: 'lww', op: 'set', value: 'Ada' })
    const { token } = write.json() as { token: string }
    const read = await inject({ method: 'GET', url: `${kvPath('name')}?token=${encodeURIComponent(token)}` })
    expect(read.statusCode).toBe(200)
    expect(read.json()).toMatchObject({ key: 'name', type: 'lww', value: 'Ada' })

    const other = await post(inject, 'other', { type: 'lww', op: 'set', value: 1 })
    const wrongKey = await inject({ method: 'GET', url: `${kvPath('name')}?token=${encodeURIComponent(other.json().token)}` })
    expect(wrongKey.statusCode).toBe(400)
    expect(wrongKey.json().error.code).toBe('INVALID_TOKEN')
    const garbage = await inject({ method: 'GET', url: `${kvPath('name')}?token=not-a-token` })
    expect(garbage.statusCode).toBe(400)
    expect(garbage.json().error.message).toContain('session token')
  })

  it('answers 503 STALE_READ when the token names a write this node does not have', async () => {
    const { server: writer } = await testServer()
    const { server: reader } = await testServer()
    const write = await post(writer.app.inject.bind(writer.app), 'k', { type: 'gcounter', op: 'increment' })
    await post(reader.app.inject.bind(reader.app), 'k', { type: 'gcounter', op: 'increment' })
    const res = await reader.app.inject({ method: 'GET', url: `${kvPath('k')}?token=${encodeURIComponent(write.json().token)}` })
    expect(res.statusCode).toBe(503)
    expect(res.json().error.code).toBe('STALE_READ')
  })

  it('refuses a bad r with 400', async () => {
    const { server } = await testServer()
    const res = await server.app.inject({ method: 'GET', url: `${kvPath('k')}?r=-1` })
    expect(res.statusCode).toBe(400)
    expect(res.json().error).toEqual({ code: 'INVALID_REQUEST', message: 'querystring.r must be an integer from 1 to 999' })
  })
})

describe('GET /v1/keys', () => {
  it('lists keys with their types under a prefix, in key order, up to limit', async () => {
    const { server, db } = await testServer()
    await db.counter('cart:b').increment()
    await db.set('cart:a').add('x')
    await db.register('user:1').set('Ada')
    const inject = server.app.inject.bind(server.app)
    const all = await inject({ method: 'GET', url: '/v1/keys' })
    expect(all.json()).toEqual({
      keys: [
        { key: 'cart:a', type: 'orset' },
        { key: 'cart:b', type: 'pncounter' },
        { key: 'user:1', type: 'lww' },
      ],
    })
    const carts = await inject({ method: 'GET', url: '/v1/keys?prefix=cart%3A&limit=1' })
    expect(carts.json()).toEqual({ keys: [{ key: 'cart:a', type: 'orset' }] })
    const next = await inject({ method: 'GET', url: '/v1/keys?prefix=cart%3A&after=cart%3Aa' })
    expect(next.json()).toEqual({ keys: [{ key: 'cart:b', type: 'pncounter' }] })
  })

  it('defaults limit to 100 and refuses limits outside 1..10000', async () => {
    const { server, db } = await testServer()
    for (let i = 0; i < 105; i++) await db.gcounter(`k${String(i).padStart(3, '0')}`).increment()
    const inject = server.app.inject.bind(server.app)
    expect((await inject({ method: 'GET', url: '/v1/keys' })).json().keys).toHaveLength(100)
    expect((await inject({ method: 'GET', url: '/v1/keys?limit=10000' })).json().keys).toHaveLength(105)
    for (const limit of ['0', '10001', 'ten']) {
      const res = await inject({ method: 'GET', url: `/v1/keys?limit=${limit}` })
      expect(res.statusCode, limit).toBe(400)
      expect(res.json().error.message).toBe('querystring.limit must be an integer from 1 to 10000')
    }
  })
})

describe('DELETE /v1/kv/:key', () => {
  it('deletes a key of any type: it answers deleted, then reads 404, leaves /v1/keys, and takes a write of another type', async () => {
    const { server } = await testServer()
    const inject = server.app.inject.bind(server.app)
    await post(inject, 'cart', { type: 'orset', op: 'add', element: 'apple' })
    await post(inject, 'other', { type: 'gcounter', op: 'increment' })
    const res = await inject({ method: 'DELETE', url: kvPath('cart') })
    expect(res.statusCode, res.body).toBe(200)
    const { token, ...answer } = res.json()
    expect(answer).toEqual({ key: 'cart', deleted: true, acks: 1, quorum: true })
    expect((await inject({ method: 'GET', url: kvPath('cart') })).statusCode).toBe(404)
    // Its session token reads the delete (404), and is for this key only.
    expect((await inject({ method: 'GET', url: `${kvPath('cart')}?token=${token}` })).statusCode).toBe(404)
    expect((await inject({ method: 'GET', url: `${kvPath('other')}?token=${token}` })).json()).toMatchObject({ error: { code: 'INVALID_TOKEN' } })
    expect((await inject({ method: 'GET', url: '/v1/keys' })).json().keys.map((k: { key: string }) => k.key)).toEqual(['other'])
    expect((await post(inject, 'cart', { type: 'lww', op: 'set', value: 1 })).json()).toMatchObject({ type: 'lww', value: 1 })
    // A key that holds nothing: not an error, `deleted` says so.
    expect((await inject({ method: 'DELETE', url: kvPath('never') })).json()).toMatchObject({ key: 'never', deleted: false })
  })

  it('takes Idempotency-Key: a retry answers the first result and removes nothing written since', async () => {
    const { server, db } = await testServer()
    const inject = server.app.inject.bind(server.app)
    await post(inject, 's', { type: 'orset', op: 'add', element: 'a' })
    const headers = { 'idempotency-key': 'del-s-1' }
    const first = (await inject({ method: 'DELETE', url: kvPath('s'), headers })).json()
    expect(first).toMatchObject({ deleted: true, acks: 1 })
    await post(inject, 's', { type: 'orset', op: 'add', element: 'b' })
    expect((await inject({ method: 'DELETE', url: kvPath('s'), headers })).json()).toEqual({ key: 's', deleted: true, replayed: true, token: first.token })
    expect(await db.get('s')).toMatchObject({ value: ['b'] })
  })

  it('refuses unknown query parameters and bad w before deleting anything', async () => {
    const { server, db } = await testServer()
    const inject = server.app.inject.bind(server.app)
    await post(inject, 'k', { type: 'gcounter', op: 'increment' })
    for (const query of ['nope=1', 'w=0', 'requireQuorum=yes']) {
      const res = await inject({ method: 'DELETE', url: `${kvPath('k')}?${query}` })
      expect(res.statusCode, query).toBe(400)
      expect(res.json().error.code).toBe('INVALID_REQUEST')
    }
    // One replica: asking for two acknowledgements with requireQuorum is a 503, and the delete stays.
    const strict = await inject({ method: 'DELETE', url: `${kvPath('k')}?w=2&requireQuorum=true` })
    expect(strict.statusCode).toBe(503)
    expect(strict.json().error.code).toBe('QUORUM_NOT_MET')
    expect(await db.get('k')).toBeUndefined()
  })
})

describe('maps over HTTP', () => {
  it('writes a field by path, reads the whole document, removes a field', async () => {
    const { server } = await testServer()
    const inject = server.app.inject.bind(server.app)
    const update = (path: string[], field: object) => post(inject, 'doc', { type: 'map', op: 'update', path, update: field })
    expect((await update(['likes'], { type: 'pncounter', op: 'increment', amount: 2 })).json()).toMatchObject({ key: 'doc', type: 'map', value: { likes: 2 }, acks: 1 })
    await update(['name'], { type: 'lww', op: 'set', value: 'Ada' })
    await update(['tags'], { type: 'orset', op: 'add', element: 'math' })
    const nested = await update(['address', 'city'], { type: 'lww', op: 'set', value: 'London' })
    expect(nested.statusCode, nested.body).toBe(200)
    const read = await inject({ method: 'GET', url: kvPath('doc') })
    expect(read.json()).toEqual({ key: 'doc', type: 'map', value: { address: { city: 'London' }, likes: 2, name: 'Ada', tags: ['math'] }, replicas: 1 })
    const removed = await post(inject, 'doc', { type: 'map', op: 'remove', path: ['likes'] })
    expect(removed.json()).toMatchObject({ value: { address: { city: 'London' }, name: 'Ada', tags: ['math'] } })
    // A field of another type: 409, nothing written.
    const mismatch = await update(['name'], { type: 'pncounter', op: 'increment' })
    expect(mismatch.statusCode).toBe(409)
    expect(mismatch.json().error.message).toMatch(/map field "name" holds an LWW register \(lww\), not a PN-counter \(pncounter\)/)
  })

  it('refuses malformed map writes with a 400 that names the problem, before writing anything', async () => {
    const { server, db } = await testServer()
    const inject = server.app.inject.bind(server.app)
    const cases: [object, RegExp][] = [
      [{ type: 'map', op: 'update', path: ['a'] }, /must have "update"/],
      [{ type: 'map', op: 'update', update: { type: 'gcounter', op: 'increment' } }, /must have "path"/],
      [{ type: 'map', op: 'update', path: [], update: { type: 'gcounter', op: 'increment' } }, /path must have at least 1 item/],
      [{ type: 'map', op: 'update', path: ['a'], update: { type: 'map', op: 'update' } }, /body\.update\.type must be one of "gcounter", "pncounter", "orset", "lww"/],
      [{ type: 'map', op: 'update', path: ['a'], update: { type: 'orset', op: 'set', value: 1 } }, /body\.update\.op must be one of "add", "remove" for type orset/],
      [{ type: 'map', op: 'remove', path: ['a'], update: { type: 'gcounter', op: 'increment' } }, /body\.update is not allowed/],
      [{ type: 'map', op: 'set', path: ['a'] }, /body\.op must be one of "update", "remove" for type map/],
      [{ type: 'gcounter', op: 'increment', path: ['a'] }, /body\.path is not allowed for type gcounter/],
      [{ type: 'map', op: 'update', path: ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'], update: { type: 'gcounter', op: 'increment' } }, /path must have at most 8 items/],
    ]
    for (const [body, message] of cases) {
      const res = await post(inject, 'doc', body)
      expect(res.statusCode, JSON.stringify(body)).toBe(400)
      expect(res.json().error.message, JSON.stringify(body)).toMatch(message)
    }
    expect(await db.get('doc')).toBeUndefined()
  })
})
