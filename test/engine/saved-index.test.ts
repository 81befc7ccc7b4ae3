// A node that closed cleanly loads its saved anti-entropy index when it restarts (instead
// of reading its whole store), and still converges with the cluster: what it missed while
// down and what it is sent while the index loads both reach it, in the deterministic
// simulator with the whole Database. Seeded: replay with RUMORDB_TEST_SEED.
import { describe, expect, it } from 'vitest'
import { ArcIndex } from '../../src/cluster/anti-entropy/arc-index.js'
import type { EngineConfig } from '../../src/cluster/engine.js'
import { recordingLogger, type RecordedLine } from '../../src/base/logger.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261204)
const FAST: EngineConfig = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 400, handoffIntervalMs: 300 }

describe(`restart after a clean close (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/saved-index.test.ts)`, () => {
  it('loads the saved index, which equals a rebuild, and converges on the writes it missed', async () => {
    const lines = new Map<string, RecordedLine[]>()
    const c = new SimCluster({
      seed: SEED,
      size: 3,
      config: FAST,
      link: { latency: { baseMs: 1, jitterMs: 2 } },
      logger: (id) => recordingLogger(lines.set(id, []).get(id)!),
    })
    await c.start()
    const [a, b] = c.ids as [string, string, string]
    for (let i = 0; i < 300; i++) await c.settle(c.member(a).db.counter(`k${i}`).increment(1))
    await c.runFor(3_000)

    await c.stop(b)
    // While b is down: changes of keys b holds, and new keys.
    for (let i = 0; i < 40; i++) await c.settle(c.member(a).db.counter(`k${i * 7}`).increment(2))
    for (let i = 300; i < 320; i++) await c.settle(c.member(a).db.counter(`k${i}`).increment(1))
    await c.restart(b)
    // Sent to b while its index may still be loading.
    await c.settle(c.member(a).db.counter('k1').increment(5, { w: 3 }))

    const built = (): RecordedLine | undefined => lines.get(b)!.find((l) => l.message === 'anti-entropy index built')
    const converged = (): boolean => {
      const states = c.ids.map((id) => c.member(id).store)
      return Array.from({ length: 320 }, (_, i) => `k${i}`).every((key) => {
        const [first, ...rest] = states.map((s) => s.getKey(key)?.state)
        return first !== undefined && rest.every((s) => s !== undefined && Buffer.from(s).equals(first))
      })
    }
    for (let t = 0; t < 60 && !(built() !== undefined && converged()); t++) await c.runFor(500)
    expect(built()?.fields.from, 'the restarted node used the index its close saved').toBe('saved index')
    expect(converged(), 'every replica equal after the restart').toBe(true)

    const engine = c.engine(b)
    const ring = engine.membership.ring().ring
    const fresh = new ArcIndex()
    fresh.rebuild(ring, c.member(b).store)
    const arcs = (index: ArcIndex): string[] => Array.from(ring.tokens, (_, arc) => Buffer.from(index.arcHash(arc)).toString('hex'))
    expect(arcs(engine.arcIndex)).toEqual(arcs(fresh))
    expect(await c.settle(c.member(b).db.counter('k1').value({ r: 1 }))).toBe(6)
  }, 60_000)
})
