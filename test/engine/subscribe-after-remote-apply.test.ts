// A subscriber on the node that made a write another replica applied (issue 15's harness
// found it under concurrent writes): the 'local' event of that write must not show less
// than this node's own replica already holds. Before the fix it showed the applying
// replica's state, so a concurrent write this node had merged (a later register value)
// vanished from the subscriber's last event while the store kept it.
import { describe, expect, it } from 'vitest'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import type { Change } from '../../src/database/subscriptions.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261203)
const FAST = { heartbeatIntervalMs: 100, antiEntropyIntervalMs: 60_000, handoffIntervalMs: 60_000, rumors: false }

describe(`subscribers see the node's own replica, not only the applying one's (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/subscribe-after-remote-apply.test.ts)`, () => {
  // a writes a key whose first replica is b; b applies it, stamped by its slow clock before
  // the value d wrote while b was away, which a's replica holds. Returns a's events. The
  // write is keyed: a replica coordinating an unkeyed write applies it itself, while a
  // keyed one goes to the applier the replicas agree on (b, the first live replica).
  async function writeThroughB(w: number): Promise<{ events: Change[]; local: (id: string) => unknown; key: string }> {
    const c = new SimCluster({ seed: SEED, size: 3, link: { latency: { baseMs: 1, jitterMs: 0 } }, config: FAST })
    await c.start()
    await c.runFor(1000)
    const ring = c.engine(c.ids[0] as string).membership.ring().ring
    const [a, b, d] = c.ids as [string, string, string]
    let key = ''
    for (let i = 0; key === ''; i++) if (preferenceList(ring, `k${i}`, 3)[0] === b) key = `k${i}`
    const local = (id: string) => (c.db(id).replica.readTyped(key, 'lww') as { value: unknown } | null)?.value
    // b is away while d writes (d's clock runs ahead, b's behind): a's replica gets d's
    // value, b does not (no rumors, no hints delivered, no anti-entropy in this window).
    c.net.setSkew(d, 400)
    c.net.setSkew(b, -400)
    c.crash(b)
    await c.runFor(2000)
    await c.settle(c.db(d).register(key).set('later stamp', { w: 2 }))
    expect(local(a)).toBe('later stamp')
    await c.restart(b)
    await c.scheduler.runUntil(() => c.engine(a).membership.isLive(b), { maxTime: 5000 })
    const events: Change[] = []
    c.db(a).subscribe(key, (change) => events.push(change))
    await c.settle(c.db(a).register(key).set('earlier stamp', { w, idempotencyKey: `through-b-${w}` }))
    await c.runFor(500)
    expect(local(b)).toBe('earlier stamp')
    expect(local(a)).toBe('later stamp')
    return { events, local, key }
  }

  it("w = 1: the write's event shows this node's replica joined with the applier's state, not the applier's alone", async () => {
    const { events, key } = await writeThroughB(1)
    expect(events.length).toBeGreaterThan(0)
    expect(events.at(-1)).toMatchObject({ key, value: 'later stamp' })
    expect(events.filter((e) => e.origin === 'local')).toHaveLength(1)
  })

  it("w = 2: a write this node's replica merged without a change (it held a newer value) still gets its one 'local' event", async () => {
    const { events, key } = await writeThroughB(2)
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ key, value: 'later stamp', origin: 'local' })
  })
})
