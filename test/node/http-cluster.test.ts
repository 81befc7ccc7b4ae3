// /v1/members, /v1/status, /healthz, /readyz, /metrics; a networked single node for the
// errors only a cluster produces; and one server over a real socket.
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/index.js'
import { MemoryHub } from '../support/memory-hub.js'
import { closeAll, kvPath, tempDatabase, tempDir, testServer, track } from './http-harness.js'

afterEach(closeAll)

/** The value of one sample line of a Prometheus text exposition (undefined when absent). */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('GET /v1/members and /v1/status', () => {
  it('lists this node as the only alive member of a local database', async () => {
    const { server, db } = await testServer()
    const res = await server.app.inject({ method: 'GET', url: '/v1/members' })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ self: db.nodeId, members: [{ id: db.nodeId, addrs: [], status: 'alive', vnodes: 0 }] })
  })

  it('reports keys, hints, members and zeroed engine counters for a local database', async () => {
    const { server, db } = await testServer()
    await db.counter('a').increment()
    await db.counter('b').increment()
    const res = await server.app.inject({ method: 'GET', url: '/v1/status' })
    expect(res.statusCode).toBe(200)
    const body = res.json()
    expect(body).toMatchObject({ id: db.nodeId, networked: false, keys: 2, pendingHints: 0, members: { alive: 1, suspect: 0, left: 0 } })
    expect(body.antiEntropy).toMatchObject({ rounds: 0, keysSent: 0, keysReceived: 0 })
    expect(body.gossip).toMatchObject({ rumorsMerged: 0, bytesSent: 0 })
  })
})

describe('GET /v1/sync', () => {
  it('reports the digest of what the node holds; it changes with a write and not with a read', async () => {
    const { server, db } = await testServer()
    const before = (await server.app.inject({ method: 'GET', url: '/v1/sync' })).json()
    expect(before).toEqual({ digest: '0'.repeat(32), keys: 0, ranges: [{ replicas: [db.nodeId], keys: 0, digest: '0'.repeat(32) }], peers: [], synced: true, unreconciled: [] })
    await db.counter('a').increment()
    const after = (await server.app.inject({ method: 'GET', url: '/v1/sync' })).json()
    expect(after.keys).toBe(1)
    expect(after.digest).toMatch(/^[0-9a-f]{32}$/)
    expect(after.digest).not.toBe(before.digest)
    expect(after.ranges[0].digest).toBe(after.digest)
    await db.counter('a').value()
    expect((await server.app.inject({ method: 'GET', url: '/v1/sync' })).json()).toEqual(after)
  })
})

describe('a networked node alone in its cluster', () => {
  async function networkedServer() {
    const hub = new MemoryHub()
    const db = track(
      await openDatabase({
        dataDir: tempDir(),
        transport: hub.transport('node-a'),
        engine: { heartbeatIntervalMs: 50, antiEntropyIntervalMs: 100, handoffIntervalMs: 100 },
      }),
    )
    return testServer({ db })
  }

  it('answers 503 QUORUM_NOT_MET with acks and required when w cannot be reached and requireQuorum is set', async () => {
    const { server, db } = await networkedServer()
    const res = await server.app.inject({
      method: 'POST',
      url: `${kvPath('k')}?w=2&requireQuorum=true`,
      payload: { type: 'gcounter', op: 'increment', amount: 2 },
    })
    expect(res.statusCode).toBe(503)
    expect(res.json()).toEqual({ error: { code: 'QUORUM_NOT_MET', message: expect.stringContaining('1 of 2'), acks: 1, required: 2 } })
    // The write stays where it landed.
    expect(await db.get('k', { r: 1 })).toMatchObject({ value: 2 })

    const lenient = await server.app.inject({ method: 'POST', url: `${kvPath('k')}?w=2`, payload: { type: 'gcounter', op: 'increment' } })
    expect(lenient.statusCode).toBe(200)
    expect(lenient.json()).toMatchObject({ value: 3, acks: 1, quorum: false })

    const metrics = (await server.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(sample(metrics, 'rumordb_quorum_misses_total')).toBe(2)
    expect(sample(metrics, 'rumordb_operations_total{type="gcounter",op="increment",outcome="quorum_not_met"}')).toBe(1)
    expect(sample(metrics, 'rumordb_operations_total{type="gcounter",op="increment",outcome="ok"}')).toBe(1)
  })

  it('answers a read with requireQuorum that heard from fewer than r replicas with 503 QUORUM_NOT_MET', async () => {
    const { server, db } = await networkedServer()
    await db.counter('k').increment(2)
    const strict = await server.app.inject({ method: 'GET', url: `${kvPath('k')}?r=2&requireQuorum=true` })
    expect(strict.statusCode).toBe(503)
    expect(strict.json()).toEqual({ error: { code: 'QUORUM_NOT_MET', message: expect.stringContaining('read of "k" heard from 1 of 2'), acks: 1, required: 2 } })
    const lenient = await server.app.inject({ method: 'GET', url: `${kvPath('k')}?r=2` })
    expect(lenient.statusCode).toBe(200)
    expect(lenient.json()).toMatchObject({ value: 2, replicas: 1 })
    expect((await server.app.inject({ method: 'GET', url: `${kvPath('k')}?requireQuorum=yes` })).statusCode).toBe(400)
    expect((await server.app.inject({ method: 'GET', url: `${kvPath('k')}?r=1&requireQuorum=true` })).json()).toMatchObject({ value: 2, replicas: 1 })
  })

  it('reports itself as networked, with its peer id, in /v1/status and /v1/members', async () => {
    const { server } = await networkedServer()
    const status = (await server.app.inject({ method: 'GET', url: '/v1/status' })).json()
    expect(status).toMatchObject({ id: 'node-a', networked: true, members: { alive: 1 } })
    expect(Object.keys(status.antiEntropy)).toContain('rounds')
    expect(Object.keys(status.gossip)).toContain('bytesSent')
    const members = (await server.app.inject({ method: 'GET', url: '/v1/members' })).json()
    expect(members.self).toBe('node-a')
    expect(members.members.map((m: { id: string }) => m.id)).toContain('node-a')
  })
})

describe('GET /healthz and /readyz', () => {
  it('are 200 { ok: true } on a healthy node', async () => {
    const { server } = await testServer()
    for (const url of ['/healthz', '/readyz']) {
      const res = await server.app.inject({ method: 'GET', url })
      expect(res.statusCode, url).toBe(200)
      expect(res.json()).toEqual({ ok: true })
    }
  })

  it('/readyz is 503 failing sqlite once the database is closed; /healthz stays 200', async () => {
    const { server, db } = await testServer()
    await db.close()
    const res = await server.app.inject({ method: 'GET', url: '/readyz' })
    expect(res.statusCode).toBe(503)
    expect(res.json()).toEqual({ ok: false, failing: ['sqlite'], error: { code: 'NOT_READY', message: expect.stringContaining('sqlite: the database is closed') } })
    expect((await server.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200)
    // Key routes answer 503 UNAVAILABLE, not 500.
    const read = await server.app.inject({ method: 'GET', url: kvPath('k') })
    expect(read.statusCode).toBe(503)
    expect(read.json().error.code).toBe('UNAVAILABLE')
  })

  it('/readyz asks isNetworkReady and reports a failing network', async () => {
    let networkUp = false
    const { server } = await testServer({ isNetworkReady: async () => networkUp })
    const down = await server.app.inject({ method: 'GET', url: '/readyz' })
    expect(down.statusCode).toBe(503)
    expect(down.json()).toMatchObject({ ok: false, failing: ['network'] })
    networkUp = true
    expect((await server.app.inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)
  })
})

describe('GET /metrics', () => {
  it('exports Prometheus text with operations, latencies, acks, hints, anti-entropy and peers', async () => {
    const { server, db } = await testServer()
    const inject = server.app.inject.bind(server.app)
    const before = await inject({ method: 'GET', url: '/metrics' })
    expect(before.statusCode).toBe(200)
    expect(before.headers['content-type']).toContain('text/plain')
    for (const name of [
      'rumordb_operations_total',
      'rumordb_http_request_duration_seconds',
      'rumordb_write_acks',
      'rumordb_quorum_misses_total',
      'rumordb_pending_hints',
      'rumordb_anti_entropy_rounds_total',
      'rumordb_network_bytes_total',
      'rumordb_peers',
      'rumordb_keys',
    ]) {
      expect(before.body, name).toContain(`# TYPE ${name} `)
    }
    expect(sample(before.body, 'rumordb_keys')).toBe(0)
    expect(sample(before.body, 'rumordb_peers{status="alive"}')).toBe(1)
    expect(sample(before.body, 'rumordb_anti_entropy_rounds_total{outcome="synced"}')).toBe(0)

    await inject({ method: 'POST', url: kvPath('a'), payload: { type: 'pncounter', op: 'increment' } })
    await inject({ method: 'POST', url: kvPath('a'), payload: { type: 'pncounter', op: 'decrement', amount: 3 } })
    await inject({ method: 'POST', url: kvPath('a'), payload: { type: 'orset', op: 'add', element: 1 } })
    await inject({ method: 'GET', url: kvPath('a') })
    await inject({ method: 'GET', url: kvPath('missing') })
    await db.gcounter('b').increment()

    const after = (await inject({ method: 'GET', url: '/metrics' })).body
    expect(sample(after, 'rumordb_operations_total{type="pncounter",op="increment",outcome="ok"}')).toBe(1)
    expect(sample(after, 'rumordb_operations_total{type="pncounter",op="decrement",outcome="ok"}')).toBe(1)
    expect(sample(after, 'rumordb_operations_total{type="orset",op="add",outcome="type_mismatch"}')).toBe(1)
    expect(sample(after, 'rumordb_operations_total{type="pncounter",op="get",outcome="ok"}')).toBe(1)
    expect(sample(after, 'rumordb_operations_total{type="unknown",op="get",outcome="not_found"}')).toBe(1)
    expect(sample(after, 'rumordb_write_acks_count')).toBe(2)
    expect(sample(after, 'rumordb_write_acks_sum')).toBe(2)
    expect(sample(after, 'rumordb_keys')).toBe(2)
    expect(sample(after, 'rumordb_quorum_misses_total')).toBe(0)
    expect(sample(after, 'rumordb_http_request_duration_seconds_count{method="POST",route="/v1/kv/:key",status_code="200"}')).toBe(2)
    expect(sample(after, 'rumordb_http_request_duration_seconds_count{method="POST",route="/v1/kv/:key",status_code="409"}')).toBe(1)
    expect(sample(after, 'rumordb_http_request_duration_seconds_count{method="GET",route="/v1/kv/:key",status_code="404"}')).toBe(1)
  })

  it('keeps one registry per server, and adds process metrics unless turned off', async () => {
    const db = await tempDatabase()
    const { server: a } = await testServer({ db, processMetrics: true })
    const { server: b } = await testServer({ db })
    await a.app.inject({ method: 'POST', url: kvPath('x'), payload: { type: 'gcounter', op: 'increment' } })
    const textA = (await a.app.inject({ method: 'GET', url: '/metrics' })).body
    const textB = (await b.app.inject({ method: 'GET', url: '/metrics' })).body
    expect(sample(textA, 'rumordb_operations_total{type="gcounter",op="increment",outcome="ok"}')).toBe(1)
    expect(sample(textB, 'rumordb_operations_total{type="gcounter",op="increment",outcome="ok"}')).toBeUndefined()
    expect(textA).toContain('process_cpu_user_seconds_total')
    expect(textB).not.toContain('process_cpu_user_seconds_total')
  })
})

describe('over a real socket', () => {
  it('listens on 127.0.0.1 with a free port and serves writes, reads and errors to fetch', async () => {
    const { server } = await testServer({ host: '127.0.0.1', port: 0 })
    const { url } = await server.listen()
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(url).not.toBe('http://127.0.0.1:0')

    const write = await fetch(`${url}${kvPath('a/b')}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'once' },
      body: JSON.stringify({ type: 'orset', op: 'add', element: 'milk' }),
    })
    expect(write.status).toBe(200)
    const { token } = (await write.json()) as { token: string }
    const read = await fetch(`${url}${kvPath('a/b')}?token=${encodeURIComponent(token)}`)
    expect(read.status).toBe(200)
    expect(await read.json()).toEqual({ key: 'a/b', type: 'orset', value: ['milk'], replicas: 1 })

    const unknown = await fetch(`${url}/v2/nothing`)
    expect(unknown.status).toBe(404)
    expect(await unknown.json()).toEqual({ error: { code: 'NOT_FOUND', message: expect.stringContaining('/v1/kv/:key') } })
  })
})

describe('request logs', () => {
  it('go to the given pino logger as JSON lines, tagged with the component', async () => {
    const { Writable } = await import('node:stream')
    const { pino } = await import('pino')
    const lines: Record<string, unknown>[] = []
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line.length > 0) lines.push(JSON.parse(line))
        done()
      },
    })
    const { server } = await testServer({ logger: pino({ level: 'info' }, sink) })
    await server.app.inject({ method: 'POST', url: kvPath('k'), payload: { type: 'gcounter', op: 'increment' } })
    await server.app.inject({ method: 'POST', url: kvPath('k'), payload: { type: 'lww', op: 'set', value: 1 } })
    const completed = lines.filter((l) => l.msg === 'request completed')
    expect(completed.map((l) => (l.res as { statusCode: number }).statusCode)).toEqual([200, 409])
    expect(completed.every((l) => l.component === 'rumordb:http' && typeof l.responseTime === 'number')).toBe(true)
    expect(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('TYPE_MISMATCH:'))).toBe(true)
  })
})
