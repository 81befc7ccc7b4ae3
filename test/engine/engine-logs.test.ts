// An engine you can watch (issue 12, item 1): every part logs under its own component
// name what an operator needs (info, warn), noise only at debug, nothing per request above
// debug, and what a broken or hostile peer can trigger over and over at most once a
// minute. On the simulator with a recording logger per node, and on single parts.
import { describe, expect, it } from 'vitest'
import { LWWRegister } from '../../crdts/index.js'
import type { Clock, TimerHandle } from '../../src/base/clock.js'
import { IdempotencyUnavailableError, WriteOutcomeUnknownError } from '../../src/base/errors.js'
import { recordingLogger, type RecordedLine } from '../../src/base/logger.js'
import { createMessenger } from '../../src/cluster/messaging/messenger.js'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { Replica } from '../../src/replica/replica.js'
import { SimNetwork } from '../../src/sim/index.js'
import { InMemoryStore } from '../../src/store/index.js'
import { encodeMessage } from '../../src/wire/codec.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261203)
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 500, handoffIntervalMs: 300 }

/** A cluster whose nodes log into `lines` (per node id). */
async function watched(size: number, options: { deadPeers?: 'timeout' | 'refuse' } = {}): Promise<{ c: SimCluster; lines: Map<string, RecordedLine[]> }> {
  const lines = new Map<string, RecordedLine[]>()
  const c = new SimCluster({
    seed: SEED,
    size,
    deadPeers: options.deadPeers,
    link: { latency: { baseMs: 1, jitterMs: 1 } },
    config: FAST,
    logger: (id) => {
      if (!lines.has(id)) lines.set(id, [])
      return recordingLogger(lines.get(id))
    },
  })
  await c.start()
  await c.runFor(1000)
  return { c, lines }
}

function owners(c: SimCluster, key: string): string[] {
  return preferenceList(c.engine(c.ids[0] as string).membership.ring().ring, key, 3)
}

function keyNotOn(c: SimCluster, node: string, prefix: string): string {
  for (let i = 0; ; i++) if (!owners(c, `${prefix}${i}`).includes(node)) return `${prefix}${i}`
}

const of = (lines: readonly RecordedLine[] | undefined, component: string, level?: RecordedLine['level']): RecordedLine[] =>
  (lines ?? []).filter((l) => l.component === `rumordb:${component}` && (level === undefined || l.level === level))

const aboveDebug = (lines: Iterable<RecordedLine[]>): RecordedLine[] => [...lines].flat().filter((l) => l.level !== 'debug')

describe(`what the engine logs (seed ${SEED})`, () => {
  it('a peer cut off and back: suspected (warn), hints kept (info), back (info), hints handed over (info); no line per write above debug', async () => {
    const { c, lines } = await watched(5)
    const [watcher, cut] = c.ids as [string, string]
    // Each node heard the others join.
    expect(of(lines.get(watcher), 'membership', 'info').filter((l) => /joined/.test(l.message))).toHaveLength(4)

    c.net.partition([[cut]])
    await c.runFor(4000)
    expect(of(lines.get(watcher), 'membership', 'warn')).toContainEqual(expect.objectContaining({ fields: expect.objectContaining({ peer: cut }), message: expect.stringMatching(/suspected/) }))

    const before = new Map([...lines].map(([id, l]) => [id, l.length]))
    const keys = Array.from({ length: 2000 }, (_, i) => `cut-${i}`).filter((k) => owners(c, k).includes(cut) && !owners(c, k).includes(watcher)).slice(0, 200)
    await c.settle(Promise.all(keys.map((k) => c.engine(watcher).write(k, { type: 'gcounter', op: 'increment', amount: 1 }))))
    await c.settle(c.engine(watcher).coordinator.drain())
    const during = aboveDebug([...lines].map(([id, l]) => l.slice(before.get(id) ?? 0)))
    // One "keeping hints" line per node that keeps some, never one per write.
    expect(during.length).toBeLessThanOrEqual(5)
    expect(during.every((l) => l.component === 'rumordb:handoff' && l.level === 'info' && l.fields.owner === cut)).toBe(true)
    const perHint = [...lines.values()].flat().filter((l) => l.component === 'rumordb:handoff' && l.level === 'debug' && l.fields.owner === cut)
    expect(perHint.length).toBeGreaterThanOrEqual(keys.length)

    c.net.heal()
    await c.scheduler.runUntil(() => c.upIds().every((id) => c.engine(id).handoff.pending() === 0), { maxTime: 20_000 })
    await c.runFor(1000) // the passes under way end, and say what they delivered
    expect(of(lines.get(watcher), 'membership', 'info')).toContainEqual(expect.objectContaining({ fields: { peer: cut }, message: expect.stringMatching(/alive again/) }))
    const delivered = [...lines.values()].flat().filter((l) => l.component === 'rumordb:handoff' && l.level === 'info' && typeof l.fields.delivered === 'number')
    expect(delivered.reduce((n, l) => n + (l.fields.delivered as number), 0)).toBe(perHint.length)
  })

  it('OUTCOME_UNKNOWN at warn with key and peer, at most once a minute per replica', async () => {
    const { c, lines } = await watched(5, { deadPeers: 'refuse' })
    const coordinator = c.ids[0] as string
    const applier = owners(c, keyNotOn(c, coordinator, 'mid-write-'))[0] as string
    /** A write `applier` applies and dies before answering: OUTCOME_UNKNOWN; then it restarts. */
    const unknown = async (prefix: string): Promise<string> => {
      let key = keyNotOn(c, coordinator, prefix)
      for (let i = 0; owners(c, key)[0] !== applier; i++) key = keyNotOn(c, coordinator, `${prefix}${i}-`)
      c.crashBeforeNextAnswer(applier, 'apply')
      const outcome = await c.settle(c.db(coordinator).counter(key).increment(1)).catch((e: unknown) => e)
      expect(outcome).toBeInstanceOf(WriteOutcomeUnknownError)
      await c.restart(applier)
      await c.runFor(2000)
      return key
    }
    const first = await unknown('mid-write-')
    const warned = () => of(lines.get(coordinator), 'coordinator', 'warn').filter((l) => /OUTCOME_UNKNOWN/.test(l.message))
    expect(warned()).toEqual([expect.objectContaining({ fields: expect.objectContaining({ key: first, peer: applier }) })])
    // The same replica again within the minute: counted, not logged; after it, logged with the count.
    await unknown('again-')
    expect(warned()).toHaveLength(1)
    await c.runFor(60_000)
    const third = await unknown('later-')
    expect(warned()).toHaveLength(2)
    expect(warned()[1]).toMatchObject({ fields: { key: third, peer: applier }, message: expect.stringMatching(/1 more like it/) })
  })

  it('IDEMPOTENCY_UNAVAILABLE at warn with the key and its replicas; a missed quorum only at debug', async () => {
    const { c, lines } = await watched(5)
    const coordinator = c.ids[0] as string
    c.net.isolate(coordinator)
    await c.runFor(4000)
    const key = keyNotOn(c, coordinator, 'keyed-')
    const keyed = await c.settle(c.db(coordinator).counter(key).increment(1, { idempotencyKey: 'pay-1' })).catch((e: unknown) => e)
    expect(keyed).toBeInstanceOf(IdempotencyUnavailableError)
    expect(of(lines.get(coordinator), 'coordinator', 'warn')).toContainEqual(
      expect.objectContaining({ fields: expect.objectContaining({ key, peers: owners(c, key) }), message: expect.stringMatching(/IDEMPOTENCY_UNAVAILABLE/) }),
    )
    const result = await c.settle(c.engine(coordinator).write('alone', { type: 'gcounter', op: 'increment', amount: 1 }))
    expect(result.quorum).toBe(false)
    expect(of(lines.get(coordinator), 'coordinator')).toContainEqual(expect.objectContaining({ level: 'debug', fields: { key: 'alone', acks: 1, required: 2 } }))
    expect(of(lines.get(coordinator), 'coordinator', 'info')).toEqual([])
  })

  it('member records that fail validation are refused at warn, once a minute per sender', async () => {
    const { c, lines } = await watched(3)
    const [a] = c.ids as [string]
    const bad = { peerId: 'intruder', addrs: ['/ip4/2.2.2.2/tcp/1', '/ip4/1.1.1.1/tcp/1'], vnodes: 8, incarnation: 0, status: 'alive' as const }
    for (let i = 0; i < 10; i++) await c.settle(c.engine(a).membership.handleJoin('intruder', bad))
    expect(of(lines.get(a), 'membership', 'warn').filter((l) => /refused member records/.test(l.message))).toEqual([
      expect.objectContaining({ fields: expect.objectContaining({ peer: 'intruder' }) }),
    ])
    expect(c.engine(a).members().some((m) => m.id === 'intruder')).toBe(false)
  })
})

/** Time moves only when the test says so. */
class SteppedClock implements Clock {
  time = Date.UTC(2026, 0, 1)
  now(): number {
    return this.time
  }
  setTimeout(): TimerHandle {
    return {}
  }
  clearTimeout(): void {}
}

describe('what single parts log', () => {
  it('the replica: registers from a clock too far ahead are refused at warn, once a minute, and all counted', async () => {
    const clock = new SteppedClock()
    const lines: RecordedLine[] = []
    const replica = new Replica({ store: new InMemoryStore(), clock, actor: 'me', logger: recordingLogger(lines).forComponent('replica') })
    const future = (i: number) => LWWRegister.encode(LWWRegister.set(null, 'fast-node', `v${i}`, { wallMs: clock.now() + 60_000, logical: i }))
    for (let i = 0; i < 50; i++) await expect(replica.merge(`k${i}`, future(i))).rejects.toThrow(/ahead/)
    expect(replica.stats.clockDriftRefused).toBe(50)
    expect(lines).toEqual([expect.objectContaining({ level: 'warn', component: 'rumordb:replica', fields: expect.objectContaining({ key: 'k0', kind: 'clock-drift' }) })])
    clock.time += 61_000
    await expect(replica.merge('later', future(99))).rejects.toThrow(/ahead/)
    expect(lines).toHaveLength(2)
    expect(lines[1]?.message).toMatch(/49 more like it/)
  })

  it('the messenger: large parts it refuses and undecodable frames, at warn, once a minute per peer', async () => {
    const net = new SimNetwork({ seed: SEED, link: { latency: { baseMs: 1, jitterMs: 0 } } })
    const [na, nb] = net.addNodes(2) as [ReturnType<SimNetwork['addNodes']>[number], ReturnType<SimNetwork['addNodes']>[number]]
    const lines: RecordedLine[] = []
    const b = createMessenger({
      transport: nb.transport,
      now: () => nb.clock.now(),
      onRequest: async () => ({ type: 'ack' }),
      onBroadcast: () => {},
      logger: recordingLogger(lines).forComponent('messenger'),
    })
    na.transport.setRequestHandler(async () => new Uint8Array())
    na.transport.setBroadcastHandler(() => {})
    await na.transport.start()
    await nb.transport.start()
    // A part shorter than its message's parts must be: refused every time.
    const part = encodeMessage({ type: 'large-part', transfer: 1, index: 0, size: 2 * 1024 * 1024, digest: new Uint8Array(32), data: new Uint8Array(8) })
    for (let i = 0; i < 20; i++) await net.scheduler.runUntilSettled(na.transport.request(nb.id, part, { timeoutMs: 1000 }))
    for (let i = 0; i < 20; i++) await net.scheduler.runUntilSettled(na.transport.request(nb.id, new Uint8Array([0xff, 0xff, 0xff]), { timeoutMs: 1000 }))
    expect(b.stats.largeRefused).toBe(20)
    expect(b.stats.badFrames).toBe(20)
    const warned = lines.filter((l) => l.level === 'warn' && l.component === 'rumordb:messenger')
    expect(warned).toEqual([
      expect.objectContaining({ fields: expect.objectContaining({ peer: na.id, code: 'BAD_REQUEST' }), message: expect.stringMatching(/refused a part/) }),
      expect.objectContaining({ fields: expect.objectContaining({ peer: na.id }), message: expect.stringMatching(/undecodable request/) }),
    ])
  })
})
