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
  it("a write applied by another replica emits this node's state joined with the applier's", async () => {
    const c = new SimCluster({ seed: SEED, size: 3, link: { latency: { baseMs: 1, jitterMs: 0 } }, config: FAST })
    await c.start()
    await c.runFor(1000)
    const ring = c.engine(c.ids[0] as string).membership.ring().ring
    // A key whose first replica is b, written through a: a asks b to apply it.
    const [a, b, d] = c.ids as [string, string, string]
    let key = ''
    for (let i = 0; key === ''; i++) if (preferenceList(ring, `k${i}`, 3)[0] === b) key = `k${i}`
    // b is away while d writes (d's clock runs ahead, b's behind): a's replica gets d's
    // value, b does not (no rumors, no hints delivered, no anti-entropy in this window).
    c.net.setSkew(d, 400)
    c.net.setSkew(b, -400)
    c.crash(b)
    await c.runFor(2000)
    await c.settle(c.db(d).register(key).set('later stamp', { w: 2 }))
    expect((c.db(a).replica.readTyped(key, 'lww') as { value: unknown }).value).toBe('later stamp')
    await c.restart(b)
    await c.scheduler.runUntil(() => c.engine(a).membership.isLive(b), { maxTime: 5000 })
    const seen: Change[] = []
    c.db(a).subscribe(key, (change) => seen.push(change))
    await c.settle(c.db(a).register(key).set('earlier stamp', { w: 1 }))
    await c.runFor(500)
    // b applied it, stamped by its slow clock before d's value; a's replica keeps d's value.
    const local = (id: string) => (c.db(id).replica.readTyped(key, 'lww') as { value: unknown }).value
    expect(local(b)).toBe('earlier stamp')
    expect(local(a)).toBe('later stamp')
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.at(-1)).toMatchObject({ key, value: 'later stamp', origin: 'local' })
  })
})
