// The acceptance suite every Transport implementation must pass (automerge-repo style):
// `runTransportTests('SimTransport', setup)` in one file per implementation. The same
// tests run on virtual time (the simulator: `deliver` runs the simulation until nothing is
// left to do) and on a real network (`deliver` waits a little; promises settle on their own).
import { describe, expect, it } from 'vitest'
import {
  PeerUnreachableError,
  TransportError,
  TransportStoppedError,
  TransportTimeoutError,
  type Transport,
} from '../../src/transport/transport.js'

export interface TransportHarness {
  /** Three unstarted transports of one cluster (`c` optional). The suite sets handlers, then starts them. */
  a: Transport
  b: Transport
  c?: Transport
  /** Lets the network make progress: the simulator runs virtual time until idle; a real network may wait briefly. */
  deliver: () => Promise<void>
  /** A well-formed peer id that no transport of the cluster has (default 'no-such-peer'). */
  unknownPeerId?: string
  /** Stops everything the setup created. */
  cleanup: () => Promise<void>
}

const bytes = (...b: number[]) => new Uint8Array(b)
const text = (s: string) => new TextEncoder().encode(s)
const never = () => new Promise<Uint8Array>(() => undefined)

export function runTransportTests(name: string, setup: () => Promise<TransportHarness>): void {
  describe(`Transport acceptance: ${name}`, () => {
    async function withCluster(fn: (h: TransportHarness) => Promise<void>): Promise<void> {
      const h = await setup()
      try {
        await fn(h)
      } finally {
        await h.cleanup()
      }
    }

    /** Settles `p` while the network runs; never throws. */
    async function settle<T>(h: TransportHarness, p: Promise<T>): Promise<PromiseSettledResult<T>> {
      const all = Promise.allSettled([p])
      await h.deliver()
      return (await all)[0] as PromiseSettledResult<T>
    }

    async function eventually(h: TransportHarness, cond: () => boolean, what: string): Promise<void> {
      for (let i = 0; i < 50 && !cond(); i++) await h.deliver()
      if (!cond()) throw new Error(`timed out waiting until ${what}`)
    }

    async function startAll(h: TransportHarness): Promise<Transport[]> {
      const all = [h.a, h.b, ...(h.c === undefined ? [] : [h.c])]
      await Promise.all(all.map((t) => t.start()))
      await eventually(h, () => all.every((t) => t.peers().length === all.length - 1), 'every transport sees the others')
      return all
    }

    function rejection(r: PromiseSettledResult<unknown>): unknown {
      if (r.status !== 'rejected') throw new Error(`expected a rejection, got ${String(r.status)}`)
      return r.reason
    }

    it('round-trips a request and its response byte for byte, naming the sender', () =>
      withCluster(async (h) => {
        const seen: [string, Uint8Array][] = []
        h.b.setRequestHandler(async (from, frame) => {
          seen.push([from, new Uint8Array(frame)])
          return new Uint8Array([...frame].reverse())
        })
        await startAll(h)
        const r = await settle(h, h.a.request(h.b.localPeerId, bytes(1, 2, 3, 255, 0), { timeoutMs: 5000 }))
        expect(r).toEqual({ status: 'fulfilled', value: bytes(0, 255, 3, 2, 1) })
        expect(seen).toEqual([[h.a.localPeerId, bytes(1, 2, 3, 255, 0)]])
      }))

    it('carries empty and large frames intact', () =>
      withCluster(async (h) => {
        h.b.setRequestHandler(async (_from, frame) => frame)
        await startAll(h)
        const large = new Uint8Array(256 * 1024).map((_, i) => (i * 31 + 7) & 0xff)
        const both = await settle(
          h,
          Promise.all([
            h.a.request(h.b.localPeerId, new Uint8Array(0), { timeoutMs: 5000 }),
            h.a.request(h.b.localPeerId, large, { timeoutMs: 5000 }),
          ]),
        )
        if (both.status !== 'fulfilled') throw both.reason
        const [empty, big] = both.value
        expect(empty).toEqual(new Uint8Array(0))
        expect(big !== undefined && Buffer.from(big).equals(Buffer.from(large))).toBe(true)
      }))

    it('matches each of many concurrent requests to its own response', () =>
      withCluster(async (h) => {
        h.b.setRequestHandler(async (_from, frame) => text(`re:${new TextDecoder().decode(frame)}`))
        await startAll(h)
        const results = await settle(
          h,
          Promise.all(Array.from({ length: 20 }, (_, i) => h.a.request(h.b.localPeerId, text(`q${i}`), { timeoutMs: 5000 }))),
        )
        expect(results.status).toBe('fulfilled')
        const answers = results.status === 'fulfilled' ? results.value.map((f) => new TextDecoder().decode(f)) : []
        expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => `re:q${i}`))
      }))

    it('a handler that throws or rejects makes the request reject with a TransportError, not hang or time out', () =>
      withCluster(async (h) => {
        h.b.setRequestHandler(async (_from, frame) => {
          if (frame[0] === 1) throw new Error('bad request')
          return Promise.reject(new Error('also bad'))
        })
        await startAll(h)
        for (const first of [1, 2]) {
          const r = await settle(h, h.a.request(h.b.localPeerId, bytes(first), { timeoutMs: 30_000 }))
          const err = rejection(r)
          expect(err).toBeInstanceOf(TransportError)
          expect(err).not.toBeInstanceOf(TransportTimeoutError)
        }
      }))

    it('rejects with TransportTimeoutError when no answer comes in time', () =>
      withCluster(async (h) => {
        h.b.setRequestHandler(never)
        await startAll(h)
        const err = rejection(await settle(h, h.a.request(h.b.localPeerId, bytes(1), { timeoutMs: 200 })))
        expect(err).toBeInstanceOf(TransportTimeoutError)
        expect(err).toMatchObject({ peer: h.b.localPeerId, timeoutMs: 200 })
      }))

    it('rejects with the abort reason when the signal fires, and at once if it already fired', () =>
      withCluster(async (h) => {
        h.b.setRequestHandler(never)
        await startAll(h)
        const controller = new AbortController()
        const pending = h.a.request(h.b.localPeerId, bytes(1), { timeoutMs: 60_000, signal: controller.signal })
        const reason = new Error('caller gave up')
        controller.abort(reason)
        expect(rejection(await settle(h, pending))).toBe(reason)
        const early = await Promise.allSettled([
          h.a.request(h.b.localPeerId, bytes(2), { timeoutMs: 60_000, signal: AbortSignal.abort(reason) }),
        ])
        expect(rejection(early[0] as PromiseSettledResult<Uint8Array>)).toBe(reason)
      }))

    it('broadcast reaches every other peer with the same bytes, and not the sender', () =>
      withCluster(async (h) => {
        const got = new Map<string, [string, Uint8Array][]>()
        const all = [h.a, h.b, ...(h.c === undefined ? [] : [h.c])]
        for (const t of all) {
          got.set(t.localPeerId, [])
          t.setBroadcastHandler((from, frame) => got.get(t.localPeerId)?.push([from, new Uint8Array(frame)]))
        }
        await startAll(h)
        h.a.broadcast(bytes(9, 8, 7))
        const others = all.filter((t) => t !== h.a)
        await eventually(h, () => others.every((t) => (got.get(t.localPeerId)?.length ?? 0) > 0), 'the broadcast arrived')
        for (const t of others) expect(got.get(t.localPeerId)?.[0]).toEqual([h.a.localPeerId, bytes(9, 8, 7)])
        expect(got.get(h.a.localPeerId)).toEqual([])
      }))

    it('reports the other peers in peers() and through peer-seen events', () =>
      withCluster(async (h) => {
        const seenByA: string[] = []
        h.a.onPeerSeen((p) => seenByA.push(p))
        const all = await startAll(h)
        const others = all.filter((t) => t !== h.a).map((t) => t.localPeerId)
        await eventually(h, () => others.every((p) => seenByA.includes(p)), 'a saw every peer')
        expect([...h.a.peers()].sort()).toEqual([...others].sort())
        expect(h.a.peers()).not.toContain(h.a.localPeerId)
      }))

    it('a stopped peer is reported lost', () =>
      withCluster(async (h) => {
        const lost: string[] = []
        h.a.onPeerLost((p) => lost.push(p))
        await startAll(h)
        await h.b.stop()
        await eventually(h, () => lost.includes(h.b.localPeerId), 'a lost b')
        expect(h.a.peers()).not.toContain(h.b.localPeerId)
      }))

    it('stop() rejects pending requests with TransportStoppedError, is idempotent, and refuses later requests', () =>
      withCluster(async (h) => {
        h.b.setRequestHandler(never)
        await startAll(h)
        const pending = Promise.allSettled([h.a.request(h.b.localPeerId, bytes(1), { timeoutMs: 60_000 })])
        await h.a.stop()
        await h.a.stop()
        const [r] = await pending
        expect(rejection(r as PromiseSettledResult<Uint8Array>)).toBeInstanceOf(TransportStoppedError)
        const later = await Promise.allSettled([h.a.request(h.b.localPeerId, bytes(2), { timeoutMs: 1000 })])
        expect(rejection(later[0] as PromiseSettledResult<Uint8Array>)).toBeInstanceOf(TransportStoppedError)
      }))

    it('a request to an unknown peer rejects with PeerUnreachableError', () =>
      withCluster(async (h) => {
        await startAll(h)
        const r = await settle(h, h.a.request(h.unknownPeerId ?? 'no-such-peer', bytes(1), { timeoutMs: 2000 }))
        expect(rejection(r)).toBeInstanceOf(PeerUnreachableError)
      }))
  })
}
