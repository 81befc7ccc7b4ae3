// Each replication mechanism alone, on the deterministic simulator.
import { describe, expect, it } from 'vitest'
import { PNCounter, crdtTypes } from '../../crdts/index.js'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { QuorumNotMetError } from '../../src/base/errors.js'
import { SimCluster } from './sim-cluster.js'
import { ConnectionResetError, PeerUnreachableError, type Transport } from '../../src/transport/transport.js'
import { MESSAGE_TAGS } from '../../src/wire/codec.js'

/** A transport's methods bound to it, to wrap some of them. */
function bindAll(t: Transport): Transport {
  return {
    localPeerId: t.localPeerId,
    request: t.request.bind(t),
    broadcast: t.broadcast.bind(t),
    setRequestHandler: t.setRequestHandler.bind(t),
    setBroadcastHandler: t.setBroadcastHandler.bind(t),
    onPeerSeen: t.onPeerSeen.bind(t),
    onPeerLost: t.onPeerLost.bind(t),
    peers: t.peers.bind(t),
    start: t.start.bind(t),
    stop: t.stop.bind(t),
  }
}

/** Deltas go to a replica as a replicate, or several as a replicate-batch. */
const REPLICATION_TAGS: ReadonlySet<number> = new Set([MESSAGE_TAGS.replicate, MESSAGE_TAGS['replicate-batch']])

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261122)
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 500, handoffIntervalMs: 300 }

async function cluster(size: number, seed = SEED, config = {}): Promise<SimCluster> {
  const c = new SimCluster({ seed, size, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: { ...FAST, ...config } })
  await c.start()
  await c.runFor(1000)
  return c
}

function counterValue(state: Uint8Array | undefined): number {
  return state === undefined ? 0 : PNCounter.value(PNCounter.decode(state))
}

/** The preference list the cluster agrees on for `key`. */
function owners(c: SimCluster, key: string, n = 3): string[] {
  return preferenceList(c.engine(c.ids[0] as string).membership.ring().ring, key, n)
}

describe(`cluster engine on the simulator (seed ${SEED})`, () => {
  it('all members see each other alive after start', async () => {
    const c = await cluster(5)
    for (const id of c.ids) {
      const members = c.engine(id).members()
      expect(members.map((m) => m.id)).toEqual(c.ids)
      expect(members.every((m) => m.status === 'alive')).toBe(true)
    }
  })

  it('a write on one node is read with r = 3 on another, for every type', async () => {
    const c = await cluster(3)
    const a = c.engine(c.ids[0] as string)
    await c.settle(a.write('visits', { type: 'pncounter', op: 'increment', amount: 5 }))
    await c.settle(a.write('likes', { type: 'gcounter', op: 'increment', amount: 2 }))
    await c.settle(a.write('cart', { type: 'orset', op: 'add', element: { sku: 'apple' } }))
    await c.settle(a.write('name', { type: 'lww', op: 'set', value: 'Ada' }))
    const b = c.engine(c.ids[2] as string)
    const read = async (key: string, type: 'pncounter' | 'gcounter' | 'orset' | 'lww') => {
      const r = await c.settle(b.read(key, type, { r: 3 }))
      expect(r.replicas).toBe(3)
      return (crdtTypes[type] as { value(s: unknown): unknown }).value(r.state)
    }
    expect(await read('visits', 'pncounter')).toBe(5)
    expect(await read('likes', 'gcounter')).toBe(2)
    expect(await read('cart', 'orset')).toEqual([{ sku: 'apple' }])
    expect(await read('name', 'lww')).toBe('Ada')
  })

  it('returns after w acks and reports quorum', async () => {
    const c = await cluster(5)
    const r = await c.settle(c.engine(c.ids[1] as string).write('k', { type: 'gcounter', op: 'increment', amount: 1 }, { w: 3 }))
    expect(r.acks).toBeGreaterThanOrEqual(3)
    expect(r.quorum).toBe(true)
    await c.runFor(500)
    const holders = c.statesOf('k').filter((s) => s !== undefined).length
    expect(holders).toBe(3)
  })

  it('sloppy quorum: an unreachable owner is replaced by a fallback that keeps a hint, handed off after restart', async () => {
    const c = await cluster(5)
    const key = 'sloppy'
    const [first, second] = owners(c, key)
    const coordinator = c.ids.find((id) => !owners(c, key).includes(id)) as string
    c.crash(second as string)
    await c.runFor(4000) // the failure detector suspects it
    expect(c.engine(coordinator).membership.health(second as string)).toBe('suspect')
    const r = await c.settle(c.engine(coordinator).write(key, { type: 'pncounter', op: 'increment', amount: 7 }, { w: 3 }))
    expect(r.quorum).toBe(true)
    expect(r.acks).toBe(3)
    const hinted = c.upIds().filter((id) => c.member(id).store.listHints(second).some((h) => h.key === key))
    expect(hinted.length).toBeGreaterThanOrEqual(1)
    expect(owners(c, key)).toContain(first)

    await c.restart(second as string)
    await c.scheduler.runUntil(() => counterValue(c.member(second as string).store.getKey(key)?.state) === 7, { maxTime: 20_000 })
    expect(counterValue(c.member(second as string).store.getKey(key)?.state)).toBe(7)
    await c.runFor(2000)
    for (const id of c.upIds()) expect(c.member(id).store.listHints(second).filter((h) => h.key === key)).toEqual([])
  })

  it('hands off hundreds of hints in one pass once the owner is back, not one batch per interval', async () => {
    // Anti-entropy off, so only the handoff can bring the cut node its keys.
    const c = await cluster(5, SEED, { antiEntropyIntervalMs: 1_000_000 })
    const cut = c.ids[4] as string
    const coordinator = c.ids[0] as string
    c.net.partition([[cut]])
    await c.runFor(4000) // the failure detector suspects it: writes go to fallbacks at once
    const keys = Array.from({ length: 4000 }, (_, i) => `handoff-${i}`).filter((k) => owners(c, k).includes(cut)).slice(0, 1600)
    for (let i = 0; i < keys.length; i += 64) {
      await c.settle(Promise.all(keys.slice(i, i + 64).map((k) => c.engine(coordinator).write(k, { type: 'gcounter', op: 'increment', amount: 1 }))))
    }
    const hints = () => c.upIds().reduce((sum, id) => sum + c.member(id).store.listHints(cut).length, 0)
    // A write returns after w acks; the delivery to the cut owner's fallback may still be under way.
    await c.settle(c.engine(coordinator).coordinator.drain())
    expect(hints()).toBe(keys.length)

    c.net.heal()
    const healed = c.scheduler.now
    await c.scheduler.runUntil(() => hints() === 0, { maxTime: 30_000 })
    const tookMs = c.scheduler.now - healed
    // The owner is seen alive within a few heartbeats (200 ms), then one pass (300 ms apart)
    // sends everything; at one batch of 64 per pass this took at least 10 passes.
    expect(hints()).toBe(0)
    console.log(`handoff of ${keys.length} hints took ${tookMs} ms after the heal`)
    expect(tookMs).toBeLessThan(1200)
    for (const k of keys) expect(c.member(cut).store.getKey(k)).toBeDefined()
  })

  it('hands hints over soon after a partition no connection noticed heals, though deliveries had failed and backed off before', async () => {
    // Requests that replicate to the owner fail while `failing` is set, heartbeats still
    // flow: the owner looks alive, every delivery fails, and the handoff backs off (up to
    // 30 s) as it does when the first seconds of a partition or a lossy link eat them.
    let failing = false
    let owner = ''
    const c = new SimCluster({
      seed: SEED,
      size: 5,
      link: { latency: { baseMs: 1, jitterMs: 1 } },
      config: { ...FAST, antiEntropyIntervalMs: 1_000_000 },
      transport: (node) => ({
        ...bindAll(node.transport),
        request: (peer, frame, options) =>
          failing && peer === owner && REPLICATION_TAGS.has(frame[1] as number) ? Promise.reject(new ConnectionResetError(peer)) : node.transport.request(peer, frame, options),
      }),
    })
    await c.start()
    await c.runFor(1000)
    owner = c.ids[4] as string
    const coordinator = c.ids[0] as string
    const keys = Array.from({ length: 400 }, (_, i) => `backoff-${i}`).filter((k) => owners(c, k).includes(owner)).slice(0, 40)
    const hints = () => c.upIds().reduce((sum, id) => sum + c.member(id).store.listHints(owner).length, 0)
    const failed = () => c.upIds().reduce((sum, id) => sum + c.engine(id).status().handoff.failedAttempts, 0)
    failing = true
    await c.settle(Promise.all(keys.map((k) => c.engine(coordinator).write(k, { type: 'gcounter', op: 'increment', amount: 1 }))))
    await c.runFor(20_000)
    expect(c.engine(coordinator).membership.health(owner)).toBe('alive')
    expect(hints()).toBeGreaterThan(0)
    expect(failed()).toBeGreaterThanOrEqual(4)
    // Then a short partition that no connection notices (TCP outlives it): the owner is
    // suspected by its missing heartbeats, then it heals, and no peer-seen event comes.
    failing = false
    c.net.partition([[owner]], { connections: 'keep' })
    await c.runFor(5_000)
    expect(c.engine(coordinator).membership.health(owner)).toBe('suspect')
    c.net.heal({ connections: 'keep' })
    const healed = c.scheduler.now
    await c.scheduler.runUntil(() => hints() === 0, { maxTime: 60_000 })
    const tookMs = c.scheduler.now - healed
    console.log(`hints handed over ${tookMs} ms after the heal (${failed()} failed attempts before it)`)
    expect(hints()).toBe(0)
    // Back from suspicion is a return: seen alive within a few heartbeats (200 ms), then the
    // next pass (300 ms apart) delivers, whatever the backoff had grown to.
    expect(tookMs).toBeLessThan(2_000)
  })

  it('hints survive a restart of the node that keeps them', async () => {
    const c = await cluster(4, SEED, { antiEntropyIntervalMs: 1_000_000 })
    const key = 'hinted-restart'
    const [, owner] = owners(c, key)
    c.crash(owner as string)
    await c.runFor(4000)
    const coordinator = c.ids.find((id) => id !== owner) as string
    await c.settle(c.engine(coordinator).write(key, { type: 'gcounter', op: 'increment', amount: 3 }, { w: 3 }))
    const keeper = c.upIds().find((id) => c.member(id).store.listHints(owner).some((h) => h.key === key)) as string
    expect(keeper).toBeDefined()
    c.crash(keeper)
    await c.restart(keeper)
    expect(c.member(keeper).store.listHints(owner).some((h) => h.key === key)).toBe(true)
    await c.restart(owner as string)
    await c.scheduler.runUntil(() => c.member(owner as string).store.getKey(key) !== undefined, { maxTime: 30_000 })
    expect(c.member(owner as string).store.getKey(key)).toBeDefined()
  })

  it('returns at once with quorum false when fewer than w members are reachable, and the write stays', async () => {
    const c = await cluster(3)
    c.net.isolate(c.ids[0] as string)
    await c.runFor(4000)
    const r = await c.settle(c.engine(c.ids[0] as string).write('alone', { type: 'pncounter', op: 'increment', amount: 2 }))
    expect(r).toMatchObject({ acks: 1, quorum: false, required: 2 })
    await expect(c.settle(c.engine(c.ids[0] as string).write('alone', { type: 'pncounter', op: 'increment', amount: 3 }, { requireQuorum: true }))).rejects.toBeInstanceOf(QuorumNotMetError)
    expect(counterValue(c.member(c.ids[0] as string).store.getKey('alone')?.state)).toBe(5)
    c.net.heal()
    await c.scheduler.runUntil(() => c.statesOf('alone').every((s) => counterValue(s) === 5), { maxTime: 30_000 })
    expect(c.statesOf('alone').map(counterValue)).toEqual([5, 5, 5])
  })

  it('read repair brings a stale replica up to date', async () => {
    // Anti-entropy, handoff and rumors off: they would deliver the write without a read. The
    // stale replica misses the write's delta without ever being suspected: a node that came
    // back would get an exchange and its hints at once (return-sync.ts).
    let failing = true
    const stale = 'n2'
    const c = new SimCluster({
      seed: SEED,
      size: 3,
      link: { latency: { baseMs: 1, jitterMs: 1 } },
      config: { ...FAST, antiEntropyIntervalMs: 1_000_000, handoffIntervalMs: 1_000_000, rumors: false },
      transport: (node) => ({
        ...bindAll(node.transport),
        request: (peer, frame, options) =>
          failing && peer === stale && REPLICATION_TAGS.has(frame[1] as number) ? Promise.reject(new PeerUnreachableError(peer, 'test')) : node.transport.request(peer, frame, options),
      }),
    })
    await c.start()
    await c.runFor(1000)
    expect(c.ids[2]).toBe(stale)
    // Coordinated by its first replica, so the stale one gets only the delta.
    const key = Array.from({ length: 100 }, (_, i) => `repair-me-${i}`).find((k) => owners(c, k)[0] === c.ids[0])!
    await c.settle(c.engine(c.ids[0] as string).write(key, { type: 'orset', op: 'add', element: 'x' }))
    failing = false
    await c.runFor(1500)
    expect(c.member(c.ids[2] as string).store.getKey(key)).toBeUndefined()
    const r = await c.settle(c.engine(c.ids[1] as string).read(key, 'orset', { r: 3 }))
    expect(r.replicas).toBe(3)
    await c.runFor(500)
    expect(c.member(c.ids[2] as string).store.getKey(key)).toBeDefined()
    expect(c.engine(c.ids[1] as string).coordinator.stats.readRepairs).toBeGreaterThanOrEqual(1)
  })

  it('a session token makes a read on another node include the write', async () => {
    const c = await cluster(5)
    const key = 'session'
    const w = await c.settle(c.engine(c.ids[0] as string).write(key, { type: 'lww', op: 'set', value: 'mine' }, { w: 1 }))
    const reader = c.ids.find((id) => !owners(c, key).slice(0, 1).includes(id) && id !== c.ids[0]) as string
    const r = await c.settle(c.engine(reader).read(key, 'lww', { r: 1, token: { type: 'lww', witness: w.witness } }))
    expect(crdtTypes.lww.value(r.state as never)).toBe('mine')
  })
})
