// A replica that applied a write but cannot send its answer (a large answer it has no room to
// keep for the coordinator to pull) must not look as if it refused the write: the coordinator
// would apply it at the next replica too, and an increment would count twice. Found by the
// nemesis (seed 120: a map counter field decremented once showed under two actors).
import { describe, expect, it } from 'vitest'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261120)
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 250, handoffIntervalMs: 250 }
/** Every answer travels in parts, and a replica keeps one unpulled answer per peer: a second at the same time has no room. */
const ONE_KEPT_ANSWER = { frameBytes: 192, partBytes: 64, maxMessageBytes: 64 * 64, maxTransfersPerPeer: 1 } as const
const WRITES = 6

describe(`answers a replica cannot send (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/lost-answers.test.ts)`, () => {
  it('increments applied by a replica that had no room to keep their answers count once', async () => {
    const c = new SimCluster({ seed: SEED, size: 4, link: { latency: { baseMs: 1, jitterMs: 0 } }, config: FAST, largeMessages: ONE_KEPT_ANSWER })
    await c.start()
    await c.runFor(1000)
    const ring = c.engine(c.ids[0] as string).membership.ring().ring
    // A coordinator that is no replica of the keys, all of whose first replica is the same node.
    const coordinator = c.ids[0] as string
    const candidates = Array.from({ length: 400 }, (_, i) => `counter-${i}`).filter((k) => !preferenceList(ring, k, 3).includes(coordinator))
    const first = preferenceList(ring, candidates[0] as string, 3)[0]
    const keys = candidates.filter((k) => preferenceList(ring, k, 3)[0] === first).slice(0, WRITES)
    expect(keys).toHaveLength(WRITES)
    // Small requests whose answers (the key's whole state) travel in parts: each map holds a long register.
    for (const k of keys) await c.settle(c.db(first as string).map(k).register('text').set('x'.repeat(300), { w: 3 }))
    const field = 'c'
    const outcomes = await c.settle(
      Promise.all(keys.map((k) => c.db(coordinator).map(k).counter(field).increment(1, { w: 1 }).then(() => true, () => false))),
    )
    // The first replica had to turn answers away (else this test proves nothing).
    expect(c.engine(first as string).messenger.stats.largeRefused).toBeGreaterThan(0)
    await c.runFor(3000)
    for (const [i, k] of keys.entries()) {
      const read = (await c.settle(c.db(first as string).get(k, { r: 3 }))) as { value: Record<string, unknown> } | undefined
      const value = read?.value[field] ?? 0
      // Acknowledged: counted once; not: at most once.
      if (outcomes[i] === true) expect(value, k).toBe(1)
      else expect(value, k).toBeLessThanOrEqual(1)
    }
  })
})
