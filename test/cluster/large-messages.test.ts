// Messages above one frame: the part buffers alone (split and reassembly in any order,
// duplicates, hostile parts, bounds, idle timeouts), then two messengers on the simulated
// network (duplicating and reordering links, lost parts, peers that never finish).
// Small limits keep the cases fast; one case runs the defaults (1 MiB parts, > 4 MiB).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { LargeMessageBuffers, type PartOutcome } from '../../src/cluster/messaging/large-message-buffers.js'
import { LargeMessageError, largeMessageLimits, messageDigest, partCount, partLength, type LargeMessageLimits } from '../../src/cluster/messaging/large-messages.js'
import { createMessenger, type Messenger } from '../../src/cluster/messaging/messenger.js'
import { seededRandom, type Random } from '../../src/base/random.js'
import { SimNetwork, type LinkOverrides } from '../../src/sim/index.js'
import { decodeResponse, encodeMessage } from '../../src/wire/codec.js'
import { MAX_FRAME_BYTES } from '../../src/wire/limits.js'
import type { LargePartRequest, Request, Response } from '../../src/wire/messages.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261110)

/** 16 KiB messages at most, in parts of 256 bytes (64 parts), frames of 1 KiB. */
const SMALL: Partial<LargeMessageLimits> = {
  frameBytes: 1024,
  partBytes: 256,
  maxMessageBytes: 16 * 1024,
  maxTransfersPerPeer: 2,
  maxBytesPerPeer: 32 * 1024,
  maxBytesTotal: 48 * 1024,
  idleTimeoutMs: 1000,
  pulledGraceMs: 100,
  partsInFlight: 3,
  minPartTimeoutMs: 200,
}
const LIMITS = largeMessageLimits(SMALL)

function bytes(random: Random, n: number): Uint8Array {
  return random.bytes(n)
}

function partsOf(message: Uint8Array, transfer: number, limits: LargeMessageLimits = LIMITS): LargePartRequest[] {
  const digest = messageDigest(message)
  return Array.from({ length: partCount(message.length, limits.partBytes) }, (_, index) => {
    const start = index * limits.partBytes
    const data = message.slice(start, start + partLength(message.length, index, limits.partBytes))
    return { type: 'large-part', transfer, index, size: message.length, digest, data }
  })
}

function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = random.int(i + 1)
    ;[items[i], items[j]] = [items[j] as T, items[i] as T]
  }
  return items
}

/** Byte equality without vitest's element-by-element diff (slow on megabytes). */
function expectBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  expect(actual).toBeInstanceOf(Uint8Array)
  expect(actual?.length).toBe(expected.length)
  expect(Buffer.from(actual as Uint8Array).equals(expected)).toBe(true)
}

function expectError(outcome: PartOutcome | Response, code: string, message: RegExp): void {
  expect(outcome).toMatchObject({ type: 'error', code })
  expect((outcome as { message: string }).message).toMatch(message)
}

describe(`large-message buffers (seed ${SEED})`, () => {
  it('reassemble a message from parts in any order, duplicated, exactly once, and then hold nothing', () => {
    const random = seededRandom(SEED)
    const buffers = new LargeMessageBuffers(LIMITS)
    for (let trial = 0; trial < 200; trial++) {
      const message = bytes(random, 1 + random.int(LIMITS.maxMessageBytes))
      const parts = partsOf(message, trial + 1)
      const sequence = shuffle(random, [...parts, ...parts.filter(() => random.next() < 0.3)])
      const seen = new Set<number>()
      let completions = 0
      let completedBy = -1
      let t = trial * 10
      for (const part of sequence) {
        seen.add(part.index)
        const outcome = buffers.receivePart('p', part, t++)
        if (outcome.type === 'complete') {
          completions++
          completedBy = part.index
          expectBytes(outcome.message, message)
          // Completed by the last distinct part, not before.
          expect(seen.size).toBe(parts.length)
        } else {
          expect(outcome).toEqual(completions === 0 || part.index !== completedBy ? { type: 'large-stored' } : { type: 'repeat', answer: undefined })
        }
      }
      expect(completions).toBe(1)
      // Late copies do not start the message again; a copy of the completing part is told so.
      for (const part of parts.filter(() => random.next() < 0.5)) {
        const outcome = buffers.receivePart('p', part, t)
        expect(outcome.type).toBe(part.index === completedBy ? 'repeat' : 'large-stored')
      }
      expect(buffers.bytesHeld).toBe(0)
      expect(buffers.transfers).toBe(0)
    }
    expect(buffers.stats).toEqual({ refused: 0, dropped: 0 })
  })

  it('refuse parts that do not fit their message, and change nothing', () => {
    const random = seededRandom(SEED + 1)
    const buffers = new LargeMessageBuffers(LIMITS)
    const message = bytes(random, 1000) // parts of 256, 256, 256, 232
    const [first, , , last] = partsOf(message, 7) as [LargePartRequest, LargePartRequest, LargePartRequest, LargePartRequest]
    const cases: [LargePartRequest, RegExp][] = [
      [{ ...first, index: 4 }, /part 4 is beyond the 4 parts of a 1000-byte message/],
      [{ ...first, index: 63 }, /part 63 is beyond the 4 parts/],
      [{ ...first, data: first.data.subarray(1) }, /part 0 of a 1000-byte message must be 256 bytes \(parts of 256\), got 255/],
      [{ ...last, data: new Uint8Array(256) }, /part 3 of a 1000-byte message must be 232 bytes/],
      [{ ...first, size: LIMITS.maxMessageBytes + 1 }, /a message of 16385 bytes is above the largest this node takes \(16384\)/],
      [{ ...first, size: 0 }, /a message of 0 bytes/],
      [{ ...first, digest: first.digest.subarray(1) }, /the digest must be 32 bytes/],
    ]
    for (const [part, reason] of cases) {
      expectError(buffers.receivePart('p', part, 0), 'BAD_REQUEST', reason)
      expect(buffers.bytesHeld).toBe(0)
      expect(buffers.transfers).toBe(0)
    }

    // The same part twice with other bytes: one of them is garbage, so the transfer is dropped.
    expect(buffers.receivePart('p', first, 0)).toEqual({ type: 'large-stored' })
    const forged = { ...first, data: new Uint8Array(first.data).fill(9) }
    expectError(buffers.receivePart('p', forged, 0), 'BAD_REQUEST', /part 0 of transfer 7 came twice with different bytes; the transfer is dropped/)
    expect(buffers.bytesHeld).toBe(0)
    // The rest of its parts start it over and never complete it.
    for (const part of partsOf(message, 7).slice(1)) expect(buffers.receivePart('p', part, 0).type).toBe('large-stored')
    expect(buffers.sweep(LIMITS.idleTimeoutMs)).toBe(1)

    // Parts that do not add up to their digest are never handed on.
    const other = bytes(random, 1000)
    const lying = partsOf(other, 8).map((p) => ({ ...p, digest: messageDigest(message) }))
    const outcomes = lying.map((p) => buffers.receivePart('p', p, 0))
    expect(outcomes.slice(0, -1).every((o) => o.type === 'large-stored')).toBe(true)
    expectError(outcomes.at(-1) as PartOutcome, 'BAD_REQUEST', /the 4 parts of transfer 8 do not match its digest; send the message again/)
    expect(buffers.bytesHeld).toBe(0)
    expect(buffers.transfers).toBe(0)
  })

  it('treat a new message under an old transfer id (a restarted sender) as new', () => {
    const random = seededRandom(SEED + 2)
    const buffers = new LargeMessageBuffers(LIMITS)
    const old = partsOf(bytes(random, 3000), 1)
    const fresh = bytes(random, 2000)
    buffers.receivePart('p', old[0] as LargePartRequest, 0)
    buffers.receivePart('p', old[1] as LargePartRequest, 0)
    const outcomes = partsOf(fresh, 1).map((p) => buffers.receivePart('p', p, 1))
    expect(outcomes.at(-1)).toEqual({ type: 'complete', message: fresh })
    expect(buffers.bytesHeld).toBe(0)
    expect(buffers.stats.dropped).toBe(1)
  })

  it('bound what one peer, and all peers, can make a node hold, reserving a message when it starts', () => {
    const random = seededRandom(SEED + 3)
    const buffers = new LargeMessageBuffers(LIMITS)
    const big = (transfer: number): LargePartRequest => partsOf(bytes(random, LIMITS.maxMessageBytes), transfer)[0] as LargePartRequest
    // One part claims a whole 16 KiB message: that much is reserved.
    expect(buffers.receivePart('p', big(1), 0).type).toBe('large-stored')
    expect(buffers.bytesHeld).toBe(16 * 1024)
    expect(buffers.receivePart('p', big(2), 0).type).toBe('large-stored')
    expectError(buffers.receivePart('p', big(3), 0), 'UNAVAILABLE', /already holds 2 half-received large messages of yours, the most it takes; retry when they are done \(idle ones are dropped after 1000 ms\)/)
    expect(buffers.bytesHeld).toBe(32 * 1024)
    // Other peers are not affected by p, up to the total.
    expect(buffers.receivePart('q', big(1), 0).type).toBe('large-stored')
    expectError(buffers.receivePart('r', big(1), 0), 'UNAVAILABLE', /16384 more bytes of large messages would exceed the 49152 this node holds in all/)
    expect(buffers.bytesHeld).toBe(48 * 1024)

    // Bytes per peer, with room for more transfers.
    const roomy = new LargeMessageBuffers(largeMessageLimits({ ...SMALL, maxTransfersPerPeer: 8, maxBytesPerPeer: 20 * 1024 }))
    expect(roomy.receivePart('p', big(1), 0).type).toBe('large-stored')
    const eightK = partsOf(bytes(random, 8 * 1024), 2)
    expectError(roomy.receivePart('p', eightK[0] as LargePartRequest, 0), 'UNAVAILABLE', /8192 more bytes of large messages would exceed the 20480 this node holds for one peer/)
    // A completed message frees its reservation.
    const small = bytes(random, 4096)
    expect(partsOf(small, 3).map((p) => roomy.receivePart('p', p, 0)).at(-1)).toEqual({ type: 'complete', message: small })
    expect(roomy.bytesHeld).toBe(16 * 1024)
    expect(roomy.stats.refused).toBe(1)
  })

  it("make room for a peer's new message by dropping its half-received one idle longer than a part's timeout (its sender gave up)", () => {
    const random = seededRandom(SEED + 5)
    const buffers = new LargeMessageBuffers(LIMITS)
    const first = (transfer: number): LargePartRequest => partsOf(bytes(random, 1000), transfer)[0] as LargePartRequest
    // Two messages cut midway (a partition, a crash of the sender): their parts stop coming.
    expect(buffers.receivePart('p', first(1), 0).type).toBe('large-stored')
    expect(buffers.receivePart('p', first(2), 50).type).toBe('large-stored')
    // While the older could still be in flight, a third waits its turn.
    expectError(buffers.receivePart('p', first(3), LIMITS.minPartTimeoutMs - 1), 'UNAVAILABLE', /already holds 2 half-received/)
    // Once no part of it can still come, the sender has given it up: the new message takes its place, long before the idle timeout.
    const fresh = bytes(random, 1000)
    const outcomes = partsOf(fresh, 3).map((p) => buffers.receivePart('p', p, LIMITS.minPartTimeoutMs))
    expect(outcomes.at(-1)).toEqual({ type: 'complete', message: fresh })
    expect(LIMITS.minPartTimeoutMs).toBeLessThan(LIMITS.idleTimeoutMs)
    // The other cut message (idle for less) is still there; the dropped one is counted.
    expect(buffers.bytesHeld).toBe(1000)
    expect(buffers.stats.dropped).toBe(1)
  })

  it('drop a half-received message after the idle timeout, not before; each part keeps it alive', () => {
    const random = seededRandom(SEED + 4)
    const buffers = new LargeMessageBuffers(LIMITS)
    const message = bytes(random, 1000)
    const parts = partsOf(message, 1)
    buffers.receivePart('p', parts[0] as LargePartRequest, 0)
    expect(buffers.sweep(999)).toBe(0)
    buffers.receivePart('p', parts[1] as LargePartRequest, 999)
    expect(buffers.sweep(1998)).toBe(0)
    expect(buffers.bytesHeld).toBe(1000)
    expect(buffers.sweep(1999)).toBe(1)
    expect(buffers.bytesHeld).toBe(0)
    expect(buffers.transfers).toBe(0)
    // The sender's remaining parts start a new transfer, which lacks the first two: no message.
    expect(parts.slice(2).map((p) => buffers.receivePart('p', p, 2000).type)).toEqual(['large-stored', 'large-stored'])
    expect(buffers.sweep(3000)).toBe(1)
    expect(buffers.stats.dropped).toBe(2)
  })

  it('keep a large response for its requester only, until a moment after every part was pulled, or it idles out', () => {
    const random = seededRandom(SEED + 5)
    const buffers = new LargeMessageBuffers(LIMITS)
    const message = bytes(random, 5000) // 20 parts
    const ready = buffers.keep('p', message, 0)
    if (ready.type !== 'large-ready') throw new Error(`not kept: ${ready.message}`)
    expect(ready).toMatchObject({ size: 5000, digest: messageDigest(message) })
    expect(buffers.bytesHeld).toBe(5000)
    expectError(buffers.pull('q', { type: 'large-pull', transfer: ready.transfer, index: 0 }, 0), 'UNAVAILABLE', /no response 1 is kept for you/)
    expectError(buffers.pull('p', { type: 'large-pull', transfer: ready.transfer, index: 20 }, 0), 'BAD_REQUEST', /part 20 is beyond the 20 parts of response 1/)
    const order = shuffle(random, [...Array.from({ length: 20 }, (_, i) => i), 3, 7, 7])
    const got = new Map<number, Uint8Array>()
    for (const index of order) {
      const data = buffers.pull('p', { type: 'large-pull', transfer: ready.transfer, index }, 10)
      if (data.type !== 'large-data') throw new Error(`pull ${index} refused: ${data.message}`)
      if (got.has(index)) expect(data.data).toEqual(got.get(index))
      got.set(index, data.data)
    }
    const joined = Buffer.concat([...got].sort(([a], [b]) => a - b).map(([, d]) => d))
    expectBytes(new Uint8Array(joined), message)
    expect(buffers.transfers).toBe(0)
    // Pulled whole: kept a moment for late copies of its pulls, then forgotten.
    expect(buffers.pull('p', { type: 'large-pull', transfer: ready.transfer, index: 19 }, 100).type).toBe('large-data')
    expect(buffers.sweep(199)).toBe(0)
    expect(buffers.bytesHeld).toBe(5000)
    expect(buffers.sweep(200)).toBe(0)
    expect(buffers.bytesHeld).toBe(0)
    expectError(buffers.pull('p', { type: 'large-pull', transfer: ready.transfer, index: 0 }, 200), 'UNAVAILABLE', /no response 1 is kept for you \(it was pulled whole/)

    // Never pulled: dropped after the idle timeout. Bounded like received ones.
    expect(buffers.keep('p', message, 100).type).toBe('large-ready')
    expect(buffers.keep('p', message, 100).type).toBe('large-ready')
    expectError(buffers.keep('p', message, 100), 'UNAVAILABLE', /already holds 2 large responses waiting to be pulled of yours/)
    expectError(buffers.keep('p', new Uint8Array(LIMITS.maxMessageBytes + 1), 100), 'INTERNAL', /above the largest message/)
    expect(buffers.sweep(1099)).toBe(0)
    expect(buffers.sweep(1100)).toBe(2)
    expect(buffers.bytesHeld).toBe(0)
  })

  it('under any stream of hostile and honest parts from several peers, hold within bounds, complete only real messages, and forget all when idle', () => {
    const random = seededRandom(SEED + 6)
    const messages = Array.from({ length: 3 }, (_, i) => bytes(random, [700, 4000, LIMITS.maxMessageBytes][i] as number))
    const honest = messages.map((m, i) => partsOf(m, i + 1))
    const peers = ['p', 'q', 'r']
    const partArb: fc.Arbitrary<LargePartRequest> = fc.oneof(
      fc.record({ m: fc.nat(2), i: fc.nat(63) }).map(({ m, i }) => {
        const parts = honest[m] as LargePartRequest[]
        return parts[i % parts.length] as LargePartRequest
      }),
      fc.record({
        type: fc.constant('large-part' as const),
        transfer: fc.nat(4),
        index: fc.nat(70),
        size: fc.oneof(fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 2 * LIMITS.maxMessageBytes })),
        digest: fc.oneof(fc.constantFrom(...messages.map(messageDigest)), fc.uint8Array({ minLength: 32, maxLength: 32 })),
        data: fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.constant(new Uint8Array(256))),
      }),
    )
    const stepArb = fc.record({ peer: fc.constantFrom(...peers), part: partArb, wait: fc.oneof(fc.constant(0), fc.nat(400)) })
    fc.assert(
      fc.property(fc.array(stepArb, { maxLength: 300 }), (steps) => {
        const buffers = new LargeMessageBuffers(LIMITS)
        let now = 0
        for (const { peer, part, wait } of steps) {
          now += wait
          buffers.sweep(now)
          const outcome = buffers.receivePart(peer, part, now)
          if (outcome.type === 'complete') expect(messages.some((m) => Buffer.from(m).equals(outcome.message))).toBe(true)
          expect(buffers.bytesHeld).toBeLessThanOrEqual(LIMITS.maxBytesTotal)
          expect(buffers.transfers).toBeLessThanOrEqual(peers.length * LIMITS.maxTransfersPerPeer)
        }
        buffers.sweep(now + LIMITS.idleTimeoutMs)
        expect(buffers.bytesHeld).toBe(0)
        expect(buffers.transfers).toBe(0)
      }),
      { seed: SEED, numRuns: 300 },
    )
  })
})

// ---- two messengers on the simulated network --------------------------------------------

interface Pair {
  net: SimNetwork
  a: Messenger
  b: Messenger
  /** Requests b's engine handler got. */
  handled: Request[]
  /** Largest frame that crossed the network. */
  largestFrame: () => number
}

async function pair(seed: number, link: LinkOverrides, options: { a?: Partial<LargeMessageLimits>; b?: Partial<LargeMessageLimits>; answer?: (r: Request) => Response } = {}): Promise<Pair> {
  let largest = 0
  const net = new SimNetwork({ seed, link, trace: (e) => void (largest = Math.max(largest, e.bytes)) })
  const [na, nb] = net.addNodes(2)
  if (na === undefined || nb === undefined) throw new Error('unreachable')
  const handled: Request[] = []
  const a = createMessenger({ transport: na.transport, now: () => na.clock.now(), onRequest: async () => ({ type: 'ack' }), onBroadcast: () => {}, largeMessages: options.a ?? SMALL })
  const b = createMessenger({
    transport: nb.transport,
    now: () => nb.clock.now(),
    onRequest: async (_from, request) => {
      handled.push(request)
      return options.answer?.(request) ?? { type: 'ack' }
    },
    onBroadcast: () => {},
    largeMessages: options.b ?? SMALL,
  })
  await na.transport.start()
  await nb.transport.start()
  return { net, a, b, handled, largestFrame: () => largest }
}

const settle = <T>(net: SimNetwork, p: Promise<T>): Promise<T> => net.scheduler.runUntilSettled(p)

describe(`messengers with large messages on the simulator (seed ${SEED})`, () => {
  it('carry requests and responses above one frame whole, over links that duplicate and reorder', async () => {
    const random = seededRandom(SEED + 10)
    const answers: Uint8Array[] = []
    const link: LinkOverrides = { latency: { baseMs: 1, jitterMs: 2 }, duplicate: 0.3, reorder: 0.5, reorderDelayMs: 20 }
    const { net, a, b, handled, largestFrame } = await pair(SEED, link, {
      answer: () => ({ type: 'state', state: answers.at(-1) as Uint8Array }),
    })
    let large = 0
    for (let round = 0; round < 40; round++) {
      const state = bytes(random, random.int(16_000))
      answers.push(bytes(random, 1 + random.int(16_000)))
      if (state.length > 1000) large++
      const response = await settle(net, a.send('n1', { type: 'replicate', key: `k${round}`, state }))
      expect(response.type).toBe('state')
      expectBytes((response as { state?: Uint8Array }).state, answers.at(-1) as Uint8Array)
      expect(handled.at(-1)).toMatchObject({ type: 'replicate', key: `k${round}` })
      expectBytes((handled.at(-1) as { state: Uint8Array }).state, state)
    }
    // Duplicated requests may reach the handler twice, but every one is a request that was sent.
    expect(new Set(handled.map((r) => (r as { key: string }).key)).size).toBe(40)
    await net.scheduler.runUntilIdle({ maxTime: 60_000 })
    expect(largestFrame()).toBeLessThanOrEqual(1024)
    expect(a.stats.largeSent).toBe(large)
    expect(b.stats.largeReceived).toBe(large)
    expect(a.stats.largeReceived).toBe(answers.filter((s) => s.length > 1000).length)
    // Everything held was released: completed, pulled, or (late duplicates) never started.
    await net.scheduler.runFor(LIMITS.idleTimeoutMs + 10)
    a.broadcast({ type: 'rumor', key: 'sweep', state: new Uint8Array(1) })
    b.broadcast({ type: 'rumor', key: 'sweep', state: new Uint8Array(1) })
    await net.scheduler.runUntilIdle({ maxTime: 60_000 })
    expect(a.stats.largeBytesHeld).toBe(0)
    expect(b.stats.largeBytesHeld).toBe(0)
    // A copy of a plain request is handled again, and its large answer kept for nobody: dropped as idle.
    expect(a.stats.largeDropped).toBe(0)
    expect(b.stats.largeDropped).toBeLessThanOrEqual(net.counters().duplicated)
    console.log('duplicate and reorder:', { frames: net.counters().sent, duplicated: net.counters().duplicated, a: a.stats, b: b.stats })
  })

  it('send a message that fits one frame whole, as before', async () => {
    const { net, a, b, largestFrame } = await pair(SEED, {})
    const response = await settle(net, a.send('n1', { type: 'replicate', key: 'k', state: new Uint8Array(900) }))
    expect(response).toEqual({ type: 'ack' })
    expect(a.stats).toMatchObject({ requestsSent: 1, largeSent: 0, largeReceived: 0 })
    expect(b.stats).toMatchObject({ requestsReceived: 1, largeReceived: 0 })
    expect(largestFrame()).toBeLessThan(1000)
  })

  it('end a send with the receiver\'s refusal of a part, without running the handler', async () => {
    const { net, a, handled } = await pair(SEED, {}, { b: { ...SMALL, maxMessageBytes: 4096, maxBytesPerPeer: 4096, maxBytesTotal: 4096 } })
    const response = await settle(net, a.send('n1', { type: 'replicate', key: 'k', state: new Uint8Array(8000) }))
    expect(response).toMatchObject({ type: 'error', code: 'BAD_REQUEST' })
    expect((response as { message: string }).message).toMatch(/above the largest this node takes \(4096\)/)
    expect(handled).toEqual([])
  })

  it('fail a send with LargeMessageError when the receiver lost parts (dropped as idle), and never handle it', async () => {
    // Parts one at a time, 2 ms apart; the receiver drops anything idle for 1 ms.
    const { net, a, handled } = await pair(SEED, { latency: { baseMs: 1, jitterMs: 0 } }, { a: { ...SMALL, partsInFlight: 1 }, b: { ...SMALL, idleTimeoutMs: 1, pulledGraceMs: 0 } })
    const sending = a.send('n1', { type: 'replicate', key: 'k', state: new Uint8Array(3000).fill(1) })
    await expect(settle(net, sending)).rejects.toThrow(LargeMessageError)
    await expect(sending).rejects.toThrow(/lacks parts of the 12 it acknowledged .* the request was not handled, send it again/)
    expect(handled).toEqual([])
  })

  it('fail a send with LargeMessageError when the response was dropped before it was pulled', async () => {
    const { net, a, handled } = await pair(
      SEED,
      { latency: { baseMs: 1, jitterMs: 0 } },
      { a: { ...SMALL, partsInFlight: 1 }, b: { ...SMALL, idleTimeoutMs: 1, pulledGraceMs: 0 }, answer: () => ({ type: 'state', state: new Uint8Array(3000) }) },
    )
    const sending = a.send('n1', { type: 'read', key: 'k' })
    await expect(settle(net, sending)).rejects.toThrow(/pulling part \d+ of 12 of response 1 got UNAVAILABLE .*; the request was handled but its response is lost/)
    expect(handled).toEqual([{ type: 'read', key: 'k' }])
  })

  it('hold a message from a peer that never finishes only until the idle timeout', async () => {
    const { net, b, handled } = await pair(SEED, {})
    const part = partsOf(new Uint8Array(16 * 1024).fill(3), 1)[0] as LargePartRequest
    const raw = net.node('n0').transport
    const reply = decodeResponse(await settle(net, raw.request('n1', encodeMessage(part), { timeoutMs: 1000 })))
    expect(reply).toEqual({ type: 'large-stored' })
    expect(b.stats.largeBytesHeld).toBe(16 * 1024)
    await net.scheduler.runFor(LIMITS.idleTimeoutMs)
    raw.broadcast(encodeMessage({ type: 'rumor', key: 'k', state: new Uint8Array(1) })) // any traffic sweeps
    await net.scheduler.runUntilIdle({ maxTime: 10_000 })
    expect(b.stats.largeBytesHeld).toBe(0)
    expect(b.stats.largeDropped).toBe(1)
    expect(handled).toEqual([])
  })

  it('answer hostile transfer frames with errors, and never hand their content to the engine', async () => {
    const { net, b, handled } = await pair(SEED, {})
    const raw = net.node('n0').transport
    const ask = async (request: Request): Promise<Response> => decodeResponse(await settle(net, raw.request('n1', encodeMessage(request), { timeoutMs: 1000 })))
    const [first] = partsOf(new Uint8Array(1000), 1) as [LargePartRequest]
    expectError(await ask({ ...first, index: 9 }), 'BAD_REQUEST', /part 9 is beyond the 4 parts/)
    expectError(await ask({ type: 'large-pull', transfer: 5, index: 0 }), 'UNAVAILABLE', /no response 5 is kept for you/)
    // Parts that add up, but not to a request: garbage, a response, and a part inside a part.
    const inner = encodeMessage({ ...first, transfer: 2 })
    const cases: [Uint8Array, RegExp][] = [
      [new Uint8Array(1200).fill(0xee), /undecodable large request: .*version 238 is not supported/],
      [encodeMessage({ type: 'state', state: new Uint8Array(1500) }), /undecodable large request: expected a request, got a state message/],
      [Uint8Array.from([...inner, ...new Uint8Array(0)]), /holds a large-part, which must be sent on its own/],
    ]
    let transfer = 10
    for (const [message, reason] of cases) {
      const parts = partsOf(message, transfer++)
      let last: Response | undefined
      for (const part of parts) last = await ask(part)
      expectError(last as Response, 'BAD_REQUEST', reason)
    }
    expect(handled).toEqual([])
    expect(b.stats.badFrames).toBe(3)
    expect(b.stats.largeBytesHeld).toBe(0)
  })

  it('refuse an answer made of transfer messages to a plain request', async () => {
    const net = new SimNetwork({ seed: SEED })
    const [na, nb] = net.addNodes(2) as [ReturnType<SimNetwork['addNode']>, ReturnType<SimNetwork['addNode']>]
    const a = createMessenger({ transport: na.transport, now: () => na.clock.now(), onRequest: async () => ({ type: 'ack' }), onBroadcast: () => {} })
    nb.transport.setRequestHandler(async () => encodeMessage({ type: 'large-data', data: new Uint8Array(3) }))
    await na.transport.start()
    await nb.transport.start()
    await expect(settle(net, a.send('n1', { type: 'read', key: 'k' }))).rejects.toThrow(/it answered read with large-data; it may run an incompatible rumordb version/)
    await expect(a.send('n1', { type: 'large-pull', transfer: 1, index: 0 })).rejects.toThrow(TypeError)
  })

  it('with the default limits, carry a 9 MB request and a 9 MB response in frames of at most 4 MiB', async () => {
    const random = seededRandom(SEED + 11)
    const state = bytes(random, 9_000_000)
    const answer = bytes(random, 9_000_000)
    const { net, a, handled, largestFrame } = await pair(SEED, { latency: { baseMs: 1, jitterMs: 1 }, duplicate: 0.2, reorder: 0.3 }, {
      a: {},
      b: {},
      answer: () => ({ type: 'state', state: answer }),
    })
    const started = Date.now()
    const virtual = net.scheduler.now
    const response = await settle(net, a.send('n1', { type: 'replicate', key: 'big', state }))
    console.log(`9 MB each way: ${Date.now() - started} ms of wall time, ${(net.scheduler.now - virtual).toFixed(1)} ms virtual`)
    expect(response.type).toBe('state')
    expectBytes((response as { state?: Uint8Array }).state, answer)
    expect(handled).toHaveLength(1)
    expect(handled[0]).toMatchObject({ type: 'replicate', key: 'big' })
    expectBytes((handled[0] as { state: Uint8Array }).state, state)
    expect(largestFrame()).toBeLessThanOrEqual(MAX_FRAME_BYTES)
    expect(largestFrame()).toBeGreaterThan(1024 * 1024)
    expect(largestFrame()).toBeLessThan(1024 * 1024 + 100)
  })
})
