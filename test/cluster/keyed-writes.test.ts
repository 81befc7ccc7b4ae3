// The Paxos that chooses the one applier of a keyed write (src/cluster/keyed-writes.ts):
// many coordinators at once, over a network that delays, drops and reorders claims, must
// never choose two appliers; once the network is quiet, a retry always gets a decision,
// whatever half-finished attempts left behind (claims split three ways, say).
import { describe, expect, it } from 'vitest'
import { KeyedWrites, type ClaimDecision } from '../../src/cluster/coordinator/keyed-writes.js'
import { IdempotencyUnavailableError } from '../../src/base/errors.js'
import { encodeIdempotencyRecord } from '../../src/replica/idempotency.js'
import { seededRandom, type Random } from '../../src/base/random.js'
import { SimClock } from '../../src/sim/sim-clock.js'
import { SimScheduler } from '../../src/sim/scheduler.js'
import { InMemoryStore } from '../../src/store/index.js'
import type { Request, Response } from '../../src/wire/messages.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261202)
const REPLICAS = ['a', 'b', 'c']
const WRITE = { id: 'order-17', fingerprint: 'fp-1' }

interface Net {
  readonly scheduler: SimScheduler
  readonly nodes: Map<string, KeyedWrites>
  readonly stores: Map<string, InMemoryStore>
  /** Probability that a claim or its answer is lost (the sender then sees a failure). */
  loss: number
  live: Set<string>
  /** Per coordinator: replicas its failure detector holds alive (default: `live`). Different views, different first choices. */
  views: Map<string, Set<string>>
}

function network(random: Random, ids: readonly string[]): Net {
  const scheduler = new SimScheduler()
  const net: Net = { scheduler, nodes: new Map(), stores: new Map(), loss: 0, live: new Set(ids), views: new Map() }
  for (const id of ids) {
    const clock = new SimClock(scheduler)
    const store = new InMemoryStore({ schedule: clock.schedule })
    net.stores.set(id, store)
    const send = (peer: string, request: Request): Promise<Response> =>
      new Promise<Response>((resolve, reject) => {
        const lost = (): boolean => random.next() < net.loss || !net.live.has(peer)
        if (lost()) return void scheduler.after(5 + random.next() * 20, () => reject(new Error('lost')))
        scheduler.after(random.next() * 10, () => {
          void (net.nodes.get(peer) as KeyedWrites).handleClaim(request as never).then((answer) => {
            if (lost()) scheduler.after(random.next() * 10, () => reject(new Error('answer lost')))
            else scheduler.after(random.next() * 10, () => resolve(answer))
          })
        })
      })
    net.nodes.set(
      id,
      new KeyedWrites({ self: id, store, clock, random, ttlMs: 60_000, send, isLive: (peer) => (net.views.get(id) ?? net.live).has(peer) }),
    )
  }
  return net
}

describe(`keyed-write claims (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/cluster/keyed-writes.test.ts)`, () => {
  it('never chooses two appliers: 100 runs of 5 coordinators at once on a lossy, reordering network', async () => {
    const random = seededRandom(SEED)
    let decided = 0
    for (let run = 0; run < 100; run++) {
      const coordinators = ['a', 'b', 'c', 'd', 'e']
      const net = network(random, coordinators)
      net.loss = 0.2
      // Each coordinator suspects a random replica: they start from different appliers.
      for (const id of coordinators) net.views.set(id, new Set(REPLICAS.filter(() => random.next() < 0.6)))
      const attempts = coordinators.map((id) =>
        (net.nodes.get(id) as KeyedWrites).decide('k', WRITE, REPLICAS).then(
          (d) => d,
          (err: unknown) => err,
        ),
      )
      const outcomes = (await net.scheduler.runUntilSettled(Promise.all(attempts))) as (ClaimDecision | Error)[]
      const appliers = new Set(outcomes.flatMap((o) => (o instanceof Error || o.kind !== 'apply' ? [] : [o.applier])))
      expect(appliers.size, `run ${run}: ${JSON.stringify(outcomes)}`).toBeLessThanOrEqual(1)
      for (const o of outcomes) if (o instanceof Error) expect(o).toBeInstanceOf(IdempotencyUnavailableError)
      // Quiet network: a retry from anyone decides, and agrees with whatever was chosen.
      net.loss = 0
      net.views.clear()
      const retry = (await net.scheduler.runUntilSettled((net.nodes.get('e') as KeyedWrites).decide('k', WRITE, REPLICAS))) as ClaimDecision
      expect(retry.kind).toBe('apply')
      if (retry.kind === 'apply' && appliers.size === 1) expect(retry.applier).toBe([...appliers][0])
      if (appliers.size === 1) decided++
    }
    // Most runs decide during the lossy phase already: the test exercises both paths.
    expect(decided).toBeGreaterThan(20)
  })

  it('claims split three ways by failed attempts do not block a later retry', async () => {
    const random = seededRandom(SEED + 1)
    const net = network(random, REPLICAS)
    // Each replica alone: three attempts, each reaching only its own coordinator's replica,
    // leave a, b and c each promising (and accepting) a different applier.
    for (const id of REPLICAS) {
      net.live = new Set([id])
      const alone = await net.scheduler.runUntilSettled((net.nodes.get(id) as KeyedWrites).decide('k', WRITE, REPLICAS).catch((e: unknown) => e))
      expect(alone).toBeInstanceOf(IdempotencyUnavailableError)
    }
    net.live = new Set(REPLICAS)
    const decision = (await net.scheduler.runUntilSettled((net.nodes.get('b') as KeyedWrites).decide('k', WRITE, REPLICAS))) as ClaimDecision
    expect(decision.kind).toBe('apply')
  })

  it('replicas holding the outcome record answer with it; a reused key is refused', async () => {
    const random = seededRandom(SEED + 2)
    const net = network(random, REPLICAS)
    const record = encodeIdempotencyRecord(WRITE.fingerprint, { value: 3, token: 'AQ' })
    // The record travels with the write's delta: a majority of the replicas holds it.
    for (const id of ['b', 'c']) {
      await net.scheduler.runUntilSettled((net.stores.get(id) as InMemoryStore).write({ idempotency: [{ id: `idem:${WRITE.id}`, result: record, expiresAt: Date.now() * 2 }] }))
    }
    const decision = await net.scheduler.runUntilSettled((net.nodes.get('a') as KeyedWrites).decide('k', WRITE, REPLICAS))
    expect(decision).toEqual({ kind: 'replay', record })
    const reused = await net.scheduler.runUntilSettled(
      (net.nodes.get('a') as KeyedWrites).decide('k', { id: WRITE.id, fingerprint: 'another write' }, REPLICAS).catch((e: unknown) => e),
    )
    expect(String(reused)).toMatch(/already used for a different write/)
  })
})
