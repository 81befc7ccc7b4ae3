// Anti-entropy's step timeout is the one that fires: it is passed to the messenger with
// every request of a round (issue 12, item 4), and a round sets no timer of its own that
// could cut short a large answer pulled in parts. Two nodes, each an AntiEntropy behind a
// real messenger on the simulated network.
import { describe, expect, it } from 'vitest'
import { ORSet, type ORSetState } from '../../crdts/index.js'
import { AntiEntropy, AntiEntropyTimeoutError, type RoundResult } from '../../src/cluster/anti-entropy/anti-entropy.js'
import { ArcIndex } from '../../src/cluster/anti-entropy/arc-index.js'
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../../src/cluster/messaging/constants.js'
import type { LargeMessageLimits } from '../../src/cluster/messaging/large-messages.js'
import { createMessenger, type Messenger } from '../../src/cluster/messaging/messenger.js'
import { buildRing } from '../../src/cluster/ring/ring.js'
import { ringVersionOf } from '../../src/cluster/ring/ring-version.js'
import { Replica } from '../../src/replica/replica.js'
import { SimNetwork } from '../../src/sim/index.js'
import type { LinkOverrides } from '../../src/sim/link.js'
import { InMemoryStore } from '../../src/store/index.js'
import type { Request, Response } from '../../src/wire/messages.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 12)

/** Frames of 64 KiB and parts of 16 KiB, one at a time: a state of some hundred KiB is an answer pulled in many round trips. */
const SMALL_FRAMES: Partial<LargeMessageLimits> = { frameBytes: 64 * 1024, partBytes: 16 * 1024, partsInFlight: 1, maxMessageBytes: 1024 * 1024 }

interface Side {
  readonly id: string
  readonly store: InMemoryStore
  readonly replica: Replica
  readonly ae: AntiEntropy
  readonly messenger: Messenger
}

async function pair(options: { link: LinkOverrides; requestTimeoutMs?: number; hang?: (request: Request) => boolean }): Promise<{ net: SimNetwork; a: Side; b: Side }> {
  const net = new SimNetwork({ seed: SEED, link: options.link })
  const nodes = net.addNodes(2)
  const members = nodes.map((n) => ({ id: n.id, vnodes: 8 }))
  const ring = buildRing(members)
  const view = { ring, version: ringVersionOf(members), n: 2 }
  const sides = nodes.map((node): Side => {
    const store = new InMemoryStore({ schedule: node.schedule })
    const replica = new Replica({ store, clock: node.clock, actor: node.id })
    const index = new ArcIndex()
    index.rebuild(ring, store)
    replica.onCommitted((change) => index.update(change.key))
    let ae: AntiEntropy | undefined
    const messenger = createMessenger({
      transport: node.transport,
      now: () => node.clock.now(),
      onRequest: (from, request) => {
        if (options.hang?.(request) === true) return new Promise<Response>(() => {})
        return ae?.handle(from, request) ?? Promise.resolve({ type: 'error', code: 'BAD_REQUEST', message: request.type })
      },
      onBroadcast: () => {},
      largeMessages: SMALL_FRAMES,
    })
    ae = new AntiEntropy({
      self: node.id,
      store,
      replica,
      index,
      clock: node.clock,
      random: node.random,
      send: (peer, request, sendOptions) => messenger.send(peer, request, sendOptions),
      livePeers: () => nodes.map((n) => n.id).filter((id) => id !== node.id),
      ring: () => view,
      requestTimeoutMs: options.requestTimeoutMs,
    })
    return { id: node.id, store, replica, ae, messenger }
  })
  await Promise.all(nodes.map((n) => n.transport.start()))
  return { net, a: sides[0] as Side, b: sides[1] as Side }
}

async function timedRound(net: SimNetwork, from: Side, to: Side): Promise<{ result: RoundResult; tookMs: number }> {
  const started = net.scheduler.now
  const result = await net.scheduler.runUntilSettled(from.ae.runRound(to.id))
  return { result, tookMs: net.scheduler.now - started }
}

describe(`anti-entropy step timeouts (seed ${SEED})`, () => {
  it('a configured step timeout is the one that fires, not the messenger’s shorter adaptive one', async () => {
    const { net, a, b } = await pair({ link: { latency: { baseMs: 5, jitterMs: 0 } }, requestTimeoutMs: 3_000, hang: (r) => r.type === 'sync-root' })
    await net.scheduler.runUntilSettled(a.replica.apply('k', { type: 'gcounter', op: 'increment', amount: 1 }))
    const { result, tookMs } = await timedRound(net, a, b)
    expect(result.outcome).toBe('failed')
    expect(result.error).toBeInstanceOf(AntiEntropyTimeoutError)
    expect(String(result.error)).toMatch(/did not answer sync-root within 3000 ms/)
    expect(tookMs).toBeGreaterThanOrEqual(3_000)
    expect(tookMs).toBeLessThan(3_100)
    expect(a.ae.stats.failedRounds).toBe(1)
  })

  it('without one, the messenger’s adaptive timeout ends the step', async () => {
    const { net, a, b } = await pair({ link: { latency: { baseMs: 5, jitterMs: 0 } }, hang: (r) => r.type === 'sync-root' })
    const { result, tookMs } = await timedRound(net, a, b)
    expect(result.error).toBeInstanceOf(AntiEntropyTimeoutError)
    expect(tookMs).toBeGreaterThanOrEqual(DEFAULT_REQUEST_TIMEOUT_MS)
    expect(tookMs).toBeLessThan(DEFAULT_REQUEST_TIMEOUT_MS + 100)
  })

  it('a large answer pulled in parts may take far longer than one step timeout: each part gets its own', async () => {
    // 100 ms round trips, a 300 ms step timeout, and a state of ~300 KiB in 16 KiB parts,
    // one at a time: the pull takes about two seconds, each part one round trip.
    const { net, a, b } = await pair({ link: { latency: { baseMs: 50, jitterMs: 0 } }, requestTimeoutMs: 300 })
    let state = ORSet.empty() as ORSetState
    for (let i = 0; i < 3000; i++) state = ORSet.merge(state, ORSet.add(state, 'a-third-node', `element-${i}-${'x'.repeat(80)}`))
    await net.scheduler.runUntilSettled(b.replica.merge('big', ORSet.encode(state)))
    expect(b.store.getKey('big')?.state.length).toBeGreaterThan(200 * 1024)

    const { result, tookMs } = await timedRound(net, a, b)
    expect(result).toMatchObject({ outcome: 'synced', received: 1 })
    expect(tookMs).toBeGreaterThan(1_000)
    expect(a.store.getKey('big')?.digest).toEqual(b.store.getKey('big')?.digest)
    expect(a.messenger.stats.largeReceived).toBe(1)
  })
})
