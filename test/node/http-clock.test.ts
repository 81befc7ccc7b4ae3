// The HTTP side of a node whose clock is off the cluster's: /readyz fails its 'clock' check,
// register writes answer 503 CLOCK_SKEW, /metrics shows the offset. The node is a real
// networked database on a fixed, injected clock; its two peers are bare transports that
// only send heartbeats stamped with the time they claim, so nothing here waits on time.
import { afterEach, describe, expect, it } from 'vitest'
import { CLOCK_OFFSET_SAMPLES } from '../../src/cluster/membership/clock-offsets.js'
import { ClockSkewError, openDatabase } from '../../src/index.js'
import type { Clock } from '../../src/base/clock.js'
import { encodeMessage } from '../../src/wire/codec.js'
import { httpFailureOf } from '../../node/http/errors.js'
import { MemoryHub, type MemoryTransport } from '../support/memory-hub.js'
import { closeAll, kvPath, tempDir, testServer, track } from './http-harness.js'

afterEach(closeAll)

const NOW = Date.UTC(2026, 0, 1)
const SKEW_MS = 2000

/** Time stands still (the engine's timers never fire): the peers stay alive, nothing is retried. */
const stillClock: Clock = { now: () => NOW, setTimeout: () => ({}), clearTimeout: () => undefined }

/** Lets the hub deliver frames (one macrotask per hop). */
async function deliver(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

/** A peer that sends heartbeats stamped `clockMs` and refuses every request. */
async function fakePeer(hub: MemoryHub, id: string): Promise<{ transport: MemoryTransport; heartbeats: (clockMs: number, count: number) => void }> {
  const transport = hub.transport(id)
  transport.setRequestHandler(async () => encodeMessage({ type: 'error', code: 'UNAVAILABLE', message: 'a test peer that only sends heartbeats' }))
  transport.setBroadcastHandler(() => undefined)
  await transport.start()
  let seq = 0
  const member = { peerId: id, addrs: [], vnodes: 16, incarnation: 0, status: 'alive' as const }
  return {
    transport,
    heartbeats: (clockMs, count) => {
      for (let i = 0; i < count; i++) transport.broadcast(encodeMessage({ type: 'heartbeat', member, seq: ++seq, time: clockMs }))
    },
  }
}

/** A node whose peers both say it is 2 s ahead of them. */
async function skewedNode() {
  const hub = new MemoryHub()
  const db = track(await openDatabase({ dataDir: tempDir(), transport: hub.transport('node-a'), clock: stillClock }))
  const peers = [await fakePeer(hub, 'node-b'), await fakePeer(hub, 'node-c')]
  const { server } = await testServer({ db })
  // A full window of samples: a peer's offset is the largest of its last CLOCK_OFFSET_SAMPLES,
  // so a clock set back shows once the samples from before have left the window.
  const heartbeats = async (clockMs: number): Promise<void> => {
    for (const p of peers) p.heartbeats(clockMs, CLOCK_OFFSET_SAMPLES)
    await deliver()
  }
  return { db, server, heartbeats }
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('a node whose clock is off the cluster', () => {
  it('is not ready (clock) and refuses register writes with 503 CLOCK_SKEW until the peers agree with its clock again', async () => {
    const { server, heartbeats } = await skewedNode()
    const inject = server.app.inject.bind(server.app)
    await heartbeats(NOW)
    expect((await inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)

    await heartbeats(NOW - SKEW_MS)
    const ready = await inject({ method: 'GET', url: '/readyz' })
    expect(ready.statusCode).toBe(503)
    expect(ready.json()).toEqual({
      ok: false,
      failing: ['clock'],
      error: { code: 'NOT_READY', message: expect.stringMatching(/^clock: this node's wall clock is 2000 ms ahead of the cluster's .*NTP/) },
    })

    const register = await inject({ method: 'POST', url: kvPath('name'), payload: { type: 'lww', op: 'set', value: 'Ada' } })
    expect(register.statusCode).toBe(503)
    expect(register.json()).toEqual({ error: { code: 'CLOCK_SKEW', message: expect.stringMatching(/node-a's wall clock is 2000 ms ahead .*NTP/) } })
    // Counters do not depend on the clock.
    const counter = await inject({ method: 'POST', url: kvPath('visits'), payload: { type: 'pncounter', op: 'increment' } })
    expect(counter.statusCode).toBe(200)

    const metrics = (await inject({ method: 'GET', url: '/metrics' })).body
    expect(sample(metrics, 'rumordb_clock_off')).toBe(1)
    expect(sample(metrics, 'rumordb_clock_offset_ms')).toBe(SKEW_MS)
    expect(sample(metrics, 'rumordb_clock_skew_refusals_total{kind="write"}')).toBe(1)

    // The peers' clocks now agree with this one: ready again, by itself.
    await heartbeats(NOW)
    expect((await inject({ method: 'GET', url: '/readyz' })).statusCode).toBe(200)
    const again = await inject({ method: 'POST', url: kvPath('name'), payload: { type: 'lww', op: 'set', value: 'Ada' } })
    expect(again.statusCode).toBe(200)
    expect(sample((await inject({ method: 'GET', url: '/metrics' })).body, 'rumordb_clock_off')).toBe(0)
  })

  it('maps ClockSkewError to 503 CLOCK_SKEW with its message', () => {
    const err = new ClockSkewError('node-c', -1200, 500)
    expect(httpFailureOf(err)).toEqual({ status: 503, body: { error: { code: 'CLOCK_SKEW', message: err.message } } })
    expect(err.message).toMatch(/node node-c's wall clock is 1200 ms behind the cluster's \(limit 500 ms\)/)
  })
})
