// Request timeouts on an open channel share one timer (node/libp2p/channel.ts): issuing
// requests starts no timer each, yet each still gives up at its own deadline with
// TransportTimeoutError, a late answer is dropped, and the channel goes on; a caller's
// signal still aborts its request alone.
import { afterEach, expect, it, vi } from 'vitest'
import type { Libp2pTransport } from '../../node/libp2p/libp2p-transport.js'
import { TransportTimeoutError } from '../../src/transport/transport.js'
import { decodeRequest, encodeMessage } from '../../src/wire/codec.js'
import { firstAddr, loopbackTransport, stopAll } from './fixtures/libp2p-harness.js'

const transports: Libp2pTransport[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  await stopAll(transports.splice(0))
})

const read = (key: string) => encodeMessage({ type: 'read', key })

it('requests on an open channel share one timeout timer, and each times out at its own deadline', async () => {
  const a = await loopbackTransport()
  const b = await loopbackTransport()
  transports.push(a, b)
  // Keys 'slow-<ms>' are answered after that long; the others at once.
  b.setRequestHandler(async (_from, frame) => {
    const request = decodeRequest(frame)
    const slow = request.type === 'read' && request.key.startsWith('slow-') ? Number(request.key.slice(5)) : 0
    if (slow > 0) await new Promise((resolve) => setTimeout(resolve, slow))
    return encodeMessage({ type: 'ack' })
  })
  await Promise.all([a.start(), b.start()])
  await a.dial(firstAddr(b))
  await a.request(b.peerId, read('open'), { timeoutMs: 5000 })

  const timers = vi.spyOn(globalThis, 'setTimeout')
  const started = performance.now()
  // Answered after 1.5 s: these give up first, each at its own deadline (300 or 600 ms).
  const outcomes = Array.from({ length: 40 }, (_, i) =>
    a.request(b.peerId, read('slow-1500'), { timeoutMs: i % 2 === 0 ? 300 : 600 }).then(
      () => ({ ok: true as const, ms: performance.now() - started }),
      (err: unknown) => ({ ok: false as const, err, ms: performance.now() - started }),
    ),
  )
  const issuedWith = timers.mock.calls.length
  timers.mockRestore()
  const settled = await Promise.all(outcomes)
  console.log(`40 requests issued with ${issuedWith} setTimeout calls; gave up after ${settled.map((s) => Math.round(s.ms)).join(', ')} ms`)
  expect(issuedWith).toBeLessThanOrEqual(2)
  settled.forEach((s, i) => {
    const timeoutMs = i % 2 === 0 ? 300 : 600
    expect(s.ok).toBe(false)
    expect((s as { err: unknown }).err).toBeInstanceOf(TransportTimeoutError)
    expect(s.ms).toBeGreaterThanOrEqual(timeoutMs - 5)
    expect(s.ms).toBeLessThan(timeoutMs + 1000)
  })
  // The late answers are dropped; the channel goes on.
  expect(await a.request(b.peerId, read('after'), { timeoutMs: 5000 })).toEqual(encodeMessage({ type: 'ack' }))

  // A caller's signal aborts its own request only.
  const controller = new AbortController()
  const aborted = a.request(b.peerId, read('slow-300'), { timeoutMs: 5000, signal: controller.signal }).catch((e: unknown) => e)
  const other = a.request(b.peerId, read('slow-300'), { timeoutMs: 5000 })
  controller.abort(new Error('caller gave up'))
  expect(await aborted).toMatchObject({ message: 'caller gave up' })
  expect(await other).toEqual(encodeMessage({ type: 'ack' }))
})
