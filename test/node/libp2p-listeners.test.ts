// Abort listeners must not pile up on a long-lived AbortSignal as requests flow: Node warns
// (MaxListenersExceededWarning) past 10 on one signal, and a count that follows the traffic
// is a leak in the making. Two real transports on 127.0.0.1, 10,000 requests on one channel.
import { getEventListeners } from 'node:events'
import { afterEach, expect, it } from 'vitest'
import type { Libp2pTransport } from '../../node/libp2p/libp2p-transport.js'
import { encodeMessage } from '../../src/wire/codec.js'
import { firstAddr, loopbackTransport, stopAll, until } from './fixtures/libp2p-harness.js'

const REQUESTS = 10_000
/** Requests the client keeps in flight; the server holds them in groups of GROUP. */
const IN_FLIGHT = 256
const GROUP = 16 // divides REQUESTS, so no request is left held

const transports: Libp2pTransport[] = []
const undo: (() => void)[] = []
afterEach(async () => {
  for (const u of undo.splice(0)) u()
  await stopAll(transports.splice(0))
})

/**
 * Every AbortSignal that gets an abort listener while it runs, with the most abort
 * listeners it held at once (since the last `peaks.clear()`). Patches EventTarget.prototype
 * for the test's duration.
 */
function watchAbortListeners(): { seen: Set<AbortSignal>; peaks: Map<AbortSignal, number> } {
  const seen = new Set<AbortSignal>()
  const peaks = new Map<AbortSignal, number>()
  const original = EventTarget.prototype.addEventListener
  EventTarget.prototype.addEventListener = function (this: EventTarget, ...args: Parameters<EventTarget['addEventListener']>) {
    original.apply(this, args)
    if (this instanceof AbortSignal && args[0] === 'abort') {
      seen.add(this)
      peaks.set(this, Math.max(peaks.get(this) ?? 0, getEventListeners(this, 'abort').length))
    }
  }
  undo.push(() => (EventTarget.prototype.addEventListener = original))
  return { seen, peaks }
}

function collectWarnings(): Error[] {
  const warnings: Error[] = []
  const onWarning = (w: Error): void => {
    if (w.name === 'MaxListenersExceededWarning') warnings.push(w)
  }
  process.on('warning', onWarning)
  undo.push(() => process.off('warning', onWarning))
  return warnings
}

it('keeps abort listeners per signal flat over 10,000 requests on one channel, with many in flight', async () => {
  const { seen, peaks } = watchAbortListeners()
  const a = await loopbackTransport()
  const b = await loopbackTransport()
  transports.push(a, b)
  // During the run the server answers in groups, so that GROUP requests are being handled at once.
  const reply = encodeMessage({ type: 'ack' })
  let grouping = false
  const held: (() => void)[] = []
  b.setRequestHandler(async () => {
    if (!grouping) return reply
    return new Promise<Uint8Array>((resolve) => {
      held.push(() => resolve(reply))
      if (held.length >= GROUP) for (const release of held.splice(0)) release()
    })
  })
  await Promise.all([a.start(), b.start()])
  await a.dial(firstAddr(b))
  const request = encodeMessage({ type: 'read', key: 'some/key' })
  await a.request(b.peerId, request, { timeoutMs: 30_000 }) // opens the channel
  grouping = true

  const warnings = collectWarnings()
  // The transports' own signals (shutdown, …) got their listeners by now.
  const before = new Map([...seen].filter((s) => !s.aborted).map((s) => [s, getEventListeners(s, 'abort').length]))
  peaks.clear()
  let sent = 0
  let answered = 0
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (sent < REQUESTS) {
        sent++
        await a.request(b.peerId, request, { timeoutMs: 30_000 })
        answered++
      }
    }),
  )
  expect(answered).toBe(REQUESTS)
  // Let Node deliver any warning it queued (emitWarning reports on the next tick).
  await new Promise<void>((resolve) => setImmediate(resolve))

  expect(warnings.map((w) => w.message)).toEqual([])
  const crowded = [...peaks].filter(([, peak]) => peak > 3)
  expect(crowded.map(([, peak]) => peak), 'signals that held more than 3 abort listeners at once').toEqual([])
  // Listeners of work that was in flight before the run may have gone; none may have been added.
  for (const [signal, count] of before) expect(getEventListeners(signal, 'abort').length).toBeLessThanOrEqual(count)
})

it('keeps one abort listener on the server for all its channels, however many peers open one', async () => {
  const { peaks } = watchAbortListeners()
  const warnings = collectWarnings()
  const server = await loopbackTransport()
  transports.push(server)
  const reply = encodeMessage({ type: 'ack' })
  server.setRequestHandler(async () => reply)
  await server.start()
  // Past Node's limit of 10: one inbound channel each, all open at once.
  const clients = await Promise.all(Array.from({ length: 12 }, () => loopbackTransport()))
  transports.push(...clients)
  await Promise.all(clients.map((c) => c.start()))
  // The server dials: libp2p refuses more than 5 inbound connections a second from one host.
  await Promise.all(clients.map((c) => server.dial(firstAddr(c))))
  await until(transports, () => clients.every((c) => c.libp2p.getConnections().length > 0), 'every client sees its connection', 30_000)
  // Counted from here: libp2p's dial queue holds a listener per dial on a signal of its own.
  peaks.clear()
  const request = encodeMessage({ type: 'read', key: 'some/key' })
  await Promise.all(clients.map((c) => c.request(server.peerId, request, { timeoutMs: 30_000 })))
  await new Promise<void>((resolve) => setImmediate(resolve))

  expect(warnings.map((w) => w.message)).toEqual([])
  expect([...peaks.values()].filter((peak) => peak > 3), 'signals that held more than 3 abort listeners at once').toEqual([])
})
