// The HTTP API under requests it did not ask for: the framework's own refusals in the
// API's error shape without echoing long input, slow and abandoned requests closed, log
// levels that separate real failures from expected refusals, strict query strings, and a
// readiness check that knows when writes stop committing.
import { connect, type Socket } from 'node:net'
import { pino, type Logger } from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { httpFailureOf, InvalidHttpOptionError, logLevelOf } from '../../node/http/errors.js'
import { createHttpServer } from '../../node/http/server.js'
import {
  ClockSkewError,
  IdempotencyUnavailableError,
  QuorumNotMetError,
  StaleReadError,
  TypeConflictError,
  TypeMismatchError,
  WriteOutcomeUnknownError,
} from '../../src/index.js'
import { systemClock } from '../../src/base/clock.js'
import { systemRandom } from '../../src/base/random.js'
import { createDatabase } from '../../src/database/create-database.js'
import { InMemoryStore } from '../../src/store/index.js'
import { closeAll, kvPath, tempDatabase, testServer, track } from './http-harness.js'
import { within } from '../support/waits.js'

afterEach(closeAll)

/** The most of any request's text an error message may repeat (errors.ts). */
const ECHO_LIMIT = 200

interface LogLine {
  level: number
  msg: string
  err?: { stack?: string; message?: string }
  [field: string]: unknown
}

/** A pino logger at debug that keeps its lines; `next(match)` resolves with the first line that matches. */
function capturingLogger(): { logger: Logger; lines: LogLine[]; next: (match: (l: LogLine) => boolean) => Promise<LogLine> } {
  const lines: LogLine[] = []
  const waiting: { match: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = []
  const logger: Logger = pino(
    { level: 'debug' },
    {
      write: (text: string) => {
        const line = JSON.parse(text) as LogLine
        lines.push(line)
        for (const w of waiting.filter((w) => w.match(line))) {
          waiting.splice(waiting.indexOf(w), 1)
          w.resolve(line)
        }
      },
    },
  )
  const next = (match: (l: LogLine) => boolean): Promise<LogLine> => {
    const seen = lines.find(match)
    return seen !== undefined ? Promise.resolve(seen) : new Promise((resolve) => waiting.push({ match, resolve }))
  }
  return { logger, lines, next }
}

/** The JSON error of an answer, checked for the API's shape. */
async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const text = await res.text()
  const body = JSON.parse(text) as { error: { code: string; message: string } }
  expect(body, text).toEqual({ error: { code: expect.any(String), message: expect.any(String) } })
  return body.error
}

/** A raw connection to the server, with everything it received and a promise of its close. */
async function rawConnection(url: string): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  let text = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    text += chunk
  })
  socket.on('error', () => undefined)
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  return { socket, received: () => text, closed }
}

/** The JSON body of a raw HTTP/1.1 answer. */
function bodyOfRaw(raw: string): unknown {
  return JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))
}

describe("the framework's refusals", () => {
  it('answers a bad %-escape in a key with 400 INVALID_REQUEST in the error shape', async () => {
    const { server } = await testServer()
    const { url } = await server.listen()
    const res = await fetch(`${url}/v1/kv/%ff`)
    expect(res.status).toBe(400)
    const error = await errorOf(res)
    expect(error.code).toBe('INVALID_REQUEST')
    expect(error.message).toMatch(/encodeURIComponent/)
  })

  it('answers a 9 KB key path with 414 in the error shape, without echoing the URL', async () => {
    const { server } = await testServer()
    const { url } = await server.listen()
    const res = await fetch(`${url}/v1/kv/${'a'.repeat(9000)}`)
    expect(res.status).toBe(414)
    const error = await errorOf(res)
    expect(error.code).toBe('INVALID_REQUEST')
    expect(error.message).toMatch(/1,024/)
    expect(error.message.length).toBeLessThan(ECHO_LIMIT * 2)
  })

  it('answers unknown routes and methods with 404 in the error shape, echoing at most 200 characters of the path', async () => {
    const { server } = await testServer()
    const { url } = await server.listen()
    const long = await fetch(`${url}/v1/${'x'.repeat(9000)}`)
    expect(long.status).toBe(404)
    const error = await errorOf(long)
    expect(error.code).toBe('NOT_FOUND')
    expect(error.message.length).toBeLessThan(ECHO_LIMIT * 3)
    const wrongMethod = await fetch(`${url}/v1/keys`, { method: 'DELETE' })
    expect(wrongMethod.status).toBe(404)
    expect((await errorOf(wrongMethod)).message).toMatch(/no route DELETE "\/v1\/keys"/)
  })

  it('answers bad JSON, a missing content type and an oversize body in the error shape', async () => {
    const { server } = await testServer()
    const { url } = await server.listen()
    const json = { 'content-type': 'application/json' }
    const bad = await fetch(`${url}${kvPath('k')}`, { method: 'POST', headers: json, body: `{"type":${'9'.repeat(5000)}` })
    expect(bad.status).toBe(400)
    expect((await errorOf(bad)).message.length).toBeLessThan(ECHO_LIMIT * 2)
    const text = await fetch(`${url}${kvPath('k')}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' })
    expect(text.status).toBe(400)
    await errorOf(text)
    const big = await fetch(`${url}${kvPath('k')}`, { method: 'POST', headers: json, body: JSON.stringify({ type: 'lww', op: 'set', value: 'x'.repeat(2_000_000) }) })
    expect(big.status).toBe(413)
    expect((await errorOf(big)).code).toBe('TOO_LARGE')
  })

  it('does not echo a long unknown query parameter or body property whole', async () => {
    const { server } = await testServer()
    const { url } = await server.listen()
    const name = 'q'.repeat(5000)
    const query = await fetch(`${url}/v1/keys?${name}=1`)
    expect(query.status).toBe(400)
    expect((await errorOf(query)).message.length).toBeLessThan(ECHO_LIMIT * 2)
    const body = await fetch(`${url}${kvPath('k')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'pncounter', op: 'increment', [name]: 1 }),
    })
    expect(body.status).toBe(400)
    expect((await errorOf(body)).message.length).toBeLessThan(ECHO_LIMIT * 2)
  })
})

describe('query strings', () => {
  it.each(['/v1/members', '/v1/status', '/v1/sync', '/v1/keys', '/healthz', '/readyz', '/metrics', '/v1/kv/k'])(
    'GET %s refuses an unknown query parameter with 400',
    async (path) => {
      const { server } = await testServer()
      const res = await server.app.inject({ method: 'GET', url: `${path}?verbose=1` })
      expect(res.statusCode).toBe(400)
      expect(res.json()).toEqual({ error: { code: 'INVALID_REQUEST', message: expect.stringContaining('"verbose"') } })
    },
  )

  it.each([kvPath('k'), `${kvPath('k')}/resolve`, '/v1/batch'])('POST %s refuses an unknown query parameter with 400', async (path) => {
    const { server } = await testServer()
    const res = await server.app.inject({ method: 'POST', url: `${path}?wait=1`, payload: { keep: 'lww' } })
    expect(res.statusCode).toBe(400)
    expect(res.json().error.code).toBe('INVALID_REQUEST')
  })
})

describe('slow and abandoned requests', () => {
  it('answers 408 in the error shape and closes the connection when a body does not arrive in time', async () => {
    const { server } = await testServer({ timeouts: { requestMs: 500 } })
    const { url } = await server.listen()
    const conn = await rawConnection(url)
    conn.socket.write(`POST ${kvPath('k')} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":`)
    await within(conn.closed, 15_000, 'closing a connection whose body stalls')
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /)
    expect(bodyOfRaw(conn.received())).toEqual({ error: { code: 'TIMEOUT', message: expect.stringMatching(/0\.5 s/) } })
  })

  it('closes a connection whose headers never finish', async () => {
    const { server } = await testServer({ timeouts: { requestMs: 500 } })
    const { url } = await server.listen()
    const conn = await rawConnection(url)
    conn.socket.write('GET /v1/keys HTTP/1.1\r\nHost: x\r\nX-Slow: ')
    await within(conn.closed, 15_000, 'closing a connection whose headers stall')
    expect(conn.received()).toMatch(/^HTTP\/1\.1 408 /)
    expect(bodyOfRaw(conn.received())).toEqual({ error: { code: 'TIMEOUT', message: expect.stringContaining('headers') } })
  })

  it('on a token node, closes an unauthenticated connection after the 401 instead of waiting for its body', async () => {
    // The default request timeout (30 s) is far away: only the 401 may close it.
    const { server } = await testServer({ httpToken: 's3cret' })
    const { url } = await server.listen()
    const conn = await rawConnection(url)
    conn.socket.write(`POST ${kvPath('k')} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"type":`)
    await within(conn.closed, 10_000, 'closing an unauthenticated connection after its 401')
    expect(conn.received()).toMatch(/^HTTP\/1\.1 401 /)
    expect(bodyOfRaw(conn.received())).toEqual({ error: { code: 'UNAUTHORIZED', message: expect.any(String) } })
  })

  it('refuses a bearer token that could never match (a space, a control character, non-ASCII) without repeating it', async () => {
    const db = await tempDatabase()
    for (const httpToken of ['has space', 'tab\tbed', 'line\n', 'pässword']) {
      let message = ''
      try {
        createHttpServer({ db, httpToken, logger: false })
      } catch (err) {
        expect(err).toBeInstanceOf(InvalidHttpOptionError)
        message = (err as Error).message
      }
      expect(message).toMatch(/printable ASCII without spaces/)
      expect(message).not.toContain(httpToken)
    }
  })

  it('keeps a well-behaved keep-alive connection working', async () => {
    const { server } = await testServer({ timeouts: { requestMs: 500 } })
    const { url } = await server.listen()
    for (let i = 0; i < 3; i++) expect((await fetch(`${url}/healthz`)).status).toBe(200)
  })
})

describe('batch items with a bad idempotencyKey', () => {
  it.each([
    ['a lone surrogate', 'order-\ud800'],
    ['257 UTF-16 units in fewer code points', '😀'.repeat(129)],
  ])('refuses %s with 400 naming writes[i], and writes nothing', async (_name, id) => {
    const { db, server } = await testServer()
    const res = await server.app.inject({
      method: 'POST',
      url: '/v1/batch',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({
        writes: [
          { key: 'a', type: 'gcounter', op: 'increment' },
          { key: 'b', type: 'gcounter', op: 'increment', idempotencyKey: id },
        ],
      }),
    })
    expect(res.statusCode).toBe(400)
    expect(res.json()).toEqual({ error: { code: 'INVALID_REQUEST', message: expect.stringMatching(/^body\.writes\[1\]\.idempotencyKey/) } })
    expect(db.keys()).toEqual([])
  })
})

describe('log levels', () => {
  it('logs a client that hangs up mid-body at debug, not as an error', async () => {
    const { logger, lines, next } = capturingLogger()
    const { server } = await testServer({ logger })
    const { url } = await server.listen()
    const conn = await rawConnection(url)
    const logged = next((l) => /client closed|aborted/.test(l.msg))
    conn.socket.write(`POST ${kvPath('k')} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"type":`)
    // The server has the request once it parses its headers; then the client goes away.
    await new Promise<void>((resolve) => server.app.server.once('request', () => resolve()))
    conn.socket.destroy()
    const line = await within(logged, 15_000, 'logging the aborted request')
    expect(line).toMatchObject({ level: 20, msg: expect.stringMatching(/client closed/) })
    expect(line.err).toBeUndefined()
    expect(lines.filter((l) => l.level >= 40)).toEqual([])
  })

  it('logs expected refusals without a stack (4xx at info, 503 STALE_READ at warn) and INTERNAL at error with its stack', async () => {
    const { logger, lines } = capturingLogger()
    const { server } = await testServer({
      logger,
      extraRoutes: (app) =>
        app.get('/v1/_boom', async () => {
          throw new Error('disk on fire')
        }),
    })
    const write = { type: 'pncounter', op: 'increment' }
    await server.app.inject({ method: 'POST', url: kvPath('k'), payload: write })
    expect((await server.app.inject({ method: 'POST', url: kvPath('k'), payload: { type: 'lww', op: 'set', value: 1 } })).statusCode).toBe(409)
    // A token for a write this node never saw: STALE_READ.
    const { server: elsewhere } = await testServer()
    const foreign = (await elsewhere.app.inject({ method: 'POST', url: kvPath('k'), payload: write })).json().token as string
    expect((await server.app.inject({ method: 'GET', url: `${kvPath('k')}?token=${foreign}` })).statusCode).toBe(503)
    expect((await server.app.inject({ method: 'GET', url: '/v1/_boom' })).statusCode).toBe(500)

    const refusals = lines.filter((l) => /TYPE_MISMATCH|STALE_READ|INTERNAL/.test(l.msg))
    const byCode = (code: string) => refusals.find((l) => l.msg.startsWith(code))
    expect(byCode('TYPE_MISMATCH')).toMatchObject({ level: 30 })
    expect(byCode('STALE_READ')).toMatchObject({ level: 40 })
    expect(byCode('INTERNAL')).toMatchObject({ level: 50, err: { stack: expect.stringContaining('disk on fire') } })
    for (const line of [byCode('TYPE_MISMATCH'), byCode('STALE_READ')]) expect(line?.err).toBeUndefined()
    expect(lines.filter((l) => l.level >= 50)).toHaveLength(1)
  })
})

describe('logLevelOf', () => {
  it.each([
    ['QUORUM_NOT_MET', new QuorumNotMetError('k', 1, 2), 'warn'],
    ['STALE_READ', new StaleReadError('k'), 'warn'],
    ['OUTCOME_UNKNOWN', new WriteOutcomeUnknownError('k', 'peer-b'), 'warn'],
    ['IDEMPOTENCY_UNAVAILABLE', new IdempotencyUnavailableError('k', 1, 2), 'warn'],
    ['CLOCK_SKEW', new ClockSkewError('peer-b', 900, 500), 'warn'],
    ['TYPE_MISMATCH', new TypeMismatchError('k', 'orset', 'lww'), 'info'],
    ['TYPE_CONFLICT', new TypeConflictError('k', [{ type: 'lww', value: 1 }, { type: 'orset', value: [] }]), 'info'],
    ['a client that hung up', Object.assign(new Error('aborted'), { code: 'ECONNRESET' }), 'debug'],
    ['INTERNAL', new Error('disk on fire'), 'error'],
  ] as const)('%s → %s', (_name, err, level) => {
    expect(logLevelOf(err, httpFailureOf(err))).toBe(level)
  })
})

describe('/readyz and commits that fail', () => {
  /** A local database whose store fails every commit while `full.on`, as a full disk does. */
  async function databaseOnAFullDisk(): Promise<{ full: { on: boolean }; db: Awaited<ReturnType<typeof createDatabase>> }> {
    const full = { on: false }
    const store = new InMemoryStore({
      hooks: {
        beforeCommit: () => {
          if (full.on) throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' })
        },
      },
    })
    const db = track(await createDatabase({ store, clock: systemClock, random: systemRandom, location: 'memory:full-disk' }))
    return { full, db }
  }

  it('answers 503 naming the commit failure while writes fail, though its own small probe commits; ok again after a write commits', async () => {
    const { full, db } = await databaseOnAFullDisk()
    const { server } = await testServer({ db })
    const write = { type: 'orset', op: 'add', element: 'x'.repeat(10_000) }
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)

    full.on = true
    const failed = await server.app.inject({ method: 'POST', url: kvPath('cart'), payload: write })
    expect(failed.statusCode).toBe(500)
    // A real disk that is full still takes the probe's one-row write (SQLite reuses the
    // space of the WAL frames the failed transaction left): model that by letting commits
    // through again for the probe only; no real write has committed since the failure.
    full.on = false
    const ready = await server.app.inject({ method: 'GET', url: '/readyz' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toEqual({
      ok: false,
      failing: ['sqlite'],
      error: { code: 'NOT_READY', message: expect.stringMatching(/^sqlite: .*database or disk is full/) },
    })

    expect((await server.app.inject({ method: 'POST', url: kvPath('cart'), payload: write })).statusCode).toBe(200)
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)
  })

  it('also counts a failed write of a batch', async () => {
    const { full, db } = await databaseOnAFullDisk()
    const { server } = await testServer({ db })
    full.on = true
    const batch = await server.app.inject({ method: 'POST', url: '/v1/batch', payload: { writes: [{ key: 'a', type: 'gcounter', op: 'increment' }] } })
    expect(batch.statusCode).toBe(200)
    expect(batch.json().results[0]).toMatchObject({ ok: false, error: { code: 'INTERNAL' } })
    full.on = false
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503)
  })

  it('forgets a failure after a while without writes, so that an idle node can become ready again', async () => {
    let now = 1_000_000
    const { full, db } = await databaseOnAFullDisk()
    const { server } = await testServer({ db, now: () => now })
    full.on = true
    expect((await server.app.inject({ method: 'POST', url: kvPath('c'), payload: { type: 'gcounter', op: 'increment' } })).statusCode).toBe(500)
    full.on = false
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(503)
    now += 60_001
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)
  })
})
