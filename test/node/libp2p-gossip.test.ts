// Broadcast over gossipsub: the topic validator keeps undecodable and oversized frames
// away from the handler (and from other peers), `from` is the signed author, and nodes
// of another cluster neither count as peers nor see the broadcasts.
import type { Libp2p } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { clusterTopic, MAX_GOSSIP_FRAME_BYTES } from '../../node/libp2p/constants.js'
import type { Libp2pTransport } from '../../node/libp2p/libp2p-transport.js'
import { encodeMessage } from '../../src/wire/codec.js'
import { firstAddr, loopbackTransport, nextEvent, stopAll, until } from './fixtures/libp2p-harness.js'
import { createRawPeer, type RawPeer } from './fixtures/raw-peer.js'

const rumor = (key: string, size = 4) => encodeMessage({ type: 'rumor', key, state: new Uint8Array(size).fill(7) })

describe('libp2p transport gossip', () => {
  const transports: Libp2pTransport[] = []
  const raws: Libp2p[] = []
  afterEach(async () => {
    await stopAll(transports.splice(0))
    await Promise.all(raws.splice(0).map((r) => r.stop()))
  })

  async function node(cluster = 'test') {
    const t = await loopbackTransport({ cluster })
    transports.push(t)
    return t
  }

  async function rawPeer(): Promise<RawPeer> {
    const raw = await createRawPeer()
    raws.push(raw as unknown as Libp2p)
    return raw
  }

  it('rejects undecodable and oversized frames from a raw gossipsub peer, then delivers a valid one', async () => {
    const a = await node()
    const got: [string, Uint8Array][] = []
    a.setBroadcastHandler((from, frame) => got.push([from, frame]))
    await a.start()
    const raw = await rawPeer()
    const topic = clusterTopic('test')
    raw.services.pubsub.subscribe(topic)
    await raw.dial((await import('@multiformats/multiaddr')).multiaddr(firstAddr(a)))
    const rawId = raw.peerId.toString()
    await until([a], () => a.peers().includes(rawId), 'the raw peer counts as a peer (it joined the topic)')
    await until([a], () => raw.services.pubsub.getSubscribers(topic).some((p) => p.equals(a.libp2p.peerId)), 'the raw peer knows a subscribed')

    const oversized = rumor('big', MAX_GOSSIP_FRAME_BYTES) // decodable, but above the gossip limit
    expect(oversized.length).toBeGreaterThan(MAX_GOSSIP_FRAME_BYTES)
    await raw.services.pubsub.publish(topic, new Uint8Array([0xde, 0xad, 0xbe, 0xef]))
    await raw.services.pubsub.publish(topic, encodeMessage({ type: 'ack' })) // a valid frame, but not a broadcast
    await raw.services.pubsub.publish(topic, oversized)
    await until([a], () => a.counters().broadcastsRejected === 3, 'a rejected the three bad messages')
    expect(got).toEqual([])

    const valid = rumor('k')
    await raw.services.pubsub.publish(topic, valid)
    await until([a], () => got.length > 0, 'the valid broadcast arrived')
    expect(got).toEqual([[rawId, valid]])
    expect(a.counters()).toMatchObject({ broadcastsReceived: 1, broadcastsRejected: 3, gossipBytesReceived: valid.length })
  })

  it('names the signed author, not the forwarding peer, as the sender', async () => {
    // a — b — c in a line: c gets a's broadcast only through b.
    const [a, b, c] = [await node(), await node(), await node()]
    const gotByC: [string, Uint8Array][] = []
    c.setBroadcastHandler((from, frame) => gotByC.push([from, frame]))
    await Promise.all([a.start(), b.start(), c.start()])
    await a.dial(firstAddr(b))
    await c.dial(firstAddr(b))
    const all = [a, b, c]
    await until(all, () => b.peers().length === 2 && a.peers().length === 1 && c.peers().length === 1, 'the line is up')
    expect(c.peers()).toEqual([b.peerId])
    // b forwards only to its gossipsub mesh, which takes c in at b's next heartbeat (about
    // 1 s): broadcast again after each copy b got, until one reaches c.
    for (let i = 1; gotByC.length === 0 && i <= 20; i++) {
      a.broadcast(rumor(`line-${i}`))
      await until(all, () => b.counters().broadcastsReceived >= i, `b received broadcast ${i}`, 5000)
      for (let j = 0; j < 5 && gotByC.length === 0; j++) await nextEvent(all, 100)
    }
    expect(gotByC.length).toBeGreaterThan(0)
    expect(gotByC.every(([from]) => from === a.peerId)).toBe(true)
  })

  it('keeps clusters apart: connected nodes of another cluster are not peers and do not get its broadcasts', async () => {
    const [a, b, other] = [await node('blue'), await node('blue'), await node('green')]
    const gotByOther: Uint8Array[] = []
    const gotByB: Uint8Array[] = []
    other.setBroadcastHandler((_from, frame) => gotByOther.push(frame))
    b.setBroadcastHandler((_from, frame) => gotByB.push(frame))
    await Promise.all([a.start(), b.start(), other.start()])
    await a.dial(firstAddr(b))
    await a.dial(firstAddr(other))
    await other.dial(firstAddr(b))
    const all = [a, b, other]
    await until(all, () => a.peers().length === 1 && b.peers().length === 1, 'a and b see each other')
    // Subscriptions travel with the same gossipsub streams: once b is a peer, other's (green) subscription has arrived too.
    await until(all, () => a.libp2p.services.pubsub.getPeers().length === 2, 'a has gossipsub streams to both')
    a.broadcast(rumor('blue'))
    await until(all, () => gotByB.length > 0, 'b got the broadcast')
    expect(a.peers()).toEqual([b.peerId])
    expect(other.peers()).toEqual([])
    expect(a.libp2p.getConnections(other.libp2p.peerId).length).toBeGreaterThan(0)
    expect(gotByOther).toEqual([])
  })

  it('publishing with no peers does not throw, and a frame above the limit is not sent', async () => {
    const a = await node()
    await a.start()
    a.broadcast(rumor('alone'))
    a.broadcast(new Uint8Array(MAX_GOSSIP_FRAME_BYTES + 1))
    expect(a.counters()).toMatchObject({ broadcastsSent: 1, broadcastsDropped: 1 })
  })
})
