// Reading a big set a page at a time (issue 13): the embedded API (`values({ after, limit })`,
// `size()`, `elements()`, `db.get` with `after` / `limit`), GET /v1/kv/:key?after=&limit=
// and `rumordb get --limit --after`, on a local database behind a real HTTP server.
import { afterEach, describe, expect, it } from 'vitest'
import { canonicalJson, type JsonValue } from '../../crdts/index.js'
import { buildProgram } from '../../node/cli/program.js'
import { outcomeId } from '../../src/replica/idempotency.js'
import { closeAll, kvPath, testServer } from './http-harness.js'

afterEach(closeAll)

async function rumordb(...args: string[]): Promise<string[]> {
  const lines: string[] = []
  await buildProgram((line) => lines.push(line)).parseAsync(args, { from: 'user' })
  return lines
}

/** 2,500 elements of three JSON kinds, in the set's order (canonical JSON, UTF-16 code units). */
const ELEMENTS: JsonValue[] = Array.from({ length: 2_500 }, (_, i): JsonValue => (i % 3 === 0 ? i : i % 3 === 1 ? `s${i}` : { id: i }))
const ORDERED = [...ELEMENTS].sort((a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : 1))

describe('a set read in pages', () => {
  it('through the embedded API: pages in order from any element, size, every element once', async () => {
    const { db } = await testServer()
    const set = db.set('big')
    await Promise.all(ELEMENTS.map((e) => set.add(e)))
    expect(await set.size()).toBe(2_500)
    expect(await set.values({ limit: 3 })).toEqual(ORDERED.slice(0, 3))
    expect(await set.values({ after: ORDERED[999], limit: 2 })).toEqual(ORDERED.slice(1000, 1002))
    // `after` need not be in the set: the page starts where it would sort.
    expect(await set.values({ after: 's2', limit: 1 })).toEqual([ORDERED.find((e) => canonicalJson(e) > canonicalJson('s2'))])
    expect(await set.values({ after: ORDERED[2_499] })).toEqual([])
    const seen: JsonValue[] = []
    for await (const e of set.elements({ pageSize: 700 })) seen.push(e)
    expect(seen).toEqual(ORDERED)
    const got = await db.get('big', { limit: 1_000 })
    expect(got).toMatchObject({ type: 'orset', size: 2_500, next: ORDERED[999] })
    expect(got?.value).toEqual(ORDERED.slice(0, 1000))
    const last = await db.get('big', { after: ORDERED[1_999], limit: 1_000 })
    expect(last?.value).toEqual(ORDERED.slice(2000))
    expect(last?.next).toBeUndefined()
    await db.counter('n').increment()
    await expect(db.get('n', { limit: 10 })).rejects.toThrow(/page the elements of a set, but "n" holds a pncounter/)
    await expect(set.values({ limit: -1 })).rejects.toThrow(/limit/)
    await expect(set.values({ after: undefined, limit: 1.5 })).rejects.toThrow(/limit/)
  })

  it('over HTTP and the CLI: size and next, the next page from next, bad input refused', async () => {
    const { server, db } = await testServer()
    await Promise.all(ELEMENTS.slice(0, 30).map((e) => db.set('cart').add(e)))
    const ordered = [...ELEMENTS.slice(0, 30)].sort((a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : 1))
    const inject = server.app.inject.bind(server.app)
    const first = await inject({ method: 'GET', url: `${kvPath('cart')}?limit=10` })
    expect(first.statusCode, first.body).toBe(200)
    expect(first.json()).toMatchObject({ key: 'cart', type: 'orset', value: ordered.slice(0, 10), size: 30, next: ordered[9] })
    const after = encodeURIComponent(JSON.stringify(first.json().next))
    const second = await inject({ method: 'GET', url: `${kvPath('cart')}?limit=25&after=${after}` })
    expect(second.json()).toEqual({ key: 'cart', type: 'orset', value: ordered.slice(10), replicas: 1, size: 30 })
    const whole = await inject({ method: 'GET', url: kvPath('cart') })
    expect(whole.json()).toEqual({ key: 'cart', type: 'orset', value: ordered, replicas: 1 })
    const badAfter = await inject({ method: 'GET', url: `${kvPath('cart')}?after=not-json` })
    expect(badAfter.statusCode).toBe(400)
    expect(badAfter.json().error.message).toMatch(/after must be an element of the set as JSON/)
    for (const limit of ['0', '-1', 'x']) expect((await inject({ method: 'GET', url: `${kvPath('cart')}?limit=${limit}` })).statusCode).toBe(400)
    await db.register('name').set('Ada')
    const notSet = await inject({ method: 'GET', url: `${kvPath('name')}?limit=5` })
    expect(notSet.statusCode).toBe(400)

    const { url } = await server.listen()
    const lines = await rumordb('--node', url, 'get', 'cart', '--limit', '2')
    expect(lines[0]).toMatch(/^cart \(orset\) = .*\(2 of 30 elements\)$/)
    expect(lines[1]).toBe(`next: --after '${JSON.stringify(ordered[1])}'`)
    const [json] = await rumordb('--node', url, '--json', 'get', 'cart', '--limit', '5', '--after', JSON.stringify(ordered[1]))
    expect(JSON.parse(json!)).toMatchObject({ value: ordered.slice(2, 7), size: 30, next: ordered[6] })
  })

  it('a write to a set of more than 1,000 elements answers its size, and a keyed one records no elements', async () => {
    const { server, db } = await testServer()
    const set = db.set('big')
    await Promise.all(ELEMENTS.slice(0, 1_000).map((e) => set.add(e)))
    const inject = server.app.inject.bind(server.app)
    const post = (element: JsonValue, idempotencyKey?: string) =>
      inject({ method: 'POST', url: kvPath('big'), payload: { type: 'orset', op: 'add', element }, headers: idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey } })
    // 1,000 elements: still answered whole, with the size.
    const small = (await post(ELEMENTS[0]!)).json()
    expect(small).toMatchObject({ size: 1_000 })
    expect(small.value).toHaveLength(1_000)
    const big = (await post('one more', 'add-one-more')).json()
    expect(big).toMatchObject({ key: 'big', type: 'orset', size: 1_001, acks: 1, quorum: true })
    expect(big.value).toBeUndefined()
    // The record of the keyed write holds the token and the size, not 1,001 elements.
    const record = db.replica.store.getIdempotency(outcomeId('add-one-more'), Date.now())
    expect(record?.length).toBeLessThan(300)
    await set.add('later')
    const replay = (await post('one more', 'add-one-more')).json()
    expect(replay).toEqual({ key: 'big', type: 'orset', size: 1_001, token: big.token, replayed: true })
    // Embedded, a replay's value is the set as it is now (it includes the write).
    const again = await set.add('one more', { idempotencyKey: 'add-one-more' })
    expect(again).toMatchObject({ replayed: true, size: 1_001, token: big.token })
    expect(again.value).toHaveLength(1_002)
    expect(again.value).toContain('one more')
    const { url } = await server.listen()
    const lines = await rumordb('--node', url, 'add', 'big', '"via the cli"')
    expect(lines[0]).toBe('big (orset) = (1003 elements; get big --limit N reads them)   [1 ack]')
  })
})
