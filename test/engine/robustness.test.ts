// Bad frames, adaptive timeouts, session-token timeouts and clock drift, on the simulator.
import { describe, expect, it } from 'vitest'
import { crdtTypes } from '../../crdts/index.js'
import { LatencyTracker } from '../../src/cluster/messaging/latency-tracker.js'
import { MAX_REQUEST_TIMEOUT_MS, MIN_REQUEST_TIMEOUT_MS } from '../../src/cluster/messaging/constants.js'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { StaleReadError } from '../../src/base/errors.js'
import { decodeResponse, encodeMessage } from '../../src/wire/codec.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 7)
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 300, handoffIntervalMs: 300 }

async function cluster(size: number): Promise<SimCluster> {
  const c = new SimCluster({ seed: SEED, size, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: FAST })
  await c.start()
  await c.runFor(1000)
  return c
}

describe(`engine robustness (seed ${SEED})`, () => {
  it('answers garbage, truncated and wrong-kind frames with an error reply and keeps serving', async () => {
    const c = await cluster(3)
    const [a, b] = c.ids as [string, string]
    const transport = c.member(a).node.transport
    const valid = encodeMessage({ type: 'read', key: 'k' })
    const bad = [new Uint8Array([1, 2, 3]), valid.subarray(0, valid.length - 1), encodeMessage({ type: 'ack' }), new Uint8Array(0)]
    for (const frame of bad) {
      const reply = decodeResponse(await c.settle(transport.request(b, frame, { timeoutMs: 1000 })))
      expect(reply).toMatchObject({ type: 'error', code: 'BAD_REQUEST' })
    }
    expect(c.engine(b).messenger.stats.badFrames).toBe(bad.length)
    const ok = decodeResponse(await c.settle(transport.request(b, valid, { timeoutMs: 1000 })))
    expect(ok).toEqual({ type: 'state' })
  })

  it('adapts request timeouts to each peer: p99 plus a margin, within bounds', () => {
    const t = new LatencyTracker()
    expect(t.timeoutFor('p')).toBeGreaterThanOrEqual(MIN_REQUEST_TIMEOUT_MS)
    for (let i = 0; i < 100; i++) t.record('fast', 2)
    for (let i = 0; i < 100; i++) t.record('slow', 200 + (i % 10))
    expect(t.timeoutFor('fast')).toBe(MIN_REQUEST_TIMEOUT_MS)
    expect(t.timeoutFor('slow')).toBeGreaterThan(400)
    expect(t.timeoutFor('slow')).toBeLessThan(MAX_REQUEST_TIMEOUT_MS)
    for (let i = 0; i < 300; i++) t.record('glacial', 60_000)
    expect(t.timeoutFor('glacial')).toBe(MAX_REQUEST_TIMEOUT_MS)
  })

  it('a replica that turns slow (a burst queues its requests) still acknowledges: no outcome-unknown writes', async () => {
    const c = await cluster(3)
    const [coordinator] = c.ids as [string]
    const e = c.engine(coordinator)
    // Many fast round trips teach the coordinator a 1-3 ms latency to its peers.
    for (let i = 0; i < 60; i++) await c.settle(e.write(`warm-${i}`, { type: 'gcounter', op: 'increment', amount: 1 }))
    // Every link now takes 150 ms each way: 100x the learned round trip.
    c.net.setDefaultLink({ latency: { baseMs: 150, jitterMs: 0 } })
    const results = await c.settle(
      Promise.allSettled(Array.from({ length: 10 }, (_, i) => e.write(`slow-${i}`, { type: 'gcounter', op: 'increment', amount: 1 }))),
    )
    const failures = results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))
    expect(failures).toEqual([])
    expect(results.every((r) => r.status === 'fulfilled' && r.value.quorum)).toBe(true)
  })

  it('follows a peer that slows down within a bounded number of samples', () => {
    const t = new LatencyTracker()
    for (let i = 0; i < 200; i++) t.record('p', 2)
    expect(t.timeoutFor('p')).toBe(MIN_REQUEST_TIMEOUT_MS)
    // Its window fills with slow round trips: the cached timeout is recomputed after at most 16 more samples.
    for (let i = 0; i < 200; i++) t.record('p', 300)
    let seen = t.timeoutFor('p')
    for (let i = 0; i < 16 && seen === MIN_REQUEST_TIMEOUT_MS; i++) {
      t.record('p', 300)
      seen = t.timeoutFor('p')
    }
    expect(seen).toBeGreaterThan(600)
  })

  it('a read with a session token fails with StaleReadError when no reachable replica has the write', async () => {
    const c = await cluster(5)
    const key = 'token-timeout'
    const writer = c.ids[0] as string
    const w = await c.settle(c.engine(writer).write(key, { type: 'gcounter', op: 'increment', amount: 1 }, { w: 1 }))
    // Isolate the writer and every replica that has the write; the reader can reach only empty nodes.
    const ring = c.engine(writer).membership.ring().ring
    const holders = new Set([writer, ...preferenceList(ring, key, 3)].filter((id) => c.member(id).store.getKey(key) !== undefined))
    const reader = c.ids.find((id) => !holders.has(id)) as string
    c.net.partition([[...holders], c.ids.filter((id) => !holders.has(id))])
    await c.runFor(3000)
    await expect(c.settle(c.engine(reader).read(key, 'gcounter', { token: { type: 'gcounter', witness: w.witness }, timeoutMs: 1500 }))).rejects.toBeInstanceOf(StaleReadError)
  })

  it('refuses registers from a node whose clock runs too far ahead, then converges once it is fixed', async () => {
    const c = await cluster(3)
    const [a, b, d] = c.ids as [string, string, string]
    // The first preferred replica applies a write with its own clock: pick a key that `a` applies.
    const ring = c.engine(a).membership.ring().ring
    const key = Array.from({ length: 100 }, (_, i) => `reg${i}`).find((k) => preferenceList(ring, k, 3)[0] === a) as string
    c.net.setSkew(a, 5000)
    // Written at once, before heartbeats tell `a` that its clock is off (then it refuses registers).
    await c.settle(c.engine(a).write(key, { type: 'lww', op: 'set', value: 'from the future' }, { w: 1 }))
    await c.runFor(2000)
    const refused = c.engine(b).status().clockDriftRefused + c.engine(d).status().clockDriftRefused
    expect(refused).toBeGreaterThan(0)
    expect([b, d].every((id) => c.member(id).store.getKey(key) === undefined)).toBe(true)
    c.net.setSkew(a, 0)
    // Once wall clocks pass the register's timestamp, anti-entropy delivers it everywhere.
    await c.scheduler.runUntil(() => c.ids.every((id) => c.member(id).store.getKey(key) !== undefined), { maxTime: 30_000 })
    for (const id of c.ids) {
      const state = c.member(id).store.getKey(key)?.state
      expect(state && crdtTypes.lww.value(crdtTypes.lww.decode(state))).toBe('from the future')
    }
  })
})
