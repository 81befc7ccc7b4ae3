// A node whose wall clock is off the cluster's (issue 10, item 6), on the simulator: its
// future-stamped registers never win a read at a healthy node, it notices its own clock is
// off from the peers' heartbeats and refuses register writes until the clock is fixed.
import { describe, expect, it } from 'vitest'
import { crdtTypes } from '../../crdts/index.js'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { ClockSkewError } from '../../src/base/errors.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261010)
const HEARTBEAT_MS = 200
const FAST = { heartbeatIntervalMs: HEARTBEAT_MS, antiEntropyIntervalMs: 300, handoffIntervalMs: 300 }
const SKEW_MS = 2000
/** How long a node may take to notice (or stop noticing) that its clock is off. */
const NOTICE_WITHIN_MS = 10 * HEARTBEAT_MS

async function cluster(size: number, seed = SEED): Promise<SimCluster> {
  const c = new SimCluster({ seed, size, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: FAST })
  await c.start()
  await c.runFor(1000)
  return c
}

/**
 * A key whose first preferred replica among `n` is `applier`: it applies the key's writes
 * coordinated by nodes outside those `n` (a replica applies its own), and keyed writes.
 */
function keyAppliedBy(c: SimCluster, applier: string, prefix: string, n = 3, outside?: string): string {
  const ring = c.engine(applier).membership.ring().ring
  const key = Array.from({ length: 200 }, (_, i) => `${prefix}${i}`).find((k) => {
    const replicas = preferenceList(ring, k, n)
    return replicas[0] === applier && (outside === undefined || !replicas.includes(outside))
  })
  if (key === undefined) throw new Error(`no key among 200 is applied by ${applier}`)
  return key
}

function registerValue(state: unknown): unknown {
  return crdtTypes.lww.value(state as never)
}

const set = (value: string) => ({ type: 'lww' as const, op: 'set' as const, value })

describe(`clock skew (seed ${SEED})`, () => {
  it('a register stamped by a node whose clock runs 2 s ahead does not win a read with r = 3 at a healthy node', async () => {
    const c = await cluster(3)
    const [a, b, skewed] = c.ids as [string, string, string]
    const key = keyAppliedBy(c, skewed, 'reg')
    await c.settle(c.engine(a).write(key, set('on time'), { w: 3 }))
    c.net.setSkew(skewed, SKEW_MS)
    // Written at once, before the skewed node can have noticed: it applies the write with
    // its own clock, 2 s in the future; the healthy replicas refuse the delta.
    const write = await c.settle(c.engine(skewed).write(key, set('from the future'), { w: 1 }))
    expect(registerValue(write.state)).toBe('from the future')
    await c.runFor(50)
    expect(c.engine(a).status().clockDriftRefused + c.engine(b).status().clockDriftRefused).toBeGreaterThan(0)

    const read = await c.settle(c.engine(a).read(key, 'lww', { r: 3 }))
    expect(registerValue(read.state)).toBe('on time')
    // The skewed answer is not joined, so it does not count among the replicas either.
    expect(read.replicas).toBe(2)
    expect(c.engine(a).status().clock.futureRegistersIgnored).toBeGreaterThan(0)
    // Nor was it spread by read repair.
    await c.runFor(100)
    for (const id of [a, b]) {
      const state = c.member(id).store.getKey(key)?.state
      expect(state && registerValue(crdtTypes.lww.decode(state))).toBe('on time')
    }
  })

  it('a node whose clock is 2 s off notices within bounded time, refuses register writes coordinated or applied there, and recovers once fixed', async () => {
    const c = await cluster(3)
    const [a, b, skewed] = c.ids as [string, string, string]
    // With two replicas per write, a is not one of this key's: it forwards the write.
    const appliedBySkewed = keyAppliedBy(c, skewed, 'reg', 2, a)
    const appliedByA = keyAppliedBy(c, a, 'other')
    c.net.setSkew(skewed, SKEW_MS)
    const noticed = (): boolean => c.engine(skewed).status().clock.off && [a, b].every((id) => c.engine(id).status().clock.peersDisagreeing === 1)
    await c.scheduler.runUntil(noticed, { maxTime: NOTICE_WITHIN_MS })
    const clock = c.engine(skewed).status().clock
    expect(clock).toMatchObject({ off: true, peersMeasured: 2, peersDisagreeing: 2, timesFoundOff: 1 })
    expect(Math.abs(clock.offsetMs - SKEW_MS)).toBeLessThan(20)
    // The healthy nodes each see one node of three disagree: not a majority.
    for (const id of [a, b]) expect(c.engine(id).status().clock).toMatchObject({ off: false, peersDisagreeing: 1 })

    // Coordinated at the skewed node (another replica would apply it): refused there.
    await expect(c.settle(c.engine(skewed).write(appliedByA, set('coordinated')))).rejects.toBeInstanceOf(ClockSkewError)
    // Sent to the skewed node to apply: it refuses (certainly applying nothing), so the
    // coordinator has the next replica apply it with a healthy clock.
    const forwarded = await c.settle(c.engine(a).write(appliedBySkewed, set('forwarded'), { n: 2 }))
    expect(registerValue(forwarded.state)).toBe('forwarded')
    expect(forwarded.state).not.toMatchObject({ actor: c.member(skewed).replica.actor })
    await c.runFor(500)
    expect(c.statesOf(appliedByA)).toEqual([undefined, undefined, undefined])
    expect(c.engine(skewed).status().clock.writesRefused).toBe(2)
    // A keyed write may only be applied by the node its claims chose: refused with the reason.
    const keyedKey = keyAppliedBy(c, skewed, 'keyed')
    const keyed = c.settle(c.engine(a).write(keyedKey, set('keyed'), { idempotency: { id: 'k-1', fingerprint: 'f-1' } }))
    await expect(keyed).rejects.toMatchObject({ code: 'CLOCK_SKEW', node: skewed })

    // Counters and sets do not depend on the clock: they still write there.
    const counter = keyAppliedBy(c, skewed, 'count')
    const viaSkewed = await c.settle(c.engine(skewed).write(counter, { type: 'pncounter', op: 'increment', amount: 2 }))
    expect(viaSkewed.quorum).toBe(true)
    const viaA = await c.settle(c.engine(a).write(counter, { type: 'pncounter', op: 'increment', amount: 3 }))
    expect(viaA.quorum).toBe(true)
    const set0 = await c.settle(c.engine(skewed).write('tags', { type: 'orset', op: 'add', element: 'x' }))
    expect(set0.quorum).toBe(true)

    // Fixed: it notices by itself, from new heartbeats.
    c.net.setSkew(skewed, 0)
    await c.scheduler.runUntil(() => c.engine(skewed).status().clock.peersDisagreeing === 0, { maxTime: NOTICE_WITHIN_MS })
    expect(c.engine(skewed).status().clock).toMatchObject({ off: false, peersDisagreeing: 0, timesFoundOff: 1 })
    const again = await c.settle(c.engine(skewed).write(appliedByA, set('coordinated')))
    expect(registerValue(again.state)).toBe('coordinated')
    const forwardedAgain = await c.settle(c.engine(a).write(appliedBySkewed, set('forwarded'), { n: 2 }))
    expect(forwardedAgain.state).toMatchObject({ actor: c.member(skewed).replica.actor })
    expect(registerValue(forwardedAgain.state)).toBe('forwarded')
  })

  it('with two nodes neither can tell whose clock is wrong, so neither refuses register writes', async () => {
    const c = await cluster(2)
    const [a, skewed] = c.ids as [string, string]
    c.net.setSkew(skewed, SKEW_MS)
    await c.runFor(NOTICE_WITHIN_MS)
    // Both measured the difference: the rule, not a lack of samples, keeps them writing.
    expect(c.engine(skewed).status().clock).toMatchObject({ off: false, peersMeasured: 1, peersDisagreeing: 1 })
    expect(c.engine(a).status().clock).toMatchObject({ off: false, peersMeasured: 1, peersDisagreeing: 1 })
    const here = await c.settle(c.engine(skewed).write(keyAppliedBy(c, skewed, 'reg'), set('here')))
    expect(registerValue(here.state)).toBe('here')
    // One replica per write: a forwards it to the skewed node, which applies it.
    const forwarded = await c.settle(c.engine(a).write(keyAppliedBy(c, skewed, 'fwd', 1), set('forwarded'), { n: 1 }))
    expect(registerValue(forwarded.state)).toBe('forwarded')
    expect(forwarded.state).toMatchObject({ actor: c.member(skewed).replica.actor })
    expect(c.engine(skewed).status().clock.writesRefused).toBe(0)
  })

  it("a node whose own clock is behind still reads the cluster's registers: its clock, not theirs, is wrong", async () => {
    const c = await cluster(3)
    const [slow, b] = c.ids as [string, string, string]
    const key = keyAppliedBy(c, b, 'reg')
    c.net.setSkew(slow, -SKEW_MS)
    await c.scheduler.runUntil(() => c.engine(slow).status().clock.off, { maxTime: NOTICE_WITHIN_MS })
    expect(c.engine(slow).status().clock.offsetMs).toBeLessThan(-SKEW_MS + 20)
    await c.settle(c.engine(b).write(key, set('now'), { w: 2 }))
    await c.runFor(100)
    // Its replica refuses the delta (too far ahead of its clock), but a read there joins it.
    expect(c.member(slow).store.getKey(key)).toBeUndefined()
    const read = await c.settle(c.engine(slow).read(key, 'lww', { r: 3 }))
    expect(registerValue(read.state)).toBe('now')
    expect(read.replicas).toBe(3)
    expect(c.engine(slow).status().clock.futureRegistersIgnored).toBe(0)
  })
})
