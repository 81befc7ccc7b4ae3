// A read says how many replicas it heard from (`replicas`), and with requireQuorum it
// refuses to answer from fewer than r: the unreachable replicas may hold writes the answer
// would miss (issue 13: "a read that could not join all the replicas it asked says so").
import { describe, expect, it } from 'vitest'
import { QuorumNotMetError } from '../../src/base/errors.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261203)
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 500, handoffIntervalMs: 300 }

async function threeNodes(): Promise<SimCluster> {
  const c = new SimCluster({ seed: SEED, size: 3, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: FAST })
  await c.start()
  await c.runFor(1000)
  return c
}

async function refusal(c: SimCluster, read: Promise<unknown>): Promise<QuorumNotMetError> {
  const err = await c.settle(read.then(() => undefined, (e: unknown) => e))
  expect(err).toBeInstanceOf(QuorumNotMetError)
  return err as QuorumNotMetError
}

describe(`reads that could not hear from r replicas (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/read-quorum.test.ts)`, () => {
  it('with every replica up, requireQuorum answers as a plain read does', async () => {
    const c = await threeNodes()
    const [a] = c.ids as [string, string, string]
    await c.settle(c.db(a).counter('k').increment(4, { w: 3 }))
    expect(await c.settle(c.db(a).get('k', { r: 3, requireQuorum: true }))).toMatchObject({ value: 4, replicas: 3 })
    expect(await c.settle(c.db(a).counter('k').value({ r: 3, requireQuorum: true }))).toBe(4)
  })

  it('one replica down: r = 3 answers from 2 and says so, or refuses with requireQuorum; r = 2 still meets it', async () => {
    const c = await threeNodes()
    const [a, , d] = c.ids as [string, string, string]
    await c.settle(c.db(a).counter('k').increment(4, { w: 3 }))
    c.crash(d)
    expect(await c.settle(c.db(a).get('k', { r: 3 }))).toMatchObject({ value: 4, replicas: 2 })
    const err = await refusal(c, c.db(a).get('k', { r: 3, requireQuorum: true }))
    expect({ code: err.code, acks: err.acks, required: err.required, operation: err.operation }).toEqual({ code: 'QUORUM_NOT_MET', acks: 2, required: 3, operation: 'read' })
    expect(err.message).toMatch(/read of "k" heard from 2 of 3/)
    await refusal(c, c.db(a).counter('k').value({ r: 3, requireQuorum: true }))
    expect(await c.settle(c.db(a).get('k', { r: 2, requireQuorum: true }))).toMatchObject({ value: 4, replicas: 2 })
  })

  it('two replicas down: the default r = 2 is not met, also for a key the reachable replica does not have', async () => {
    const c = await threeNodes()
    const [a, b, d] = c.ids as [string, string, string]
    await c.settle(c.db(a).counter('k').increment(4, { w: 3 }))
    c.crash(b)
    c.crash(d)
    expect(await c.settle(c.db(a).get('k'))).toMatchObject({ value: 4, replicas: 1 })
    expect((await refusal(c, c.db(a).get('k', { requireQuorum: true }))).required).toBe(2)
    // "Not found" from one replica is no answer for the other two either.
    expect(await c.settle(c.db(a).get('missing'))).toBeUndefined()
    await refusal(c, c.db(a).get('missing', { requireQuorum: true }))
    // Once they are back, the same read meets its quorum again.
    await c.restart(b)
    await c.runFor(2000)
    expect(await c.settle(c.db(a).get('k', { requireQuorum: true }))).toMatchObject({ value: 4, replicas: 2 })
  })
})
