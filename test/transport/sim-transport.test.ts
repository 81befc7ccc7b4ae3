import { describe, expect, it } from 'vitest'
import { SimNetwork, type SimNetworkOptions } from '../../src/sim/index.js'
import { ConnectionResetError, PeerUnreachableError, TransportTimeoutError } from '../../src/transport/transport.js'
import { runTransportTests } from './transport-acceptance.js'

runTransportTests('SimTransport', async () => {
  const net = new SimNetwork({ seed: 7, link: { latency: { baseMs: 2, jitterMs: 1 } } })
  const [a, b, c] = net.addNodes(3)
  if (a === undefined || b === undefined || c === undefined) throw new Error('unreachable')
  return {
    a: a.transport,
    b: b.transport,
    c: c.transport,
    deliver: async () => {
      await net.scheduler.runUntilIdle({ maxTime: 10 * 60_000 })
    },
    cleanup: async () => {
      for (const n of net.allNodes()) await n.transport.stop()
    },
  }
})

/** Two started nodes, a and b, with b answering with its input. */
async function pair(options: Partial<SimNetworkOptions> = {}) {
  const net = new SimNetwork({ seed: 11, ...options })
  const [a, b] = net.addNodes(2)
  if (a === undefined || b === undefined) throw new Error('unreachable')
  let handled = 0
  b.transport.setRequestHandler(async (_from, frame) => {
    handled++
    return frame
  })
  await a.transport.start()
  await b.transport.start()
  return { net, a, b, handled: () => handled }
}

describe('SimTransport specifics', () => {
  it('copies frames: neither side can change what the other got', async () => {
    const net = new SimNetwork({ seed: 3 })
    const [a, b] = net.addNodes(2)
    if (a === undefined || b === undefined) throw new Error('unreachable')
    const response = new Uint8Array([5, 5])
    let received: Uint8Array | undefined
    b.transport.setRequestHandler(async (_from, frame) => {
      received = frame
      return response
    })
    await a.transport.start()
    await b.transport.start()
    const request = new Uint8Array([1, 2])
    const p = a.transport.request(b.id, request, { timeoutMs: 1000 })
    request[0] = 99 // after sending
    const got = await net.scheduler.runUntilSettled(p)
    response[0] = 42 // after answering
    expect(received).toEqual(new Uint8Array([1, 2]))
    expect(got).toEqual(new Uint8Array([5, 5]))
    expect(received?.buffer).not.toBe(request.buffer)
  })

  it('a duplicated request runs the handler twice and the requester takes the first response', async () => {
    const { net, a, b, handled } = await pair({ link: { duplicate: 1 } })
    const got = await net.scheduler.runUntilSettled(a.transport.request(b.id, new Uint8Array([7]), { timeoutMs: 1000 }))
    expect(got).toEqual(new Uint8Array([7]))
    await net.scheduler.runUntilIdle()
    expect(handled()).toBe(2)
    // 1 request + 2 responses sent; each frame duplicated once; 2 of the 4 response copies arrive after the first settled.
    expect(net.counters()).toMatchObject({ requests: 1, responses: 2, duplicated: 3, delivered: 6 })
  })

  it('a lost response ends in a timeout on the requester clock', async () => {
    const { net, a, b, handled } = await pair()
    net.setLink(b.id, a.id, { loss: 1 }, { oneWay: true })
    const start = net.scheduler.now
    const p = a.transport.request(b.id, new Uint8Array([1]), { timeoutMs: 300 })
    const outcome = net.scheduler.runUntilSettled(p).catch((e: unknown) => e)
    expect(await outcome).toBeInstanceOf(TransportTimeoutError)
    expect(handled()).toBe(1)
    expect(net.scheduler.now - start).toBe(300)
  })

  it('requests to a crashed peer time out by default and are refused with deadPeers: refuse', async () => {
    for (const deadPeers of ['timeout', 'refuse'] as const) {
      const { net, a, b } = await pair({ deadPeers })
      net.crash(b.id)
      const start = net.scheduler.now
      const err = await net.scheduler
        .runUntilSettled(a.transport.request(b.id, new Uint8Array([1]), { timeoutMs: 5000 }))
        .catch((e: unknown) => e)
      if (deadPeers === 'timeout') {
        expect(err).toBeInstanceOf(TransportTimeoutError)
        expect(net.scheduler.now - start).toBe(5000)
      } else {
        expect(err).toBeInstanceOf(PeerUnreachableError)
        expect(net.scheduler.now - start).toBeLessThan(50)
      }
    }
  })

  it('an answer lost with its connection reset: handled, then ConnectionResetError, not a timeout', async () => {
    const { net, a, b, handled } = await pair()
    net.setLink(b.id, a.id, { reset: 1 }, { oneWay: true })
    const start = net.scheduler.now
    const err = await net.scheduler.runUntilSettled(a.transport.request(b.id, new Uint8Array([1]), { timeoutMs: 5000 })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConnectionResetError)
    expect(handled()).toBe(1)
    expect(net.scheduler.now - start).toBeLessThan(50)
    expect(net.counters().resets).toBe(1)
  })

  it("a process killed with its host up: pending requests reset, later ones refused, until it restarts", async () => {
    const { net, a, b } = await pair({ link: { latency: { baseMs: 5, jitterMs: 0 } } })
    b.transport.setRequestHandler(() => new Promise<Uint8Array>(() => undefined)) // never answers
    const pending = a.transport.request(b.id, new Uint8Array([1]), { timeoutMs: 5000 }).catch((e: unknown) => e)
    await net.scheduler.runFor(20) // the request arrived and is being handled
    net.crash(b.id, { connections: 'reset' })
    const start = net.scheduler.now
    expect(await net.scheduler.runUntilSettled(pending)).toBeInstanceOf(ConnectionResetError)
    expect(net.scheduler.now - start).toBeLessThan(50)
    const later = await net.scheduler.runUntilSettled(a.transport.request(b.id, new Uint8Array([1]), { timeoutMs: 5000 }).catch((e: unknown) => e))
    expect(later).toBeInstanceOf(PeerUnreachableError)
    // The default network (deadPeers: timeout) makes a plain crash silent: requests time out.
    const { net: net2, a: a2, b: b2 } = await pair()
    net2.crash(b2.id)
    expect(await net2.scheduler.runUntilSettled(a2.transport.request(b2.id, new Uint8Array([1]), { timeoutMs: 300 }).catch((e: unknown) => e))).toBeInstanceOf(
      TransportTimeoutError,
    )
  })

  it('answerHook kills the node after it handled a request and before its answer leaves', async () => {
    const { net, a, b, handled } = await pair()
    b.transport.answerHook = () => {
      net.crash(b.id, { connections: 'reset' })
      return true
    }
    const err = await net.scheduler.runUntilSettled(a.transport.request(b.id, new Uint8Array([1]), { timeoutMs: 5000 }).catch((e: unknown) => e))
    expect(handled()).toBe(1)
    expect(err).toBeInstanceOf(ConnectionResetError)
    expect(net.node(b.id).up).toBe(false)
  })

  it('a request to itself is refused at once', async () => {
    const { a } = await pair()
    await expect(a.transport.request(a.id, new Uint8Array([1]), { timeoutMs: 1000 })).rejects.toBeInstanceOf(PeerUnreachableError)
  })

  it('a handler error reaches the requester as a TransportError naming the peer', async () => {
    const { net, a, b } = await pair()
    b.transport.setRequestHandler(async () => {
      throw new RangeError('key too long')
    })
    const err = await net.scheduler
      .runUntilSettled(a.transport.request(b.id, new Uint8Array([1]), { timeoutMs: 1000 }))
      .catch((e: unknown) => e)
    expect(String(err)).toContain(`peer ${b.id} failed to answer: RangeError: key too long`)
  })
})
