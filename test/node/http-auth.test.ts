// Binding rules and the bearer token.
import { afterEach, describe, expect, it } from 'vitest'
import { isLoopbackHost } from '../../node/http/auth.js'
import { HttpTokenRequiredError, InvalidHttpOptionError } from '../../node/http/errors.js'
import { createHttpServer } from '../../node/http/server.js'
import { closeAll, kvPath, tempDatabase, testServer } from './http-harness.js'

afterEach(closeAll)

describe('isLoopbackHost', () => {
  it.each(['127.0.0.1', '127.8.9.10', '::1', '[::1]', 'localhost', 'LOCALHOST', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'])('%s is loopback', (host) => {
    expect(isLoopbackHost(host)).toBe(true)
  })
  it.each(['0.0.0.0', '::', '192.168.1.5', '128.0.0.1', '10.0.0.1', 'example.com', 'localhost.evil.com', '::ffff:10.0.0.1'])('%s is not', (host) => {
    expect(isLoopbackHost(host)).toBe(false)
  })
})

describe('createHttpServer bindings', () => {
  it('refuses a non-loopback host without a token, naming --http-token', async () => {
    const db = await tempDatabase()
    for (const host of ['0.0.0.0', '::', '192.168.1.5']) {
      expect(() => createHttpServer({ db, host, logger: false })).toThrow(HttpTokenRequiredError)
      expect(() => createHttpServer({ db, host, logger: false })).toThrow(/--http-token/)
    }
    expect(() => createHttpServer({ db, host: '0.0.0.0', httpToken: '', logger: false })).toThrow(InvalidHttpOptionError)
  })

  it('accepts a non-loopback host with a token (built, not bound, in this test)', async () => {
    const { server } = await testServer({ host: '0.0.0.0', httpToken: 's3cret' })
    expect((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
  })

  it('refuses bad ports', async () => {
    const db = await tempDatabase()
    for (const port of [-1, 65536, 1.5, Number.NaN]) {
      expect(() => createHttpServer({ db, port, logger: false })).toThrow(InvalidHttpOptionError)
    }
  })
})

describe('with a bearer token', () => {
  it('answers 401 UNAUTHORIZED without or with a wrong token, 200 with the right one; /healthz stays open', async () => {
    const { server } = await testServer({ httpToken: 's3cret' })
    const { url } = await server.listen()
    for (const path of ['/v1/keys', '/v1/members', '/v1/status', '/readyz', '/metrics', kvPath('k'), '/nope']) {
      const none = await fetch(`${url}${path}`)
      expect(none.status, path).toBe(401)
      expect(none.headers.get('www-authenticate')).toContain('Bearer')
      expect(await none.json()).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.stringContaining('Authorization: Bearer') } })
      const wrong = await fetch(`${url}${path}`, { headers: { authorization: 'Bearer s3cre' } })
      expect(wrong.status, path).toBe(401)
    }
    const basic = await fetch(`${url}/v1/keys`, { headers: { authorization: 'Basic s3cret' } })
    expect(basic.status).toBe(401)
    const ok = await fetch(`${url}/v1/keys`, { headers: { authorization: 'Bearer s3cret' } })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ keys: [] })
    expect((await fetch(`${url}/healthz`)).status).toBe(200)
  })

  it('checks the token before reading the body, and lets writes through with it', async () => {
    const { server, db } = await testServer({ httpToken: 's3cret' })
    const body = { type: 'gcounter', op: 'increment' }
    const refused = await server.app.inject({ method: 'POST', url: kvPath('k'), payload: body })
    expect(refused.statusCode).toBe(401)
    expect(await db.get('k')).toBeUndefined()
    const accepted = await server.app.inject({ method: 'POST', url: kvPath('k'), payload: body, headers: { authorization: 'bearer s3cret' } })
    expect(accepted.statusCode).toBe(200)
    expect(await db.get('k')).toMatchObject({ value: 1 })
  })
})
