import { describe, expect, it } from 'vitest'
import { SimNetwork, type SimNode, type SimNetworkOptions } from '../../src/sim/index.js'
import { InMemoryStore } from '../../src/store/memory-store.js'
import { TransportTimeoutError } from '../../src/transport/transport.js'

const frame = (n: number) => new Uint8Array([n & 0xff, (n >> 8) & 0xff])

/** n started nodes that record the broadcasts they get and echo requests. */
async function cluster(n: number, options: Partial<SimNetworkOptions> = {}) {
  const net = new SimNetwork({ seed: 1234, ...options })
  const nodes = net.addNodes(n)
  const got = new Map<string, { from: string; n: number }[]>()
  const events: string[] = []
  for (const node of nodes) wire(node)
  function wire(node: SimNode) {
    got.set(node.id, [])
    node.transport.setBroadcastHandler((from, f) => got.get(node.id)?.push({ from, n: (f[0] ?? 0) + ((f[1] ?? 0) << 8) }))
    node.transport.setRequestHandler(async (_from, f) => f)
    node.transport.onPeerSeen((p) => events.push(`${node.id} seen ${p}`))
    node.transport.onPeerLost((p) => events.push(`${node.id} lost ${p}`))
  }
  for (const node of nodes) await node.transport.start()
  await net.scheduler.runUntilIdle()
  events.length = 0
  const ids = nodes.map((x) => x.id)
  return { net, nodes, ids, got, events, wire }
}

describe('SimNetwork', () => {
  it('loses frames at the configured rate (seeded, so the bound is exact for this seed)', async () => {
    const seed = 20240601
    console.log(`loss-rate seed ${seed}`)
    const { net, nodes, got } = await cluster(2, { seed, link: { loss: 0.1 } })
    const sends = 20_000
    for (let i = 0; i < sends; i++) nodes[0]?.transport.broadcast(frame(i))
    await net.scheduler.runUntilIdle()
    const rate = 1 - (got.get(nodes[1]?.id ?? '')?.length ?? 0) / sends
    // 5 standard deviations of a binomial(20000, 0.1) rate: 0.0106.
    expect(Math.abs(rate - 0.1)).toBeLessThan(5 * Math.sqrt((0.1 * 0.9) / sends))
    expect(net.counters()).toMatchObject({ sent: sends, lost: sends - (got.get(nodes[1]?.id ?? '')?.length ?? 0), duplicated: 0 })
  })

  it('duplicates frames at the configured rate', async () => {
    const { net, nodes, got } = await cluster(2, { link: { duplicate: 0.2 } })
    for (let i = 0; i < 10_000; i++) nodes[0]?.transport.broadcast(frame(i))
    await net.scheduler.runUntilIdle()
    const extra = (got.get(nodes[1]?.id ?? '')?.length ?? 0) - 10_000
    expect(extra).toBe(net.counters().duplicated)
    expect(Math.abs(extra / 10_000 - 0.2)).toBeLessThan(5 * Math.sqrt((0.2 * 0.8) / 10_000))
  })

  it('keeps frames in order without jitter, and reorders them with jitter or extra reordering', async () => {
    const outOfOrder = async (link: SimNetworkOptions['link']) => {
      const { net, nodes, got } = await cluster(2, { link })
      for (let i = 0; i < 1000; i++) {
        nodes[0]?.transport.broadcast(frame(i))
        await net.scheduler.runFor(0.1)
      }
      await net.scheduler.runUntilIdle()
      const order = (got.get(nodes[1]?.id ?? '') ?? []).map((g) => g.n)
      expect(order.length).toBe(1000)
      return order.filter((n, i) => i > 0 && n < (order[i - 1] ?? 0)).length
    }
    expect(await outOfOrder({ latency: { baseMs: 1, jitterMs: 0 } })).toBe(0)
    expect(await outOfOrder({ latency: { baseMs: 1, jitterMs: 2, jitter: 'uniform' } })).toBeGreaterThan(50)
    expect(await outOfOrder({ latency: { baseMs: 1, jitterMs: 0 }, reorder: 0.1, reorderDelayMs: 5 })).toBeGreaterThan(20)
  })

  it('latency follows the link: base plus jitter, per-link overrides one way or both', async () => {
    const { net, nodes } = await cluster(3, { link: { latency: { baseMs: 10, jitterMs: 0 } } })
    const [a, b, c] = nodes as [SimNode, SimNode, SimNode]
    net.setLink(a.id, b.id, { latency: { baseMs: 100 } }, { oneWay: true })
    const arrivals: string[] = []
    b.transport.setBroadcastHandler((from) => arrivals.push(`b<-${from}@${net.scheduler.now - t0}`))
    c.transport.setBroadcastHandler((from) => arrivals.push(`c<-${from}@${net.scheduler.now - t0}`))
    a.transport.setBroadcastHandler((from) => arrivals.push(`a<-${from}@${net.scheduler.now - t0}`))
    const t0 = net.scheduler.now
    a.transport.broadcast(frame(1))
    b.transport.broadcast(frame(2))
    await net.scheduler.runUntilIdle()
    expect(arrivals).toEqual(['c<-n0@10', 'a<-n1@10', 'c<-n1@10', 'b<-n0@100'])
    expect(net.link(b.id, a.id).latency.baseMs).toBe(10)
  })

  it('a partition blocks requests and broadcasts across the cut, and heal restores them', async () => {
    const { net, nodes, got, events } = await cluster(5)
    const [a, b, c, d, e] = nodes as [SimNode, SimNode, SimNode, SimNode, SimNode]
    net.partition([[a.id, b.id], [c.id, d.id, e.id]])
    expect(a.transport.peers()).toEqual([b.id])
    expect(c.transport.peers()).toEqual([d.id, e.id])
    a.transport.broadcast(frame(1))
    const across = a.transport.request(c.id, frame(2), { timeoutMs: 1000 }).catch((err: unknown) => err)
    await net.scheduler.runUntilIdle()
    expect(await across).toBeInstanceOf(TransportTimeoutError)
    expect(nodes.map((n) => got.get(n.id)?.length)).toEqual([0, 1, 0, 0, 0])
    expect(events.filter((x) => x.startsWith(`${a.id} `))).toEqual([`${a.id} lost ${c.id}`, `${a.id} lost ${d.id}`, `${a.id} lost ${e.id}`])
    expect(events.length).toBe(2 * 2 * 3)

    events.length = 0
    net.heal()
    expect(a.transport.peers()).toEqual([b.id, c.id, d.id, e.id])
    const back = net.scheduler.runUntilSettled(a.transport.request(c.id, frame(3), { timeoutMs: 1000 }))
    expect(await back).toEqual(frame(3))
    expect(events.length).toBe(2 * 2 * 3)
    expect(events).toContain(`${c.id} seen ${a.id}`)
  })

  it('nodes listed in no group stay together, and frames in flight across a new cut are lost', async () => {
    const { net, nodes, got } = await cluster(4, { link: { latency: { baseMs: 50, jitterMs: 0 } } })
    const [a, b, c, d] = nodes as [SimNode, SimNode, SimNode, SimNode]
    a.transport.broadcast(frame(1))
    await net.scheduler.runFor(10)
    net.isolate(a.id)
    expect(net.reachable(b.id, c.id) && net.reachable(c.id, d.id)).toBe(true)
    expect(net.reachable(a.id, b.id)).toBe(false)
    await net.scheduler.runUntilIdle()
    expect(nodes.map((n) => got.get(n.id)?.length)).toEqual([0, 0, 0, 0])
    expect(net.counters()).toMatchObject({ sent: 3, dropped: 3, delivered: 0 })
    expect(() => net.partition([[a.id], [a.id, b.id]])).toThrow(RangeError)
    expect(() => net.partition([['nobody']])).toThrow(/no simulated node nobody/)
  })

  it('a crash cancels the node timers and pending commits, loses frames to it, and its requests never settle', async () => {
    const { net, nodes, events } = await cluster(3, { link: { latency: { baseMs: 5, jitterMs: 0 } } })
    const [a, b, c] = nodes as [SimNode, SimNode, SimNode]
    let timerFired = false
    b.clock.setTimeout(() => {
      timerFired = true
    }, 100)
    const store = new InMemoryStore({ schedule: b.schedule })
    void store.write({ meta: [{ name: 'x', value: new Uint8Array([1]) }] })
    b.transport.setRequestHandler(() => new Promise(() => undefined))
    let bRequestSettled = false
    void b.transport.request(c.id, frame(1), { timeoutMs: 50 }).finally(() => {
      bRequestSettled = true
    })
    const toB = a.transport.request(b.id, frame(2), { timeoutMs: 200 }).catch((err: unknown) => err)
    const crashCopy = store.crashCopy()
    net.crash(b.id)
    expect(net.node(b.id).up).toBe(false)
    await net.scheduler.runUntilIdle()
    expect(timerFired).toBe(false)
    expect(bRequestSettled).toBe(false)
    expect(await toB).toBeInstanceOf(TransportTimeoutError)
    expect(store.crashCopy().getMeta('x')).toBeUndefined()
    expect(crashCopy.getMeta('x')).toBeUndefined()
    expect(events).toEqual([`${a.id} lost ${b.id}`, `${c.id} lost ${b.id}`])
    expect(a.transport.peers()).toEqual([c.id])
    // The dead endpoint neither sends nor counts.
    const sent = net.counters().sent
    b.transport.broadcast(frame(3))
    expect(net.counters().sent).toBe(sent)
  })

  it('restart gives the node a fresh endpoint, clock and random stream; peers see it again', async () => {
    const { net, nodes, events, wire, got } = await cluster(3)
    const [a, b] = nodes as [SimNode, SimNode]
    const oldTransport = b.transport
    const oldClock = b.clock
    const oldRandom = b.random.next()
    expect(() => net.restart(b.id)).toThrow(/running/)
    net.crash(b.id)
    const node = net.restart(b.id)
    expect(node).toBe(b)
    expect(b.incarnation).toBe(1)
    expect(b.transport).not.toBe(oldTransport)
    expect(b.clock).not.toBe(oldClock)
    expect(b.random.next()).not.toBe(oldRandom)
    wire(b)
    events.length = 0
    await b.transport.start()
    await net.scheduler.runUntilIdle()
    // The crash's lost events were due at the crash instant; the new incarnation's seen events follow.
    expect(events).toEqual([
      `${a.id} lost ${b.id}`,
      `n2 lost ${b.id}`,
      `${b.id} seen ${a.id}`,
      `${a.id} seen ${b.id}`,
      `${b.id} seen n2`,
      `n2 seen ${b.id}`,
    ])
    a.transport.broadcast(frame(9))
    await net.scheduler.runUntilIdle()
    expect(got.get(b.id)).toEqual([{ from: a.id, n: 9 }])
    // A gracefully stopped node may be restarted too.
    await b.transport.stop()
    expect(net.restart(b.id).incarnation).toBe(2)
  })

  it('counts messages and bytes per node and in total', async () => {
    const { net, nodes } = await cluster(3)
    const [a, b, c] = nodes as [SimNode, SimNode, SimNode]
    a.transport.broadcast(new Uint8Array(10))
    await net.scheduler.runUntilSettled(b.transport.request(c.id, new Uint8Array(4), { timeoutMs: 100 }))
    await net.scheduler.runUntilIdle()
    expect(net.nodeCounters(a.id)).toEqual({ messagesSent: 2, bytesSent: 20, messagesReceived: 0, bytesReceived: 0 })
    expect(net.nodeCounters(b.id)).toEqual({ messagesSent: 1, bytesSent: 4, messagesReceived: 2, bytesReceived: 14 })
    expect(net.nodeCounters(c.id)).toEqual({ messagesSent: 1, bytesSent: 4, messagesReceived: 2, bytesReceived: 14 })
    expect(net.counters()).toEqual({
      sent: 4, bytesSent: 28, delivered: 4, bytesDelivered: 28, resets: 0, lost: 0, dropped: 0, duplicated: 0, requests: 1, responses: 1, broadcasts: 2,
    })
    expect(net.isQuiet()).toBe(true)
  })

  it('isQuiet waits for frames in flight and open requests', async () => {
    const { net, nodes } = await cluster(2, { link: { latency: { baseMs: 10, jitterMs: 0 } } })
    const [a, b] = nodes as [SimNode, SimNode]
    b.transport.setRequestHandler(() => new Promise(() => undefined))
    expect(net.isQuiet()).toBe(true)
    const p = a.transport.request(b.id, frame(1), { timeoutMs: 1000 }).catch(() => 'timed out')
    expect(net.isQuiet()).toBe(false)
    const r = await net.scheduler.runUntil(() => net.isQuiet())
    expect(r.now - net.scheduler.now).toBe(0)
    expect(await p).toBe('timed out')
  })

  it('rejects bad configuration with a clear error', () => {
    expect(() => new SimNetwork({ seed: 1, link: { loss: 1.5 } })).toThrow(/loss must be a probability/)
    const net = new SimNetwork({ seed: 1 })
    net.addNode('a')
    expect(() => net.addNode('a')).toThrow(/already exists/)
    expect(() => net.setLink('a', 'b', { loss: 0.5 })).toThrow(/no simulated node b/)
  })
})
