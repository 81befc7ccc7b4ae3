// Which node applies a write (DESIGN.md, write path): a coordinator that is itself one of
// the key's preferred replicas applies an unkeyed write there, with its own actor id, and
// sends the delta to the other replicas (Dynamo's "any of the top N coordinates", Riak's
// put FSM); a keyed write still goes to the applier the key's replicas agreed on, and a
// coordinator outside the preference list still forwards to the first live replica.
import { describe, expect, it } from 'vitest'
import { LWWRegister, PNCounter, type LWWRegisterState } from '../../crdts/index.js'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import type { Change } from '../../src/database/subscriptions.js'
import { recordRequests, sentOf, type SentRequest } from './recorded-requests.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261203)
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 500, handoffIntervalMs: 300 }

/** A cluster whose nodes' requests are recorded. */
async function cluster(size: number, config: { n?: number; w?: number } = {}): Promise<{ c: SimCluster; sent: SentRequest[] }> {
  const sent: SentRequest[] = []
  const c = new SimCluster({
    seed: SEED,
    size,
    deadPeers: 'refuse',
    link: { latency: { baseMs: 1, jitterMs: 1 } },
    config: { ...FAST, ...config },
    transport: recordRequests(sent),
  })
  await c.start()
  await c.runFor(1000)
  return { c, sent }
}

function owners(c: SimCluster, key: string, n = 3): string[] {
  return preferenceList(c.engine(c.ids[0] as string).membership.ring().ring, key, n)
}

/** A key whose preference list holds `coordinator`, but not first: before, another node applied its writes. */
function keyOnButNotFirst(c: SimCluster, coordinator: string, prefix: string, n = 3): string {
  for (let i = 0; ; i++) {
    const list = owners(c, `${prefix}${i}`, n)
    if (list.includes(coordinator) && list[0] !== coordinator) return `${prefix}${i}`
  }
}

function keyNotOn(c: SimCluster, coordinator: string, prefix: string): string {
  for (let i = 0; ; i++) if (!owners(c, `${prefix}${i}`).includes(coordinator)) return `${prefix}${i}`
}

/** The actor of the register write `id` holds for `key`. */
function registerActor(c: SimCluster, id: string, key: string): string | undefined {
  const stored = c.member(id).store.getKey(key)
  if (stored === undefined) return undefined
  return (LWWRegister.decode(stored.state) as LWWRegisterState)?.actor
}

describe(`who applies a write (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/local-coordination.test.ts)`, () => {
  it('an unkeyed write on one of the key\'s replicas is applied there, under its own actor, with no apply request', async () => {
    const { c, sent } = await cluster(5)
    const coordinator = c.ids[0] as string
    const key = keyOnButNotFirst(c, coordinator, 'here-')
    sent.length = 0
    const result = await c.settle(c.db(coordinator).register(key).set('v1', { w: 3 }))
    expect(result).toMatchObject({ value: 'v1', acks: 3, quorum: true })
    expect(sentOf(sent, coordinator, 'apply')).toEqual([])
    // The delta went straight to each of the two other replicas.
    expect(sentOf(sent, coordinator, 'replicate').map((s) => s.to).sort()).toEqual(owners(c, key).filter((id) => id !== coordinator).sort())
    await c.runFor(500)
    for (const id of owners(c, key)) expect(registerActor(c, id, key)).toBe(c.member(coordinator).replica.actor)
  })

  it('with every node a replica (n = cluster size) and w = 1, node 0 applies every write and acknowledges its own commit', async () => {
    const { c, sent } = await cluster(5, { n: 5, w: 1 })
    const writer = c.ids[0] as string
    sent.length = 0
    for (let i = 0; i < 20; i++) {
      const result = await c.settle(c.db(writer).register(`burst-${i}`).set(i))
      expect(result).toMatchObject({ value: i, acks: 1, quorum: true })
    }
    expect(sentOf(sent, writer, 'apply')).toEqual([])
    await c.runFor(1000)
    for (let i = 0; i < 20; i++) {
      for (const id of c.ids) expect(registerActor(c, id, `burst-${i}`)).toBe(c.member(writer).replica.actor)
    }
  })

  it('counters written through two replicas of a key count under both actors and add up everywhere', async () => {
    const { c } = await cluster(5)
    const key = keyOnButNotFirst(c, c.ids[0] as string, 'count-')
    const [first, second] = owners(c, key).filter((id) => id !== c.ids[0]) as [string, string]
    await c.settle(c.db(c.ids[0] as string).counter(key).increment(2))
    await c.settle(c.db(first).counter(key).increment(3))
    await c.settle(c.db(second).counter(key).decrement(1))
    await c.runFor(2000)
    for (const id of owners(c, key)) {
      const state = PNCounter.decode(c.member(id).store.getKey(key)?.state as Uint8Array)
      expect(PNCounter.value(state)).toBe(4)
      expect([...state.p.actors].sort()).toEqual([c.member(c.ids[0] as string).replica.actor, c.member(first).replica.actor].sort())
    }
    const values = await c.settle(Promise.all(c.ids.map((id) => c.db(id).counter(key).value({ r: 3 }))))
    expect(values).toEqual([4, 4, 4, 4, 4])
  })

  it('a keyed write on one of the key\'s replicas still goes to the applier the replicas agreed on', async () => {
    const { c, sent } = await cluster(5)
    const coordinator = c.ids[0] as string
    const key = keyOnButNotFirst(c, coordinator, 'keyed-')
    const applier = owners(c, key)[0] as string
    sent.length = 0
    const result = await c.settle(c.db(coordinator).register(key).set('once', { idempotencyKey: 'order-1' }))
    expect(result.replayed).not.toBe(true)
    expect(sentOf(sent, coordinator, 'apply').map((s) => s.to)).toEqual([applier])
    await c.runFor(500)
    expect(registerActor(c, coordinator, key)).toBe(c.member(applier).replica.actor)
    // A retry through another node replays it: applied once.
    const retryVia = c.ids.find((id) => id !== coordinator && id !== applier) as string
    expect(await c.settle(c.db(retryVia).register(key).set('once', { idempotencyKey: 'order-1' }))).toMatchObject({ replayed: true })
  })

  it('a coordinator outside the preference list still forwards to the first live replica', async () => {
    const { c, sent } = await cluster(5)
    const coordinator = c.ids[0] as string
    const key = keyNotOn(c, coordinator, 'away-')
    const first = owners(c, key)[0] as string
    sent.length = 0
    await c.settle(c.db(coordinator).register(key).set('far'))
    expect(sentOf(sent, coordinator, 'apply').map((s) => s.to)).toEqual([first])
    await c.runFor(500)
    expect(registerActor(c, first, key)).toBe(c.member(first).replica.actor)
  })

  it("subscriptions: the coordinating replica reports one 'local' change, the other replicas 'remote' ones", async () => {
    const { c } = await cluster(5)
    const writer = c.ids[0] as string
    const seen = new Map<string, Change[]>(c.ids.map((id) => [id, []]))
    for (const id of c.ids) c.db(id).subscribe('', (change) => seen.get(id)!.push(change))
    const key = keyOnButNotFirst(c, writer, 'sub-')
    await c.settle(c.db(writer).counter(key).increment(2))
    await c.runFor(2000)
    expect(seen.get(writer)!.filter((ch) => ch.key === key)).toEqual([{ key, type: 'pncounter', value: 2, origin: 'local' }])
    for (const id of owners(c, key).filter((id) => id !== writer)) {
      expect(seen.get(id)!.filter((ch) => ch.key === key)).toEqual([{ key, type: 'pncounter', value: 2, origin: 'remote' }])
    }
  })

  it('an unreachable replica is replaced by a fallback that keeps a hint, handed off when it is back', async () => {
    const { c } = await cluster(5)
    const coordinator = c.ids[0] as string
    const key = keyOnButNotFirst(c, coordinator, 'hinted-')
    const down = owners(c, key).find((id) => id !== coordinator) as string
    c.crash(down)
    await c.runFor(4000)
    expect(c.engine(coordinator).membership.health(down)).toBe('suspect')
    const result = await c.settle(c.db(coordinator).counter(key).increment(7, { w: 3 }))
    expect(result).toMatchObject({ acks: 3, quorum: true })
    const hinted = c.upIds().filter((id) => c.member(id).store.listHints(down).some((h) => h.key === key))
    expect(hinted).toHaveLength(1)
    expect(owners(c, key)).not.toContain(hinted[0])
    await c.restart(down)
    await c.scheduler.runUntil(() => c.member(down).store.getKey(key) !== undefined, { maxTime: 20_000 })
    expect(PNCounter.value(PNCounter.decode(c.member(down).store.getKey(key)?.state as Uint8Array))).toBe(7)
  })
})
