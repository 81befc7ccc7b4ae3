// `ttl` over HTTP (issue 14): a write's body may give the key a time to live; the key then
// reads 404 and leaves /v1/keys once it is due; bad values are 400s that name the field and
// change nothing; batch items take their own ttl. The database's clock is moved, not waited for.
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/index.js'
import { movedClock } from '../fixtures/moved-clock.js'
import { closeAll, kvPath, tempDir, testServer, track } from './http-harness.js'

afterEach(closeAll)

async function serverWithClock() {
  const { clock, moved } = movedClock()
  const db = track(await openDatabase({ dataDir: join(tempDir(), 'data'), clock }))
  const { server } = await testServer({ db })
  return { inject: server.app.inject.bind(server.app), moved }
}

describe('ttl over HTTP', () => {
  it('a write with ttl expires the key: GET is 404 and /v1/keys leaves it out; a later ttl renews it', async () => {
    const { inject, moved } = await serverWithClock()
    const res = await inject({ method: 'POST', url: kvPath('session'), payload: { type: 'lww', op: 'set', value: { user: 'ada' }, ttl: 30_000 } })
    expect(res.statusCode, res.body).toBe(200)
    expect(res.json()).toMatchObject({ key: 'session', type: 'lww', value: { user: 'ada' } })
    moved.ms = 20_000
    await inject({ method: 'POST', url: kvPath('session'), payload: { type: 'lww', op: 'set', value: { user: 'ada' }, ttl: 30_000 } })
    moved.ms = 40_000
    expect((await inject({ method: 'GET', url: kvPath('session') })).json()).toMatchObject({ type: 'lww', value: { user: 'ada' } })
    moved.ms = 50_000
    const gone = await inject({ method: 'GET', url: kvPath('session') })
    expect(gone.statusCode).toBe(404)
    expect((await inject({ method: 'GET', url: '/v1/keys' })).json().keys).toEqual([])
  })

  it('a map update carries the ttl on the body, not on the field write', async () => {
    const { inject, moved } = await serverWithClock()
    const ok = await inject({ method: 'POST', url: kvPath('doc'), payload: { type: 'map', op: 'update', path: ['n'], update: { type: 'pncounter', op: 'increment' }, ttl: 1_000 } })
    expect(ok.statusCode, ok.body).toBe(200)
    const nested = await inject({ method: 'POST', url: kvPath('doc'), payload: { type: 'map', op: 'update', path: ['n'], update: { type: 'pncounter', op: 'increment', ttl: 5 } } })
    expect(nested.statusCode).toBe(400)
    moved.ms = 1_000
    expect((await inject({ method: 'GET', url: kvPath('doc') })).statusCode).toBe(404)
  })

  it('refuses a ttl that is not a whole number of milliseconds from 1 to 2^40 with a 400 naming it, and writes nothing', async () => {
    const { inject } = await serverWithClock()
    for (const ttl of [0, -5, 1.5, '1000', 2 ** 41, null]) {
      const res = await inject({ method: 'POST', url: kvPath('c'), payload: { type: 'pncounter', op: 'increment', ttl } })
      expect(res.statusCode, JSON.stringify(ttl)).toBe(400)
      expect(res.json().error.message).toMatch(/ttl/)
    }
    expect((await inject({ method: 'GET', url: kvPath('c') })).statusCode).toBe(404)
  })

  it('batch items take their own ttl', async () => {
    const { inject, moved } = await serverWithClock()
    const res = await inject({
      method: 'POST',
      url: '/v1/batch',
      payload: { writes: [{ key: 'short', type: 'gcounter', op: 'increment', ttl: 1_000 }, { key: 'long', type: 'gcounter', op: 'increment', ttl: 60_000 }, { key: 'forever', type: 'gcounter', op: 'increment' }] },
    })
    expect(res.statusCode, res.body).toBe(200)
    moved.ms = 2_000
    expect((await inject({ method: 'GET', url: '/v1/keys' })).json().keys.map((k: { key: string }) => k.key)).toEqual(['forever', 'long'])
    moved.ms = 61_000
    expect((await inject({ method: 'GET', url: '/v1/keys' })).json().keys.map((k: { key: string }) => k.key)).toEqual(['forever'])
  })
})
