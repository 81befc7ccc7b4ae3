// A closed connection makes its peer suspect at once (transport.onPeerLost), instead of
// after the silence the failure detector needs; the next heartbeat makes it alive again.
import { describe, expect, it } from 'vitest'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261206)

describe(`suspicion on a lost connection (seed ${SEED})`, () => {
  it('a peer cut off is suspect within milliseconds, and alive again after the heal', async () => {
    const c = new SimCluster({ seed: SEED, size: 3, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: { heartbeatIntervalMs: 200 } })
    await c.start()
    await c.runFor(2000)
    const [a, b, cut] = c.ids as [string, string, string]
    expect(c.engine(a).membership.health(cut)).toBe('alive')
    c.net.isolate(cut)
    await c.runFor(10)
    // Phi alone would take over a second (mean interval 200 ms + 1 s acceptable pause).
    expect(c.engine(a).membership.health(cut)).toBe('suspect')
    expect(c.engine(b).membership.health(cut)).toBe('suspect')
    expect(c.engine(cut).membership.health(a)).toBe('suspect')
    c.net.heal()
    await c.scheduler.runUntil(() => c.engine(a).membership.health(cut) === 'alive', { maxTime: 2000 })
    expect(c.engine(a).membership.health(cut)).toBe('alive')
  })

  it('a crashed process is suspect at once by the peers that lost its connection', async () => {
    const c = new SimCluster({ seed: SEED, size: 3, deadPeers: 'refuse', link: { latency: { baseMs: 1, jitterMs: 1 } }, config: { heartbeatIntervalMs: 200 } })
    await c.start()
    await c.runFor(2000)
    const [a, , dead] = c.ids as [string, string, string]
    c.crash(dead)
    await c.runFor(10)
    expect(c.engine(a).membership.health(dead)).toBe('suspect')
  })
})
