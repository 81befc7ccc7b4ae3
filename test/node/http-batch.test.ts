// POST /v1/batch through app.inject on a local database, and once across two networked nodes.
import { afterEach, describe, expect, it } from 'vitest'
import { MAX_BATCH_BODY_BYTES, MAX_BATCH_WRITES } from '../../node/http/schemas.js'
import { openDatabase, type Database } from '../../src/index.js'
import { MemoryHub } from '../support/memory-hub.js'
import { until } from '../support/waits.js'
import { closeAll, kvPath, tempDir, testServer, track } from './http-harness.js'

afterEach(closeAll)

type Server = Awaited<ReturnType<typeof testServer>>['server']

function batch(server: Server, writes: unknown, options: { query?: string; headers?: Record<string, string> } = {}) {
  return server.app.inject({
    method: 'POST',
    url: `/v1/batch${options.query === undefined ? '' : `?${options.query}`}`,
    payload: { writes } as object,
    headers: options.headers,
  })
}

/** The value of one sample line of a Prometheus text exposition (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

/** Three valid writes of new keys, for batches that must be refused as a whole. */
const VALID = [
  { key: 'v0', type: 'gcounter', op: 'increment', amount: 2 },
  { key: 'v1', type: 'orset', op: 'add', element: 'x' },
  { key: 'v2', type: 'lww', op: 'set', value: 1 },
]

describe('POST /v1/batch', () => {
  it('applies writes of every type, answers each in request order, and they read back', async () => {
    const { server, db } = await testServer()
    const writes = [
      { key: 'likes', type: 'gcounter', op: 'increment', amount: 2 },
      { key: 'cart', type: 'orset', op: 'add', element: { sku: 'a' } },
      { key: 'stock', type: 'pncounter', op: 'decrement', amount: 3 },
      { key: 'name', type: 'lww', op: 'set', value: 'Ada' },
      { key: 'cart', type: 'orset', op: 'add', element: { sku: 'b' } },
      { key: 'visits', type: 'pncounter', op: 'increment' },
    ]
    const res = await batch(server, writes)
    expect(res.statusCode, res.body).toBe(200)
    const { results } = res.json()
    expect(results.map((r: { key: string; type: string }) => [r.key, r.type])).toEqual(writes.map((w) => [w.key, w.type]))
    for (const r of results) {
      expect(r).toMatchObject({ ok: true, acks: 1, quorum: true })
      expect(typeof r.token).toBe('string')
      expect(r.replayed).toBeUndefined()
    }
    expect(results[0].value).toBe(2)
    expect(results[2].value).toBe(-3)
    expect(results[3].value).toBe('Ada')
    expect(results[5].value).toBe(1)

    const read = async (key: string) => (await server.app.inject({ method: 'GET', url: kvPath(key) })).json()
    expect(await read('likes')).toMatchObject({ type: 'gcounter', value: 2 })
    expect(await read('stock')).toMatchObject({ type: 'pncounter', value: -3 })
    expect(await read('name')).toMatchObject({ type: 'lww', value: 'Ada' })
    expect((await read('cart')).value).toEqual([{ sku: 'a' }, { sku: 'b' }])
    // A token from a batch item is a session token like any other.
    expect(await db.get('likes', { token: results[0].token })).toMatchObject({ value: 2 })
  })

  it.each([
    ['a bad type/op pair', { key: 'k', type: 'gcounter', op: 'decrement' }, 400, /^body\.writes\[3\]\.op must be one of "increment" for type gcounter$/],
    ['a negative amount', { key: 'k', type: 'pncounter', op: 'increment', amount: -1 }, 400, /^body\.writes\[3\]\.amount must be >= 0/],
    ['an amount as a string', { key: 'k', type: 'gcounter', op: 'increment', amount: '2' }, 400, /^body\.writes\[3\]\.amount must be integer/],
    ['a set without its element', { key: 'k', type: 'orset', op: 'add' }, 400, /^body\.writes\[3\] must have "element" for type orset/],
    ['an element on a counter', { key: 'k', type: 'pncounter', op: 'increment', element: 1 }, 400, /^body\.writes\[3\]\.element is not allowed for type pncounter: it takes "amount"$/],
    ['an item without a key', { type: 'lww', op: 'set', value: 1 }, 400, /^body\.writes\[3\] must have "key"/],
    ['an unknown field', { key: 'k', type: 'lww', op: 'set', value: 1, expire: 5 }, 400, /^body\.writes\[3\] has an unknown property "expire"/],
    ['an empty key', { key: '', type: 'lww', op: 'set', value: 1 }, 400, /^body\.writes\[3\]\.key /],
    ['a key over 1,024 bytes', { key: 'é'.repeat(513), type: 'lww', op: 'set', value: 1 }, 400, /^body\.writes\[3\]\.key: invalid key: the key is 1026 bytes/],
    ['a value over 64 KiB', { key: 'k', type: 'lww', op: 'set', value: 'x'.repeat(65 * 1024) }, 413, /^body\.writes\[3\]\.value: .*65536 bytes/],
    ['an element over 64 KiB', { key: 'k', type: 'orset', op: 'add', element: ['x'.repeat(65 * 1024)] }, 413, /^body\.writes\[3\]\.element: /],
    ['a value nested too deep', { key: 'k', type: 'lww', op: 'set', value: JSON.parse('['.repeat(200) + ']'.repeat(200)) }, 400, /^body\.writes\[3\]\.value: .*nested/],
    ['an empty idempotency key', { key: 'k', type: 'lww', op: 'set', value: 1, idempotencyKey: '' }, 400, /^body\.writes\[3\]\.idempotencyKey /],
    ['a repeated idempotency key', { key: 'k', type: 'lww', op: 'set', value: 1, idempotencyKey: 'dup' }, 400, /^body\.writes\[3\]\.idempotencyKey repeats body\.writes\[1\]\.idempotencyKey/],
  ])('refuses a batch with %s in item 3, naming it, and writes nothing', async (_name, bad, status, message) => {
    const { server, db } = await testServer()
    const writes = [VALID[0], { ...VALID[1], idempotencyKey: 'dup' }, VALID[2], bad, { key: 'after', type: 'gcounter', op: 'increment' }]
    const res = await batch(server, writes)
    expect(res.statusCode, res.body).toBe(status)
    expect(res.json()).toEqual({ error: { code: status === 413 ? 'TOO_LARGE' : 'INVALID_REQUEST', message: expect.stringMatching(message) } })
    for (const key of ['v0', 'v1', 'v2', 'k', 'after']) {
      expect((await server.app.inject({ method: 'GET', url: kvPath(key) })).statusCode, key).toBe(404)
    }
    expect(db.keys()).toEqual([])
  })

  it(`refuses an empty batch, a batch of ${MAX_BATCH_WRITES + 1} writes, and a body without writes`, async () => {
    const { server, db } = await testServer()
    const empty = await batch(server, [])
    expect(empty.statusCode).toBe(400)
    expect(empty.json().error).toEqual({ code: 'INVALID_REQUEST', message: 'body.writes must have at least 1 item' })

    const many = Array.from({ length: MAX_BATCH_WRITES + 1 }, (_, i) => ({ key: `k${i}`, type: 'gcounter', op: 'increment' }))
    const tooMany = await batch(server, many)
    expect(tooMany.statusCode).toBe(400)
    expect(tooMany.json().error).toEqual({ code: 'INVALID_REQUEST', message: expect.stringContaining(`body.writes must have at most ${MAX_BATCH_WRITES} items`) })
    expect(db.keys()).toEqual([])

    for (const payload of [{}, { writes: VALID[0] }, { writes: [VALID[0]], w: 2 }]) {
      const res = await server.app.inject({ method: 'POST', url: '/v1/batch', payload })
      expect(res.statusCode, JSON.stringify(payload)).toBe(400)
      expect(res.json().error.code).toBe('INVALID_REQUEST')
    }
    expect(db.keys()).toEqual([])

    // Exactly the limit is fine.
    const full = await batch(server, many.slice(0, MAX_BATCH_WRITES))
    expect(full.statusCode).toBe(200)
    expect(full.json().results).toHaveLength(MAX_BATCH_WRITES)
    expect(db.keys({ limit: 2000 })).toHaveLength(MAX_BATCH_WRITES)
  })

  it('takes 1,000 writes of 8 KiB values (over the single-write body limit), and answers 413 TOO_LARGE past its own limit', async () => {
    const { server, db } = await testServer()
    const value = 'v'.repeat(8 * 1024)
    const writes = Array.from({ length: MAX_BATCH_WRITES }, (_, i) => ({ key: `k${i}`, type: 'lww', op: 'set', value }))
    const res = await batch(server, writes)
    expect(res.statusCode).toBe(200)
    expect(res.json().results.every((r: { ok: boolean }) => r.ok)).toBe(true)
    expect(await db.get('k999')).toMatchObject({ value })

    const prefix = '{"writes":[{"key":"big","type":"lww","op":"set","value":"'
    const suffix = '"}]}'
    const payload = prefix + 'x'.repeat(MAX_BATCH_BODY_BYTES + 1 - prefix.length - suffix.length) + suffix
    const huge = await server.app.inject({ method: 'POST', url: '/v1/batch', payload, headers: { 'content-type': 'application/json' } })
    expect(huge.statusCode).toBe(413)
    expect(huge.json().error).toEqual({ code: 'TOO_LARGE', message: expect.stringContaining('16 MiB') })
    expect(await db.get('big')).toBeUndefined()
  })

  it('answers a write refused by the database as an ok:false item, and applies the others', async () => {
    const { server, db } = await testServer()
    await db.register('name').set('Ada')
    const res = await batch(server, [
      { key: 'a', type: 'gcounter', op: 'increment', amount: 2 },
      { key: 'name', type: 'gcounter', op: 'increment', amount: 5 },
      { key: 'b', type: 'orset', op: 'add', element: 'x' },
    ])
    expect(res.statusCode).toBe(200)
    const { results } = res.json()
    expect(results[0]).toMatchObject({ key: 'a', type: 'gcounter', ok: true, value: 2 })
    expect(results[1]).toEqual({
      key: 'name',
      type: 'gcounter',
      ok: false,
      error: { code: 'TYPE_MISMATCH', message: expect.stringContaining('db.register') },
    })
    expect(results[2]).toMatchObject({ key: 'b', type: 'orset', ok: true, value: ['x'] })
    expect(await db.get('name')).toMatchObject({ type: 'lww', value: 'Ada' })
    expect(await db.get('a')).toMatchObject({ value: 2 })
    expect(await db.get('b')).toMatchObject({ value: ['x'] })
  })

  it('applies w and requireQuorum to every item: QUORUM_NOT_MET per item, the writes stay', async () => {
    const { server, db } = await testServer()
    const writes = [
      { key: 'a', type: 'gcounter', op: 'increment' },
      { key: 'b', type: 'gcounter', op: 'increment' },
    ]
    const strict = await batch(server, writes, { query: 'w=2&requireQuorum=true' })
    expect(strict.statusCode).toBe(200)
    for (const r of strict.json().results) {
      expect(r).toMatchObject({ ok: false, error: { code: 'QUORUM_NOT_MET', acks: 1, required: 2 } })
    }
    expect(await db.get('a')).toMatchObject({ value: 1 })
    const lenient = await batch(server, writes, { query: 'w=2' })
    expect(lenient.json().results.map((r: { quorum: boolean }) => r.quorum)).toEqual([false, false])
    for (const query of ['w=0', 'requireQuorum=yes', 'x=1']) expect((await batch(server, writes, { query })).statusCode, query).toBe(400)
  })

  it('applies a write once per idempotencyKey and replays it in a later batch', async () => {
    const { server, db } = await testServer()
    const writes = [
      { key: 'orders', type: 'pncounter', op: 'increment', amount: 5, idempotencyKey: 'order-17' },
      { key: 'orders', type: 'pncounter', op: 'increment', amount: 1 },
    ]
    const first = (await batch(server, writes)).json().results
    expect(first.map((r: { ok: boolean }) => r.ok)).toEqual([true, true])
    expect(first[0].replayed).toBeUndefined()
    expect(await db.get('orders')).toMatchObject({ value: 6 })

    const second = (await batch(server, writes)).json().results
    expect(second[0]).toMatchObject({ key: 'orders', ok: true, replayed: true, token: first[0].token })
    expect(second[1]).toMatchObject({ ok: true, value: 7 })
    expect(await db.get('orders')).toMatchObject({ value: 7 })

    // The key already names another write: refused per item, like the single route's 400.
    const reused = (await batch(server, [{ key: 'orders', type: 'pncounter', op: 'increment', amount: 9, idempotencyKey: 'order-17' }])).json()
    expect(reused.results[0]).toMatchObject({ ok: false, error: { code: 'INVALID_REQUEST', message: expect.stringContaining('different write') } })
    expect(await db.get('orders')).toMatchObject({ value: 7 })

    // A header would suggest the batch as a whole is retry-safe: refused.
    const header = await batch(server, [writes[1]], { headers: { 'idempotency-key': 'b-1' } })
    expect(header.statusCode).toBe(400)
    expect(header.json().error.message).toContain('"idempotencyKey"')
    expect(await db.get('orders')).toMatchObject({ value: 7 })
  })

  it('counts every item in the operation metrics', async () => {
    const { server, db } = await testServer()
    await db.register('name').set('Ada')
    await batch(server, [
      { key: 'a', type: 'pncounter', op: 'increment' },
      { key: 'a', type: 'pncounter', op: 'decrement' },
      { key: 'b', type: 'pncounter', op: 'increment' },
      { key: 'name', type: 'orset', op: 'add', element: 1 },
    ])
    const text = (await server.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(sample(text, 'rumordb_operations_total{type="pncounter",op="increment",outcome="ok"}')).toBe(2)
    expect(sample(text, 'rumordb_operations_total{type="pncounter",op="decrement",outcome="ok"}')).toBe(1)
    expect(sample(text, 'rumordb_operations_total{type="orset",op="add",outcome="type_mismatch"}')).toBe(1)
    expect(sample(text, 'rumordb_write_acks_count')).toBe(3)
    expect(sample(text, 'rumordb_http_request_duration_seconds_count{method="POST",route="/v1/batch",status_code="200"}')).toBe(1)
  })

  it('requires the bearer token when the server has one, before reading the body', async () => {
    const { server, db } = await testServer({ httpToken: 's3cret' })
    const writes = [VALID[0]]
    const refused = await batch(server, writes)
    expect(refused.statusCode).toBe(401)
    expect(refused.json().error.code).toBe('UNAUTHORIZED')
    expect((await batch(server, writes, { headers: { authorization: 'Bearer wrong' } })).statusCode).toBe(401)
    expect(await db.get('v0')).toBeUndefined()
    const accepted = await batch(server, writes, { headers: { authorization: 'Bearer s3cret' } })
    expect(accepted.statusCode).toBe(200)
    expect(await db.get('v0')).toMatchObject({ value: 2 })
  })
})

describe('POST /v1/batch on a cluster', () => {
  it('a batch written on node A with w=2 reads back with r=2 from node B', async () => {
    const hub = new MemoryHub()
    const engine = { heartbeatIntervalMs: 50, antiEntropyIntervalMs: 100, handoffIntervalMs: 100 }
    const open = async (id: string): Promise<Database> =>
      track(await openDatabase({ dataDir: tempDir(), transport: hub.transport(id), engine }))
    const [a, b] = await Promise.all([open('node-a'), open('node-b')])
    const alive = (d: Database) => d.members().members.filter((m) => m.status === 'alive').length
    await until(() => alive(a) === 2 && alive(b) === 2, 'two alive members on both nodes')
    const { server: serverA } = await testServer({ db: a })
    const { server: serverB } = await testServer({ db: b })

    const writes = Array.from({ length: 50 }, (_, i) => ({ key: `user:${i}`, type: 'gcounter', op: 'increment', amount: i + 1 }))
    writes.push({ key: 'cart', type: 'orset', op: 'add', element: { sku: 'a' } } as never)
    const res = await batch(serverA, writes, { query: 'w=2&requireQuorum=true' })
    expect(res.statusCode, res.body).toBe(200)
    for (const r of res.json().results) expect(r).toMatchObject({ ok: true, acks: 2, quorum: true })

    for (const [i, key] of [[0, 'user:0'], [49, 'user:49']] as const) {
      const read = await serverB.app.inject({ method: 'GET', url: `${kvPath(key)}?r=2` })
      expect(read.statusCode).toBe(200)
      expect(read.json()).toEqual({ key, type: 'gcounter', value: i + 1, replicas: 2 })
    }
    const cart = await serverB.app.inject({ method: 'GET', url: `${kvPath('cart')}?r=2` })
    expect(cart.json()).toMatchObject({ type: 'orset', value: [{ sku: 'a' }], replicas: 2 })
  })
})
