// Fault injection: a FaultyTransport with nothing blocked is a Transport like any other (the
// shared acceptance suite), blocking both sides cuts requests, broadcasts and peers, and
// unblocking heals; the HTTP route exists only when the node was given an injector.
import { afterEach, describe, expect, it } from 'vitest'
import { FaultInjector, registerFaultRoutes } from '../../../node/faults/index.js'
import { SimNetwork } from '../../../src/sim/index.js'
import { PeerUnreachableError, type Transport } from '../../../src/transport/transport.js'
import { runTransportTests } from '../../transport/transport-acceptance.js'
import { closeAll, testServer } from '../http-harness.js'

runTransportTests('FaultyTransport (nothing blocked)', async () => {
  const net = new SimNetwork({ seed: 7, link: { latency: { baseMs: 2, jitterMs: 1 } } })
  const nodes = net.addNodes(3)
  const [a, b, c] = nodes.map((n) => new FaultInjector().wrap(n.transport))
  return {
    a: a!,
    b: b!,
    c: c!,
    deliver: async () => {
      await net.scheduler.runUntilIdle({ maxTime: 10 * 60_000 })
    },
    cleanup: async () => {
      for (const n of net.allNodes()) await n.transport.stop()
    },
  }
})

/** Two started sim nodes behind injectors; b echoes requests; both record broadcasts and peer events. */
async function pair() {
  const net = new SimNetwork({ seed: 11 })
  const [na, nb] = net.addNodes(2)
  const fa = new FaultInjector()
  const fb = new FaultInjector()
  const a = fa.wrap(na!.transport)
  const b = fb.wrap(nb!.transport)
  const events: string[] = []
  const broadcasts: string[] = []
  for (const [name, t] of [['a', a], ['b', b]] as [string, Transport][]) {
    t.setRequestHandler(async (_from, frame) => frame)
    t.setBroadcastHandler((from) => broadcasts.push(`${name}<-${from}`))
    t.onPeerSeen((p) => events.push(`${name} seen ${p}`))
    t.onPeerLost((p) => events.push(`${name} lost ${p}`))
  }
  await a.start()
  await b.start()
  const run = () => net.scheduler.runUntilIdle({ maxTime: 60_000 })
  await run()
  return { a, b, fa, fb, events, broadcasts, run }
}

afterEach(closeAll)

describe('FaultyTransport', () => {
  it('a partition fails requests fast, drops broadcasts and peers; healing restores them', async () => {
    const { a, b, fa, fb, events, broadcasts, run } = await pair()
    expect(a.peers()).toEqual([b.localPeerId])
    events.length = 0

    fa.block([b.localPeerId])
    fb.block([a.localPeerId])
    expect(events.sort()).toEqual([`a lost ${b.localPeerId}`, `b lost ${a.localPeerId}`])
    expect(a.peers()).toEqual([])
    await expect(a.request(b.localPeerId, new Uint8Array([1]), { timeoutMs: 60_000 })).rejects.toBeInstanceOf(PeerUnreachableError)
    a.broadcast(new Uint8Array([1]))
    b.broadcast(new Uint8Array([2]))
    await run()
    expect(broadcasts).toEqual([])

    fa.block([])
    fb.block([])
    expect(events.filter((e) => e.includes('seen')).sort()).toEqual([`a seen ${b.localPeerId}`, `b seen ${a.localPeerId}`])
    const echoed = a.request(b.localPeerId, new Uint8Array([7]), { timeoutMs: 60_000 })
    a.broadcast(new Uint8Array([1]))
    await run()
    expect([...(await echoed)]).toEqual([7])
    expect(broadcasts).toEqual([`b<-${a.localPeerId}`])
  })

  it('a node that blocks a peer refuses that peer\'s requests even if the peer does not block it', async () => {
    const { a, b, fb, run } = await pair()
    fb.block([a.localPeerId])
    const answer = a.request(b.localPeerId, new Uint8Array([1]), { timeoutMs: 60_000 })
    answer.catch(() => undefined)
    await run()
    await expect(answer).rejects.toThrow()
  })
})

describe('POST /v1/_faults', () => {
  it('does not exist on a node without fault injection', async () => {
    const { server } = await testServer()
    const res = await server.app.inject({ method: 'POST', url: '/v1/_faults', payload: { block: [] } })
    expect(res.statusCode).toBe(404)
  })

  it('replaces the block list on a node with fault injection, and refuses a malformed one', async () => {
    const faults = new FaultInjector()
    const { server } = await testServer({ extraRoutes: (app) => registerFaultRoutes(app, faults) })
    const res = await server.app.inject({ method: 'POST', url: '/v1/_faults', payload: { block: ['peer-b', 'peer-a'] } })
    expect(res.statusCode).toBe(200)
    expect(res.json()).toEqual({ blocked: ['peer-a', 'peer-b'] })
    expect(faults.isBlocked('peer-a')).toBe(true)
    expect((await server.app.inject({ method: 'POST', url: '/v1/_faults', payload: { block: 'peer-a' } })).statusCode).toBe(400)
    expect((await server.app.inject({ method: 'POST', url: '/v1/_faults', payload: { block: [] } })).json()).toEqual({ blocked: [] })
    expect(faults.isBlocked('peer-a')).toBe(false)
  })
})
