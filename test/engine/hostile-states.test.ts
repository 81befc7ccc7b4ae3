// Forged states from a peer (issue 11, item 2): a replicate request whose counter entry
// for the victim's own actor is 2^53 − 1 used to make every later increment there fail; an
// OR-set causal context claiming the victim's dots up to 2^53 − 1 used to delete its
// elements and exhaust its dot counter. Both are refused before merging, counted, and
// local writes go on.
import { describe, expect, it } from 'vitest'
import { encodeRecord, GCounter, ORMap, ORSet, setExpiry, singleContent } from '../../crdts/index.js'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { decodeResponse, encodeMessage } from '../../src/wire/codec.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261205)
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 1_000_000, handoffIntervalMs: 300 }

async function setup() {
  const c = new SimCluster({ seed: SEED, size: 3, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: FAST })
  await c.start()
  await c.runFor(1000)
  const victim = c.ids[0] as string
  // A key the victim applies itself: its own actor's entry is the one a forger targets.
  const ring = c.engine(victim).membership.ring().ring
  const key = (prefix: string): string => {
    for (let i = 0; ; i++) if (preferenceList(ring, `${prefix}${i}`, 3)[0] === victim) return `${prefix}${i}`
  }
  // A peer on the network that speaks the protocol by hand (what a hostile process does).
  const stranger = c.net.addNode('zz-stranger')
  await stranger.transport.start()
  const send = async (request: Parameters<typeof encodeMessage>[0]) =>
    decodeResponse(await c.settle(stranger.transport.request(victim, encodeMessage(request), { timeoutMs: 1000 })))
  return { c, victim, key, send }
}

describe(`forged states are refused (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/hostile-states.test.ts)`, () => {
  it("a counter entry of the victim's own actor at 2^53 − 1 is refused; increments go on", async () => {
    const { c, victim, key, send } = await setup()
    const k = key('likes-')
    const db = c.db(victim)
    await c.settle(db.gcounter(k).increment(2))
    const forged = GCounter.encode({ actors: [db.actorId], counts: [Number.MAX_SAFE_INTEGER] })
    const answer = await send({ type: 'replicate', key: k, state: forged })
    expect(answer.type).toBe('error')
    expect(c.engine(victim).status().rumors.refused + c.member(victim).replica.stats.remoteStatesRefused).toBeGreaterThan(0)
    expect((await c.settle(db.gcounter(k).increment(3))).value).toBe(5)
    // Entries of other actors that add up past the safe range are refused too.
    const overflow = GCounter.encode({ actors: ['x', 'y'], counts: [2 ** 52, 2 ** 52] })
    expect((await send({ type: 'replicate', key: k, state: overflow })).type).toBe('error')
    expect(await c.settle(db.gcounter(k).value())).toBe(5)
    expect(c.member(victim).replica.stats.remoteStatesRefused).toBe(2)
  })

  it("an OR-set context claiming the victim's dots is refused: its elements stay and it can still add", async () => {
    const { c, victim, key, send } = await setup()
    const k = key('cart-')
    const db = c.db(victim)
    await c.settle(db.set(k).add('apple'))
    const forged = ORSet.encode({ entries: [], context: new Map([[db.actorId, { contiguous: Number.MAX_SAFE_INTEGER, cloud: [] }]]) })
    expect((await send({ type: 'replicate', key: k, state: forged })).type).toBe('error')
    expect(await c.settle(db.set(k).values())).toEqual(['apple'])
    expect((await c.settle(db.set(k).add('pear'))).value).toEqual(['apple', 'pear'])
    expect(c.member(victim).replica.stats.remoteStatesRefused).toBe(1)
  })

  it("a map field (nested too) claiming the victim's writes is refused, and a register stamped far ahead in a field", async () => {
    const { c, victim, key, send } = await setup()
    const k = key('doc-')
    const db = c.db(victim)
    await c.settle(db.map(k).counter('likes').increment(2))
    const forgedCounter = singleContent('gcounter', { actors: [db.actorId], counts: [Number.MAX_SAFE_INTEGER] })
    const inField = ORMap.encode(ORMap.fieldDelta('views', forgedCounter))
    expect((await send({ type: 'replicate', key: k, state: inField })).type).toBe('error')
    const nested = ORMap.encode(ORMap.fieldDelta('stats', singleContent('map', ORMap.fieldDelta('views', forgedCounter))))
    expect((await send({ type: 'replicate', key: k, state: nested })).type).toBe('error')
    const future = { timestamp: { wallMs: c.scheduler.now + 24 * 3600_000, logical: 0 }, actor: 'zz-stranger', value: 'mine forever', json: '"mine forever"' }
    const register = ORMap.encode(ORMap.fieldDelta('title', singleContent('lww', future)))
    expect((await send({ type: 'replicate', key: k, state: register })).type).toBe('error')
    expect(c.member(victim).replica.stats.remoteStatesRefused + c.member(victim).replica.stats.clockDriftRefused).toBe(3)
    // Nothing of them was merged, and the victim writes on.
    expect((await c.settle(db.map(k).gcounter('views').increment(1))).value).toEqual({ likes: 2, views: 1 })
    expect((await c.settle(db.map(k).register('title').set('mine'))).value).toEqual({ likes: 2, title: 'mine', views: 1 })
  })

  it('an expiry stamped far ahead is refused; the key does not expire and writes go on', async () => {
    const { c, victim, key, send } = await setup()
    const k = key('session-')
    const db = c.db(victim)
    await c.settle(db.counter(k).increment(4))
    // "Expire now", stamped a day ahead so that no honest write could ever renew the key.
    const expiry = setExpiry('zz-stranger', 0, { wallMs: Math.floor(c.scheduler.now) + 24 * 3600_000, logical: 0 })
    const forged = encodeRecord({ content: singleContent('pncounter', { p: { actors: [], counts: [] }, n: { actors: [], counts: [] } }), expiry })
    expect((await send({ type: 'replicate', key: k, state: forged })).type).toBe('error')
    expect(c.member(victim).replica.stats.clockDriftRefused).toBe(1)
    expect(await c.settle(db.counter(k).value({ r: 1 }))).toBe(4)
    expect((await c.settle(db.counter(k).increment(1))).value).toBe(5)
  })

  it('honest states of other nodes still merge', async () => {
    const { c, victim, key, send } = await setup()
    const k = key('honest-')
    const state = GCounter.encode({ actors: ['some-other-node'], counts: [7] })
    expect((await send({ type: 'replicate', key: k, state })).type).toBe('ack')
    expect(await c.settle(c.db(victim).gcounter(k).value({ r: 1 }))).toBe(7)
    expect(c.member(victim).replica.stats.remoteStatesRefused).toBe(0)
  })
})
