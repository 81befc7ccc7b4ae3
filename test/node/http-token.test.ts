// GET /v1/kv/:key?token=… with a session token whose header is fine but whose witness is
// garbage: a client mistake, so 400 INVALID_TOKEN, never 500.
import { afterEach, describe, expect, it } from 'vitest'
import { closeAll, kvPath, testServer } from './http-harness.js'

afterEach(closeAll)

/** Version, type tag and the 8-byte key hash come before the witness. */
const HEADER_BYTES = 10

function withWitness(token: string, change: (witness: Uint8Array) => Uint8Array): string {
  const bytes = new Uint8Array(Buffer.from(token, 'base64url'))
  const witness = change(bytes.slice(HEADER_BYTES))
  return Buffer.concat([bytes.subarray(0, HEADER_BYTES), witness]).toString('base64url')
}

async function writeAndRead(body: object) {
  const { server } = await testServer()
  const inject = server.app.inject.bind(server.app)
  const write = await inject({ method: 'POST', url: kvPath('k'), payload: body })
  expect(write.statusCode, write.body).toBe(200)
  const read = (token: string) => inject({ method: 'GET', url: `${kvPath('k')}?token=${encodeURIComponent(token)}` })
  return { token: (write.json() as { token: string }).token, read }
}

describe('GET /v1/kv/:key with a session token', () => {
  it.each([
    ['gcounter', { type: 'gcounter', op: 'increment', amount: 2 }],
    ['pncounter', { type: 'pncounter', op: 'decrement' }],
    ['orset', { type: 'orset', op: 'add', element: 'apple' }],
    ['lww', { type: 'lww', op: 'set', value: 'Ada' }],
  ])('answers 400 INVALID_TOKEN for a %s token whose witness is truncated or flipped', async (_type, body) => {
    const { token, read } = await writeAndRead(body)
    for (const change of [(w: Uint8Array) => w.subarray(0, w.length - 1), (w: Uint8Array) => w.map((b) => b ^ 0xff)]) {
      const res = await read(withWitness(token, change))
      expect(res.statusCode, res.body).toBe(400)
      expect(res.json()).toEqual({ error: { code: 'INVALID_TOKEN', message: expect.stringMatching(/session token.*witness/) } })
    }
  })

  it('answers 400 INVALID_TOKEN for a token that is not one at all, or is for another key', async () => {
    const { token, read } = await writeAndRead({ type: 'lww', op: 'set', value: 'Ada' })
    const { server } = await testServer()
    const other = await server.app.inject({ method: 'POST', url: kvPath('other'), payload: { type: 'lww', op: 'set', value: 1 } })
    for (const bad of ['not-a-token', token.slice(0, 4), other.json().token as string]) {
      const res = await read(bad)
      expect(res.statusCode, bad).toBe(400)
      expect(res.json().error.code).toBe('INVALID_TOKEN')
    }
  })

  it('still reads its own write with the token the write returned', async () => {
    const { token, read } = await writeAndRead({ type: 'pncounter', op: 'increment', amount: 3 })
    const res = await read(token)
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toEqual({ key: 'k', type: 'pncounter', value: 3, replicas: 1 })
  })
})
