// mDNS discovery between real processes in two network namespaces linked by a veth pair:
// multicast stays inside the namespaces this test creates. Two clusters share the "LAN";
// each node finds exactly the members of its own cluster. Skipped, with the reason
// printed, where namespaces cannot be created (not Linux, not root, no iproute2).
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNamespacePair, NamespacedProcess, netnsUnavailable, type NamespacePair } from './fixtures/netns.js'

const unavailable = netnsUnavailable()
if (unavailable !== undefined) console.log(`skipping mDNS tests: ${unavailable}`)

const script = fileURLToPath(new URL('./fixtures/mdns-peer.ts', import.meta.url))

describe.skipIf(unavailable !== undefined)('mDNS discovery in network namespaces', () => {
  let pair: NamespacePair | undefined
  const procs: NamespacedProcess[] = []

  beforeAll(() => {
    pair = createNamespacePair(`rdb${process.pid}`)
  })
  afterAll(async () => {
    await Promise.all(procs.splice(0).map((p) => p.stop()))
    pair?.destroy()
  })

  function peer(side: 0 | 1, cluster: string): NamespacedProcess {
    if (pair === undefined) throw new Error('namespaces not created')
    const p = new NamespacedProcess(pair.names[side], script, [JSON.stringify({ listen: [`/ip4/${pair.addrs[side]}/tcp/0`], cluster })])
    procs.push(p)
    return p
  }

  const idOf = async (p: NamespacedProcess) => (await p.waitFor((e) => e.type === 'ready', 'ready')).peerId as string
  const seenBy = (p: NamespacedProcess) => p.events.filter((e) => e.type === 'seen').map((e) => e.peer)

  it('finds the peers of its own cluster, and only those, then requests and loss work', async () => {
    const a = peer(0, 'blue')
    const b = peer(1, 'blue')
    const c = peer(1, 'green') // shares b's namespace, so the same "LAN" as a and b
    const d = peer(0, 'green')
    const [idA, idB, idC, idD] = await Promise.all([a, b, c, d].map(idOf))

    await Promise.all([
      a.waitFor((e) => e.type === 'seen' && e.peer === idB, 'a sees b'),
      b.waitFor((e) => e.type === 'seen' && e.peer === idA, 'b sees a'),
      c.waitFor((e) => e.type === 'seen' && e.peer === idD, 'c sees d'),
      d.waitFor((e) => e.type === 'seen' && e.peer === idC, 'd sees c'),
    ])
    expect(seenBy(a)).toEqual([idB])
    expect(seenBy(b)).toEqual([idA])
    expect(seenBy(c)).toEqual([idD])
    expect(seenBy(d)).toEqual([idC])

    a.send({ type: 'request', peer: idB })
    const reply = await a.waitFor((e) => e.type === 'reply', 'a gets an answer from b')
    expect(reply.text).toBe(`${idB} answers ${idA}: hello`)

    await b.stop()
    await a.waitFor((e) => e.type === 'lost' && e.peer === idB, 'a reports b lost')
    // Each wait allows 60 s: four processes starting on a busy 2-core machine can take long.
  }, 300_000)
})
