// Joining through the bootstrap list, redialing with backoff, getting lost peers back,
// and the transport's lifecycle and configuration errors.
import type { PrivateKey } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { SwarmKeyError, TransportConfigError } from '../../node/libp2p/errors.js'
import type { Libp2pTransport } from '../../node/libp2p/libp2p-transport.js'
import { backoffDelay } from '../../node/libp2p/redialer.js'
import { TransportStoppedError } from '../../src/transport/transport.js'
import { firstAddr, loopbackTransport, newPrivateKey, stopAll, until } from './fixtures/libp2p-harness.js'

const transports: Libp2pTransport[] = []
afterEach(async () => {
  await stopAll(transports.splice(0))
})

async function node(options: Parameters<typeof loopbackTransport>[0] = {}): Promise<Libp2pTransport> {
  const t = await loopbackTransport(options)
  transports.push(t)
  return t
}

/** Starts a node with `key`, notes its address, and stops it: the address is free again. */
async function reserveAddress(key: PrivateKey): Promise<string> {
  const t = await node({ privateKey: key })
  await t.start()
  const addr = firstAddr(t)
  await t.stop()
  return addr
}

function listenOf(addr: string): string[] {
  return [addr.replace(/\/p2p\/.*$/, '')]
}

describe('discovery', () => {
  it('joins through the bootstrap list', async () => {
    const a = await node()
    await a.start()
    const b = await node({ bootstrap: [firstAddr(a)] })
    const seenByB: string[] = []
    b.onPeerSeen((p) => seenByB.push(p))
    await b.start()
    await until([a, b], () => a.peers().includes(b.peerId) && b.peers().includes(a.peerId), 'a and b see each other')
    expect(seenByB).toEqual([a.peerId])
  })

  it('keeps retrying a bootstrap peer that is down, and joins when it comes up', async () => {
    const keyA = await newPrivateKey()
    const addrA = await reserveAddress(keyA)
    const b = await node({ bootstrap: [addrA] })
    await b.start()
    await until([b], () => b.counters().dialsFailed >= 2, 'b failed to dial a twice')
    const a = await node({ privateKey: keyA, listen: listenOf(addrA) })
    await a.start()
    await until([a, b], () => b.peers().includes(a.peerId) && a.peers().includes(b.peerId), 'b reached a once it was up')
  })

  it('reports a peer lost when it stops and seen again when it restarts (redial after loss)', async () => {
    const keyB = await newPrivateKey()
    const a = await node()
    const b1 = await node({ privateKey: keyB })
    const events: string[] = []
    a.onPeerSeen((p) => events.push(`seen ${p === b1.peerId ? 'b' : p}`))
    a.onPeerLost((p) => events.push(`lost ${p === b1.peerId ? 'b' : p}`))
    await Promise.all([a.start(), b1.start()])
    const addrB = firstAddr(b1)
    await a.dial(addrB)
    await until([a, b1], () => a.peers().length === 1, 'a sees b')
    await b1.stop()
    await until([a], () => a.peers().length === 0, 'a lost b')
    // b comes back on the same address; b knows nobody, so a must redial it.
    const b2 = await node({ privateKey: keyB, listen: listenOf(addrB) })
    await b2.start()
    await until([a, b2], () => a.peers().includes(b2.peerId), 'a got b back')
    expect(events).toEqual(['seen b', 'lost b', 'seen b'])
  })

  it('connects to a member it learned of from an announcement', async () => {
    const [a, b] = [await node(), await node()]
    await Promise.all([a.start(), b.start()])
    a.learnPeerAddresses?.(b.peerId, ['garbage', ...b.multiaddrs()])
    await until([a, b], () => a.peers().includes(b.peerId) && b.peers().includes(a.peerId), 'a dialed b')
    a.learnPeerAddresses?.(a.peerId, b.multiaddrs()) // itself: ignored
    a.learnPeerAddresses?.('not a peer id', b.multiaddrs()) // ignored
    expect(a.peers()).toEqual([b.peerId])
  })

  it('backoff delays grow exponentially up to the ceiling, with jitter in the upper half', () => {
    const opts = { baseMs: 100, maxMs: 1000 }
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, opts, () => 0))).toEqual([50, 100, 200, 400, 500, 500])
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, opts, () => 0.999999))).toEqual([100, 200, 400, 800, 1000, 1000].map((x) => expect.closeTo(x, 2)))
  })
})

describe('lifecycle and configuration', () => {
  it('start and stop are idempotent; a stopped transport refuses to restart and to send', async () => {
    const a = await node()
    await Promise.all([a.start(), a.start()])
    expect(a.multiaddrs()[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3Koo/)
    await Promise.all([a.stop(), a.stop()])
    await a.stop()
    await expect(a.start()).rejects.toBeInstanceOf(TransportStoppedError)
    await expect(a.request('x', new Uint8Array(1), { timeoutMs: 100 })).rejects.toBeInstanceOf(TransportStoppedError)
    a.broadcast(new Uint8Array([1])) // best effort: silently nothing
    expect(a.peers()).toEqual([])
  })

  it('stopping a transport that never started is fine', async () => {
    const a = await node()
    await a.stop()
    await expect(a.start()).rejects.toBeInstanceOf(TransportStoppedError)
  })

  it.each([
    ['cluster name', { cluster: 'no spaces please' }, TransportConfigError],
    ['cluster name', { cluster: '' }, TransportConfigError],
    ['listen address', { listen: ['not-a-multiaddr'] }, TransportConfigError],
    ['bootstrap address without a peer id', { bootstrap: ['/ip4/127.0.0.1/tcp/4001'] }, TransportConfigError],
    ['swarm key', { swarmKey: 'hello' }, SwarmKeyError],
  ] as const)('refuses a bad %s with a named error', async (_what, options, error) => {
    await expect(loopbackTransport(options)).rejects.toBeInstanceOf(error)
  })
})
