// Three embedded databases on real libp2p over 127.0.0.1, joined by bootstrap: writes of
// every type on one are read with r = 3 on another, and read repair and anti-entropy
// make all three equal.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openDatabase, type NetworkedDatabase } from '../../node/index.js'
import { until } from '../support/waits.js'

const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 300, handoffIntervalMs: 300 }
let dir: string
const dbs: NetworkedDatabase[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-p2p-'))
  const first = await openDatabase({ dataDir: join(dir, 'a'), network: { listen: LOOPBACK, mdns: false }, engine: FAST })
  dbs.push(first)
  // Private by default: the others join with the first node's invite (secret and addresses).
  const join_ = first.invite()
  for (const name of ['b', 'c']) {
    dbs.push(await openDatabase({ dataDir: join(dir, name), network: { listen: LOOPBACK, mdns: false, join: join_ }, engine: FAST }))
  }
  await until(() => dbs.every((d) => d.members().members.filter((m) => m.status === 'alive').length === 3), 'three alive members everywhere')
}, 60_000)

afterAll(async () => {
  await Promise.all(dbs.map((d) => d.close()))
  rmSync(dir, { recursive: true, force: true })
})

describe('openDatabase({ network }) on libp2p', () => {
  it('reads writes of every type from another node with r = 3', async () => {
    const [a, , c] = dbs as [NetworkedDatabase, NetworkedDatabase, NetworkedDatabase]
    expect((await a.counter('visits').increment(3)).quorum).toBe(true)
    await a.counter('visits').decrement(1)
    await a.gcounter('likes').increment(7)
    await a.set('tags').add({ color: 'red' })
    await a.register('title').set('hello')
    expect(await c.get('visits', { r: 3 })).toEqual({ key: 'visits', type: 'pncounter', value: 2, replicas: 3 })
    expect(await c.get('likes', { r: 3 })).toEqual({ key: 'likes', type: 'gcounter', value: 7, replicas: 3 })
    expect(await c.get('tags', { r: 3 })).toEqual({ key: 'tags', type: 'orset', value: [{ color: 'red' }], replicas: 3 })
    expect(await c.get('title', { r: 3 })).toEqual({ key: 'title', type: 'lww', value: 'hello', replicas: 3 })
  })

  it('makes all three replicas equal (every node stores every key with n = 3)', async () => {
    const [a, b, c] = dbs as [NetworkedDatabase, NetworkedDatabase, NetworkedDatabase]
    await Promise.all([a.counter('shared').increment(1), b.counter('shared').increment(2), c.counter('shared').increment(4)])
    await until(async () => {
      const local = await Promise.all(dbs.map((d) => d.get('shared', { r: 1 })))
      return local.every((v) => v?.value === 7)
    }, 'every node to hold 7 locally')
    const keysOf = (d: NetworkedDatabase): string[] => d.keys({ limit: 100 }).map((k) => k.key)
    await until(() => keysOf(a).length === 5 && keysOf(b).length === 5 && keysOf(c).length === 5, 'every node to store all five keys')
    expect(keysOf(b)).toEqual(keysOf(a))
  })

  it('uses the persisted peer id as its node id and announces real addresses', () => {
    for (const d of dbs) {
      expect(d.nodeId).toBe(d.transport!.peerId)
      const self = d.members().members.find((m) => m.id === d.nodeId)
      expect(self?.addrs.some((addr) => addr.startsWith('/ip4/127.0.0.1/tcp/') && !addr.includes('/tcp/0/'))).toBe(true)
    }
  })
})

describe('private by default', () => {
  it('a node with its own secret, or an open one, cannot reach the cluster; one with the invite can', async () => {
    const first = dbs[0]!
    const outsider = await openDatabase({ dataDir: join(dir, 'outsider'), network: { listen: LOOPBACK, mdns: false, bootstrap: first.transport!.multiaddrs() }, engine: FAST })
    const open = await openDatabase({ dataDir: join(dir, 'open'), network: { listen: LOOPBACK, mdns: false, open: true, bootstrap: first.transport!.multiaddrs() }, engine: FAST })
    try {
      expect(outsider.access?.source).toBe('created')
      expect(() => open.invite()).toThrow(/its cluster is open/)
      // Their dials fail at the handshake: nobody ever becomes a member of the other side.
      await outsider.counter('probe').increment()
      await open.counter('probe').increment()
      // Each keeps dialing the cluster's first node and fails at the handshake (pnet).
      await until(() => outsider.transport!.counters().dialsFailed >= 2 && open.transport!.counters().dialsFailed >= 2, 'failed dials from both')
      for (const db of [outsider, open]) expect(db.members().members.map((m) => m.id)).toEqual([db.nodeId])
      expect(first.members().members.map((m) => m.id)).not.toContain(outsider.nodeId)
      expect(first.members().members.map((m) => m.id)).not.toContain(open.nodeId)
      expect(await first.get('probe')).toBeUndefined()
    } finally {
      await outsider.close()
      await open.close()
    }
  }, 60_000)
})
