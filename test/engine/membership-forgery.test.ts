// A peer speaks only for itself (issue 11, item 1): one forged member record — a join or a
// heartbeat from a stranger about node B, with status 'left' and incarnation 2^53 − 1 —
// used to evict B for good (A, B and C listed B as left, and B could no longer start:
// "incarnation must be a non-negative safe integer"). Records about anyone but the sender
// are dropped and counted; a record that would leave no room for a later incarnation is
// refused; a bad stored record never keeps a node from starting.
import { describe, expect, it } from 'vitest'
import * as memberTable from '../../src/cluster/membership/member-table.js'
import { recordingLogger } from '../../src/base/logger.js'
import { encodeMessage } from '../../src/wire/codec.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261208)

async function setup(options: { logger?: boolean } = {}) {
  const lines = recordingLogger()
  const c = new SimCluster({
    seed: SEED,
    size: 3,
    link: { latency: { baseMs: 1, jitterMs: 1 } },
    config: { heartbeatIntervalMs: 200 },
    ...(options.logger === true ? { logger: () => lines } : {}),
  })
  await c.start()
  await c.runFor(1500)
  const stranger = c.net.addNode('zz-stranger')
  await stranger.transport.start()
  return { c, stranger, lines }
}

const forged = (peerId: string, incarnation = Number.MAX_SAFE_INTEGER) => ({
  peerId,
  addrs: ['/ip4/203.0.113.9/tcp/4001'],
  vnodes: 128,
  incarnation,
  status: 'left' as const,
})
/** A record one incarnation above the real one: it would win if it were accepted. */
const plausible = (c: SimCluster, peerId: string) => forged(peerId, (c.db(c.ids[0] as string).members().members.find((m) => m.id === peerId)?.incarnation ?? 0) + 1)

describe(`member records speak only for their sender (seed ${SEED})`, () => {
  it('a join from a stranger about B does not evict B anywhere, and B restarts as usual', async () => {
    const { c, stranger } = await setup()
    const [a, b, d] = c.ids as [string, string, string]
    for (const target of [a, d]) {
      for (const member of [forged(b), plausible(c, b)]) {
        await c.settle(stranger.transport.request(target, encodeMessage({ type: 'join', member }), { timeoutMs: 1000 }))
      }
    }
    await c.runFor(500)
    for (const id of [a, b, d]) expect(c.db(id).members().members.find((m) => m.id === b)?.status).toBe('alive')
    expect(c.engine(a).membership.stats.recordsRefused).toBeGreaterThan(0)
    c.crash(b)
    await c.restart(b)
    await c.runFor(1500)
    expect(c.db(a).members().members.find((m) => m.id === b)?.status).toBe('alive')
  })

  it("a heartbeat broadcast about another node is dropped: C stays alive at A and B", async () => {
    const { c, stranger } = await setup()
    const [a, b, d] = c.ids as [string, string, string]
    stranger.transport.broadcast(encodeMessage({ type: 'heartbeat', member: plausible(c, d), seq: 1, time: c.scheduler.now }))
    // Checked before C's own heartbeats could repair a record that had been accepted.
    await c.runFor(20)
    for (const id of [a, b]) {
      expect(c.db(id).members().members.find((m) => m.id === d)?.status).toBe('alive')
      expect(c.engine(id).membership.stats.recordsRefused).toBe(1)
    }
  })

  it('a node speaking for itself with an incarnation that leaves no room is refused', async () => {
    const { c, stranger } = await setup()
    const [a] = c.ids as [string]
    const own = { ...forged('zz-stranger'), status: 'alive' as const }
    await c.settle(stranger.transport.request(a, encodeMessage({ type: 'join', member: own }), { timeoutMs: 1000 }))
    expect(c.db(a).members().members.map((m) => m.id)).not.toContain('zz-stranger')
  })

  it('a bad stored record is dropped with a warning, and the node starts', async () => {
    const { c, lines } = await setup({ logger: true })
    const [, b] = c.ids as [string, string]
    // As if an earlier version had stored a forged record of B itself, then B was killed.
    const table = memberTable.fromRecords([{ ...forged(b), status: 'alive' }])
    await c.settle(c.member(b).store.write({ members: { upsert: [{ peerId: b, record: memberTable.encode(table) }] } }))
    c.crash(b)
    await c.restart(b)
    await c.runFor(1500)
    expect(c.db(b).members().members.find((m) => m.id === b)?.status).toBe('alive')
    expect(lines.lines.some((l) => l.level === 'warn' && l.message.includes(`dropped the stored member record of ${b}`))).toBe(true)
  })
})
