// A key in a type conflict over HTTP: GET answers 409 TYPE_CONFLICT with every side's value,
// POST /v1/kv/:key/resolve keeps one type, and the CLI shows both sides. The conflict is made
// here the way a healed partition makes it: a state of another type merged into the key.
import { afterEach, describe, expect, it } from 'vitest'
import { GCounter } from '../../crdts/index.js'
import { closeAll, testServer } from './http-harness.js'

afterEach(closeAll)

async function conflicted() {
  const { db, server } = await testServer()
  await db.set('cart').add('apple')
  // What the other side of a partition wrote: a counter under the same key.
  await db.replica.merge('cart', GCounter.encode(GCounter.increment(GCounter.empty(), 'other-node', 4)))
  return { db, server }
}

describe('type conflicts over HTTP', () => {
  it('GET answers 409 TYPE_CONFLICT with both sides; resolve keeps one; reads work again', async () => {
    const { server } = await conflicted()
    const read = await server.app.inject({ method: 'GET', url: '/v1/kv/cart' })
    expect(read.statusCode).toBe(409)
    expect(read.json().error).toMatchObject({
      code: 'TYPE_CONFLICT',
      values: [
        { type: 'gcounter', value: 4 },
        { type: 'orset', value: ['apple'] },
      ],
    })
    expect(read.json().error.message).toContain('/resolve')

    const wrong = await server.app.inject({ method: 'POST', url: '/v1/kv/cart/resolve', payload: { keep: 'lww' } })
    expect(wrong.statusCode).toBe(409)
    expect(wrong.json().error.code).toBe('TYPE_MISMATCH')
    const invalid = await server.app.inject({ method: 'POST', url: '/v1/kv/cart/resolve', payload: { keep: 'hashmap' } })
    expect(invalid.statusCode).toBe(400)

    const resolved = await server.app.inject({ method: 'POST', url: '/v1/kv/cart/resolve', payload: { keep: 'orset' } })
    expect(resolved.statusCode).toBe(200)
    expect(resolved.json()).toEqual({ key: 'cart', type: 'orset', value: ['apple'], acks: 1, quorum: true })
    const after = await server.app.inject({ method: 'GET', url: '/v1/kv/cart' })
    expect(after.statusCode).toBe(200)
    expect(after.json()).toMatchObject({ type: 'orset', value: ['apple'] })
    const counter = await server.app.inject({ method: 'POST', url: '/v1/kv/cart', payload: { type: 'gcounter', op: 'increment' } })
    expect(counter.statusCode).toBe(409)
    expect(counter.json().error.code).toBe('TYPE_MISMATCH')
  })

  it('the embedded scan lists a conflicted key with every side', async () => {
    const { db } = await conflicted()
    const entries = []
    for await (const e of db.scan()) entries.push(e)
    expect(entries).toEqual([
      { key: 'cart', type: 'gcounter', value: 4, conflict: [{ type: 'gcounter', value: 4 }, { type: 'orset', value: ['apple'] }] },
    ])
    await db.resolve('cart', 'gcounter')
    expect(await db.gcounter('cart').value()).toBe(4)
  })
})
