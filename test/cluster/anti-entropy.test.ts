// Anti-entropy between in-process nodes. Every message goes through the real wire codec
// (encode, count the frame, decode), so sizes are the bytes a peer would receive and
// every message is one a peer would accept. Rounds are driven with runRound(): no sleeps.
import { describe, expect, it } from 'vitest'
import { GCounter, type GCounterState } from '../../crdts/index.js'
import { AntiEntropy, type RoundResult, type SyncSendOptions } from '../../src/cluster/anti-entropy/anti-entropy.js'
import { ringVersionOf } from '../../src/cluster/ring/ring-version.js'
import { ArcIndex } from '../../src/cluster/anti-entropy/arc-index.js'
import { keyPosition } from '../../src/cluster/ring/hash.js'
import { sharingPlan } from '../../src/cluster/anti-entropy/arc-hashes.js'
import { buildRing, preferenceList, type Ring } from '../../src/cluster/ring/ring.js'
import type { Clock, TimerHandle } from '../../src/base/clock.js'
import { seededRandom } from '../../src/base/random.js'
import { Replica } from '../../src/replica/replica.js'
import { InMemoryStore } from '../../src/store/memory-store.js'
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../../src/cluster/messaging/constants.js'
import { TransportTimeoutError } from '../../src/transport/transport.js'
import { decodeRequest, decodeResponse, encodeMessage } from '../../src/wire/codec.js'
import { MAX_KEYS_PER_BATCH } from '../../src/wire/limits.js'
import type { Request, Response, SyncKeysRequest, SyncStatesResponse } from '../../src/wire/messages.js'

const T0 = Date.UTC(2025, 0, 1)

/** Timers fire only when the test says so. */
class ManualClock implements Clock {
  private time = T0
  private nextId = 1
  readonly timers = new Map<number, { fn: () => void; at: number }>()
  now(): number {
    return this.time
  }
  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = this.nextId++
    this.timers.set(id, { fn, at: this.time + ms })
    return { id }
  }
  clearTimeout(handle: TimerHandle): void {
    this.timers.delete((handle as { id: number }).id)
  }
  /** Advances to the earliest timer and runs it. */
  fireNext(): boolean {
    const next = [...this.timers].sort((a, b) => a[1].at - b[1].at)[0]
    if (next === undefined) return false
    this.timers.delete(next[0])
    this.time = Math.max(this.time, next[1].at)
    next[1].fn()
    return true
  }
}

/**
 * What the messenger does with a send's options: the request times out after `timeoutMs`
 * (its adaptive default without one) and ends when the signal aborts.
 */
function withSendOptions(clock: Clock, peer: string, answer: Promise<Response>, options: SyncSendOptions = {}): Promise<Response> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const { signal } = options
  return new Promise<Response>((resolve, reject) => {
    const done = (): void => {
      clock.clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    }
    const onAbort = (): void => {
      done()
      reject(signal?.reason)
    }
    const timer = clock.setTimeout(() => {
      done()
      reject(new TransportTimeoutError(peer, timeoutMs))
    }, timeoutMs)
    signal?.addEventListener('abort', onAbort, { once: true })
    answer.then(
      (response) => {
        done()
        resolve(response)
      },
      (err: unknown) => {
        done()
        reject(err)
      },
    )
  })
}

interface Frame {
  readonly from: string
  readonly to: string
  readonly type: string
  readonly bytes: number
  readonly message: Request | Response
}

interface TestNode {
  readonly id: string
  readonly store: InMemoryStore
  readonly replica: Replica
  readonly index: ArcIndex
  readonly ae: AntiEntropy
  view: { ring: Ring; version: Uint8Array; n: number }
}

type Fault = (from: string, to: string, request: Request) => Promise<Response> | undefined

interface Cluster {
  readonly nodes: Map<string, TestNode>
  readonly node: (id: string) => TestNode
  readonly frames: Frame[]
  readonly clock: ManualClock
  readonly ring: Ring
  fault: Fault | undefined
}

function actorOf(id: string): string {
  // Peer-id-like actor ids, as in production (libp2p peer ids are 52 characters).
  return `12D3KooW${id.padEnd(44, 'x')}`
}

function makeCluster(ids: readonly string[], opts: { vnodes?: number; n?: number; seed?: number } = {}): Cluster {
  const { vnodes = 32, n = 3, seed = 1 } = opts
  const members = ids.map((id) => ({ id, vnodes }))
  const ring = buildRing(members)
  const version = ringVersionOf(members)
  const clock = new ManualClock()
  const nodes = new Map<string, TestNode>()
  const frames: Frame[] = []
  const cluster: Cluster = {
    nodes,
    node: (id) => nodes.get(id)!,
    frames,
    clock,
    ring,
    fault: undefined,
  }
  const record = (from: string, to: string, message: Request | Response): Uint8Array => {
    const frame = encodeMessage(message)
    frames.push({ from, to, type: message.type, bytes: frame.length, message })
    return frame
  }
  const deliver = async (from: string, to: string, request: Request): Promise<Response> => {
    const decoded = decodeRequest(record(from, to, request))
    const injected = cluster.fault?.(from, to, decoded)
    const answer = injected ?? nodes.get(to)!.ae.handle(from, decoded)
    if (answer === undefined) throw new Error(`${to} does not handle ${decoded.type}`)
    return decodeResponse(record(to, from, await answer))
  }
  ids.forEach((id, i) => {
    const store = new InMemoryStore()
    const replica = new Replica({ store, clock, actor: actorOf(id) })
    const index = new ArcIndex()
    // What the engine does: the index follows every committed change.
    replica.onCommitted((change) => index.update(change.key))
    const node: TestNode = {
      id,
      store,
      replica,
      index,
      view: { ring, version, n },
      ae: undefined as unknown as AntiEntropy,
    }
    ;(node as { ae: AntiEntropy }).ae = new AntiEntropy({
      self: id,
      store,
      replica,
      index,
      clock,
      random: seededRandom(seed + i),
      send: (peer, request, options) => withSendOptions(clock, peer, deliver(id, peer, request), options),
      livePeers: () => ids.filter((p) => p !== id),
      ring: () => node.view,
    })
    nodes.set(id, node)
  })
  return cluster
}

const incr = (amount: number) => ({ type: 'gcounter', op: 'increment', amount }) as const

/** Every key's digest, for comparing whole stores. */
function contents(node: TestNode, keys?: (key: string) => boolean): Map<string, string> {
  const out = new Map<string, string>()
  for (const k of node.store.scan({})) if (keys === undefined || keys(k.key)) out.set(k.key, Buffer.from(k.digest).toString('hex'))
  return out
}

/** Rounds from `from` to `to` until one finds them equal; returns every result. */
async function syncUntilEqual(from: TestNode, to: string, maxRounds: number): Promise<RoundResult[]> {
  const results: RoundResult[] = []
  for (let i = 0; i < maxRounds; i++) {
    const result = await from.ae.runRound(to)
    results.push(result)
    if (result.outcome === 'equal') return results
    expect(result.outcome).toBe('synced')
  }
  throw new Error(`not equal after ${maxRounds} rounds: ${JSON.stringify(results.map((r) => r.outcome))}`)
}

/** Writes the same encoded counters to a set of stores, bypassing replicas (bulk setup). */
async function seed(nodes: readonly TestNode[], keys: readonly string[], actor: string): Promise<void> {
  const writes = keys.map((key, i) => ({
    key,
    type: 'gcounter' as const,
    state: GCounter.encode(GCounter.increment(GCounter.empty() as GCounterState, actor, 1 + (i % 97))),
    hlc: new Uint8Array(8),
  }))
  for (const node of nodes) await node.store.write({ keys: writes })
}

const bytesOf = (frames: readonly Frame[]): number => frames.reduce((sum, f) => sum + f.bytes, 0)

describe('AntiEntropy between two nodes', () => {
  it('converges different keys and concurrent versions of the same keys, both ways in one round', async () => {
    const c = makeCluster(['A', 'B'])
    const a = c.node('A')
    const b = c.node('B')
    for (let i = 0; i < 20; i++) await a.replica.apply(`only-a-${i}`, incr(i + 1))
    for (let i = 0; i < 20; i++) await b.replica.apply(`only-b-${i}`, incr(i + 1))
    for (let i = 0; i < 10; i++) {
      await a.replica.apply(`both-${i}`, incr(2))
      await b.replica.apply(`both-${i}`, incr(3))
    }
    await a.replica.apply('set', { type: 'orset', op: 'add', element: 'from-a' })
    await b.replica.apply('set', { type: 'orset', op: 'add', element: 'from-b' })

    const results = await syncUntilEqual(a, 'B', 3)
    expect(results[0]).toMatchObject({ outcome: 'synced', received: 31, sent: 31 })
    expect(results).toHaveLength(2)
    expect(contents(a)).toEqual(contents(b))
    expect(contents(a).size).toBe(51)
    // CRDT joins, not overwrites: concurrent increments both count.
    for (let i = 0; i < 10; i++) {
      expect(GCounter.value(a.replica.read(`both-${i}`)!.state as GCounterState)).toBe(5)
      expect(GCounter.value(b.replica.read(`both-${i}`)!.state as GCounterState)).toBe(5)
    }
    expect(a.replica.read('only-b-7')!.state).toEqual(b.replica.read('only-b-7')!.state)
    expect(b.ae.stats).toMatchObject({ keysSent: 31, keysReceived: 31, requestsServed: 4, requestErrors: 0 })
    expect(a.ae.stats).toMatchObject({ rounds: 2, syncedRounds: 1, equalRounds: 1, keysSent: 31, keysReceived: 31 })
  })

  it('equal stores: one round is one 16-byte hash each way', async () => {
    const c = makeCluster(['A', 'B'])
    const a = c.node('A')
    const b = c.node('B')
    await seed([a, b], Array.from({ length: 1000 }, (_, i) => `k${i}`), actorOf('A'))
    const result = await a.ae.runRound('B')
    expect(result).toMatchObject({ outcome: 'equal', peer: 'B' })
    expect(c.frames.map((f) => [f.from, f.type, f.bytes])).toEqual([
      // version byte, tag, then two length-delimited 16-byte fields: ring version, root.
      ['A', 'sync-root', 2 + 2 * (2 + 16)],
      ['B', 'sync-equal', 2],
    ])
    expect(a.ae.stats).toMatchObject({ rounds: 1, equalRounds: 1, keysSent: 0, keysReceived: 0 })
    expect(a.ae.peerSyncStatus()).toEqual([{ id: 'B', inSync: true, lastExchange: T0 }])
    expect(b.ae.peerSyncStatus()).toEqual([{ id: 'A', inSync: true, lastExchange: T0 }])
  })

  it('10,000 equal keys and 10 differing: a small fraction of a full exchange', async () => {
    const c = makeCluster(['A', 'B'], { vnodes: 128 })
    const a = c.node('A')
    const b = c.node('B')
    const keys = Array.from({ length: 10_000 }, (_, i) => `user:${String(i).padStart(6, '0')}:visits`)
    await seed([a, b], keys, actorOf('C'))
    // Both indexes built before the changes, as in a running node.
    expect((await a.ae.runRound('B')).outcome).toBe('equal')
    for (let i = 0; i < 10; i++) {
      const node = i % 2 === 0 ? a : b
      await node.replica.apply(keys[i * 997]!, incr(1))
    }
    c.frames.length = 0
    const results = await syncUntilEqual(a, 'B', 3)
    expect(contents(a)).toEqual(contents(b))
    // Digests differ on all 10: each side sends its state of each (it cannot tell which includes which).
    expect(results[0]).toMatchObject({ outcome: 'synced', received: 10, sent: 10 })

    // A full exchange: every state once, in full batches.
    let full = 0
    const states = a.store.scan({}).map((k) => ({ key: k.key, state: k.state }))
    for (let i = 0; i < states.length; i += MAX_KEYS_PER_BATCH) {
      full += encodeMessage({ type: 'sync-states', states: states.slice(i, i + MAX_KEYS_PER_BATCH), want: [] }).length
    }
    const used = bytesOf(c.frames)
    const byType = new Map<string, number>()
    for (const f of c.frames) byType.set(f.type, (byType.get(f.type) ?? 0) + f.bytes)
    console.log(`10k/10: ${used} bytes in ${results.length} rounds vs full exchange ${full} bytes (${((100 * used) / full).toFixed(2)}%)`, Object.fromEntries(byType))
    expect(used / full).toBeLessThan(0.05)
  })

  it('10 differing keys settle in one round whatever the store size, listing a few keys each', async () => {
    // One token per node: arcs of thousands of keys, where listing whole arcs took a round per arc.
    const settle = async (size: number): Promise<{ bytes: number; listed: number; outcomes: string[] }> => {
      const c = makeCluster(['A', 'B'], { vnodes: 1 })
      const a = c.node('A')
      const b = c.node('B')
      const keys = Array.from({ length: size }, (_, i) => `s${i}`)
      await seed([a, b], keys, actorOf('C'))
      expect((await a.ae.runRound('B')).outcome).toBe('equal')
      for (let i = 0; i < 10; i++) await (i % 2 === 0 ? a : b).replica.apply(keys[Math.floor((i * size) / 10)]!, incr(1))
      c.frames.length = 0
      const results = await syncUntilEqual(a, 'B', 3)
      expect(contents(a)).toEqual(contents(b))
      const listed = c.frames.filter((f) => f.type === 'sync-keys').reduce((n, f) => n + (f.message as SyncKeysRequest).entries.length, 0)
      return { bytes: bytesOf(c.frames), listed, outcomes: results.map((r) => r.outcome) }
    }
    const small = await settle(2_000)
    const large = await settle(40_000)
    console.log(`10 differences: 2k keys ${small.bytes} bytes, ${small.listed} listed; 40k keys ${large.bytes} bytes, ${large.listed} listed`)
    for (const run of [small, large]) {
      expect(run.outcomes).toEqual(['synced', 'equal'])
      expect(run.listed).toBeLessThanOrEqual(10 * 16)
    }
    expect(large.bytes).toBeLessThanOrEqual(2 * small.bytes)
  })

  it('more than a batch of differences converges in a bounded number of rounds', async () => {
    // Few tokens: ~900 keys per arc, so single arcs hold more keys than one batch.
    const c = makeCluster(['A', 'B'], { vnodes: 1 })
    const a = c.node('A')
    const b = c.node('B')
    const common = Array.from({ length: 3000 }, (_, i) => `c${i}`)
    await seed([a, b], common, actorOf('C'))
    const onlyA = Array.from({ length: 1500 }, (_, i) => `a${i}`)
    const onlyB = Array.from({ length: 1500 }, (_, i) => `b${i}`)
    await seed([a], onlyA, actorOf('A'))
    await seed([b], onlyB, actorOf('B'))
    // 1000 common keys changed on A only, 500 on both (concurrently).
    await Promise.all(common.slice(0, 1000).map((k) => a.replica.apply(k, incr(1))))
    await Promise.all(common.slice(1000, 1500).map((k) => a.replica.apply(k, incr(1))))
    await Promise.all(common.slice(1000, 1500).map((k) => b.replica.apply(k, incr(1))))

    // The bound. A round either (a) lists a full batch of A's keys in the differing arcs
    // and moves the cursor past them, (b) gets a full batch of B's differing states and
    // moves the cursor to the last one (resolving a batch, but A may list up to a batch
    // of keys again), or (c) covers every differing arc, after which one round finds the
    // replicas equal. So rounds ≤ ⌈keysA / batch⌉ + 2 ⌈differingB / batch⌉ + 2, where B's
    // states differ for every key changed on either side or held by B only.
    const keysA = common.length + onlyA.length
    const differingB = onlyB.length + 1500
    const batches = (count: number): number => Math.ceil(count / MAX_KEYS_PER_BATCH)
    const bound = batches(keysA) + 2 * batches(differingB) + 2
    const results = await syncUntilEqual(a, 'B', bound)
    console.log(`>1024 differences: ${results.length} rounds (bound ${bound})`)
    expect(results.length).toBeGreaterThan(2)
    expect(contents(a)).toEqual(contents(b))
    expect(contents(a).size).toBe(6000)
    for (const k of common.slice(1000, 1500)) expect(GCounter.value(a.replica.read(k)!.state as GCounterState)).toBe(GCounter.value(b.replica.read(k)!.state as GCounterState))
    for (const f of c.frames) {
      const m = f.message
      if (m.type === 'sync-keys') expect(m.entries.length).toBeLessThanOrEqual(MAX_KEYS_PER_BATCH)
      if (m.type === 'sync-states') expect(Math.max(m.states.length, m.want.length)).toBeLessThanOrEqual(MAX_KEYS_PER_BATCH)
      if (m.type === 'sync-push') expect(m.states.length).toBeLessThanOrEqual(MAX_KEYS_PER_BATCH)
    }
  })

  it('pulls a store larger than a batch from a peer in ⌈keys / batch⌉ rounds', async () => {
    const c = makeCluster(['A', 'B'], { vnodes: 4 })
    const a = c.node('A')
    const b = c.node('B')
    await seed([b], Array.from({ length: 3000 }, (_, i) => `p${i}`), actorOf('B'))
    const results = await syncUntilEqual(a, 'B', Math.ceil(3000 / MAX_KEYS_PER_BATCH) + 1)
    expect(results.map((r) => r.received)).toEqual([1024, 1024, 952, 0])
    expect(contents(a)).toEqual(contents(b))
    // After a full batch the next round asks for the rest: no state travels twice.
    const sent = c.frames.filter((f) => f.type === 'sync-states').flatMap((f) => (f.message as SyncStatesResponse).states.map((s) => s.key))
    expect(new Set(sent).size).toBe(sent.length)
  })

  it('walks the keys from a cursor across rounds when nearly every key differs', async () => {
    const c = makeCluster(['A', 'B'], { vnodes: 4 })
    const a = c.node('A')
    const b = c.node('B')
    const keys = Array.from({ length: 3000 }, (_, i) => `w${i}`)
    await seed([a], keys, actorOf('A'))
    await seed([b], keys, actorOf('B'))
    const results = await syncUntilEqual(a, 'B', 8)
    expect(contents(a)).toEqual(contents(b))
    // Our 3000 keys do not fit one request: listed 1024 at a time, each walk resuming
    // where the last one stopped, so three requests list every key.
    const keyRequests = c.frames.filter((f) => f.type === 'sync-keys').map((f) => f.message as SyncKeysRequest)
    expect(keyRequests).toHaveLength(3)
    expect(keyRequests.map((r) => r.entries.length).slice(0, 2)).toEqual([1024, 1024])
    const listed = keyRequests.flatMap((r) => r.entries.map((e) => e.key))
    expect(new Set(listed).size).toBe(3000)
    expect(keyRequests[1]!.arcs[0]).toBe(keyPosition(keyRequests[0]!.entries[1023]!.key))
    expect(results.map((r) => r.outcome)).toEqual(['synced', 'synced', 'synced', 'equal'])
  })

  it('while its index is being built a node neither starts rounds nor answers them, and says why it is not in sync', async () => {
    const c = makeCluster(['A', 'B'], { vnodes: 4 })
    const a = c.node('A')
    const b = c.node('B')
    await seed([a, b], Array.from({ length: 5000 }, (_, i) => `b${i}`), actorOf('C'))
    await b.replica.apply('only-b', incr(1))
    let release = (): void => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    const built = b.index.build(b.view.ring, b.store, () => gate, () => false)
    expect(b.index.ready).toBe(false)
    expect(await b.ae.runRound('A')).toMatchObject({ outcome: 'indexing' })
    const refused = await a.ae.runRound('B')
    expect(refused.outcome).toBe('failed')
    expect(String(refused.error)).toMatch(/UNAVAILABLE.*index is still being built/)
    expect(b.ae.comparisons()).toEqual([{ id: 'A', inSync: false, reason: 'the anti-entropy index is still being built', lastExchange: undefined }])
    release()
    await built
    expect(b.index.ready).toBe(true)
    await syncUntilEqual(a, 'B', 3)
    expect(contents(a)).toEqual(contents(b))
    expect(b.ae.comparisons()[0]).toMatchObject({ id: 'A', inSync: true })
  })

  it('different ring versions: the round stops after the root step and nothing is exchanged', async () => {
    const c = makeCluster(['A', 'B'])
    const a = c.node('A')
    const b = c.node('B')
    await a.replica.apply('x', incr(1))
    await b.replica.apply('y', incr(1))
    b.view = { ...b.view, version: ringVersionOf([{ id: 'A' }, { id: 'B' }, { id: 'C' }]) }
    const result = await a.ae.runRound('B')
    expect(result.outcome).toBe('view-mismatch')
    expect(c.frames.map((f) => f.type)).toEqual(['sync-root', 'sync-arcs'])
    expect(c.frames[1]!.message).toMatchObject({ arcs: [] })
    expect(a.ae.stats).toMatchObject({ rounds: 1, viewMismatchRounds: 1, keysReceived: 0 })
    expect(b.store.getKey('x')).toBeUndefined()
    expect(a.store.getKey('y')).toBeUndefined()
  })

  it('a peer grouping arcs for another n is a view mismatch too', async () => {
    const c = makeCluster(['A', 'B', 'C'], { n: 2 })
    const a = c.node('A')
    const b = c.node('B')
    await a.replica.apply('x', incr(1))
    b.view = { ...b.view, n: 3 }
    expect((await a.ae.runRound('B')).outcome).toBe('view-mismatch')
    expect(c.frames.map((f) => f.type)).toEqual(['sync-root', 'sync-arcs'])
  })
})

describe('AntiEntropy with three nodes', () => {
  it('reconciles with each peer only the arcs both replicate', async () => {
    const c = makeCluster(['A', 'B', 'C'], { n: 2, vnodes: 8 })
    const a = c.node('A')
    const keys = Array.from({ length: 300 }, (_, i) => `t${i}`)
    for (const k of keys) await a.replica.apply(k, incr(1))
    await syncUntilEqual(a, 'B', 3)
    await syncUntilEqual(a, 'C', 3)
    for (const peer of ['B', 'C']) {
      const expected = keys.filter((k) => preferenceList(c.ring, k, 2).includes('A') && preferenceList(c.ring, k, 2).includes(peer))
      expect([...contents(c.node(peer)).keys()].sort()).toEqual(expected.sort())
      expect(expected.length).toBeGreaterThan(0)
    }
    // B and C share arcs A is not in; each holds what it shares with A there, not more.
    const plan = sharingPlan(c.ring, 'B', 2)
    expect(plan.peers.has('C')).toBe(true)
  })

  it('picks random live peers that share arcs (seed 7)', async () => {
    const c = makeCluster(['A', 'B', 'C', 'D'], { n: 2, vnodes: 4, seed: 7 })
    const a = c.node('A')
    const sharing = [...sharingPlan(c.ring, 'A', 2).peers.keys()]
    const picked = new Set<string>()
    for (let i = 0; i < 30; i++) picked.add((await a.ae.runRound()).peer!)
    expect([...picked].sort()).toEqual(sharing.sort())
  })

  it('meets every peer once per round of peers, in a new random order each round (seed 7)', async () => {
    const ids = ['A', 'B', 'C', 'D', 'E', 'F']
    const c = makeCluster(ids, { n: 3, vnodes: 8, seed: 7 })
    const a = c.node('A')
    const sharing = [...sharingPlan(c.ring, 'A', 3).peers.keys()].sort()
    expect(sharing.length).toBeGreaterThan(2)
    const rounds: string[][] = []
    for (let r = 0; r < 8; r++) {
      const round: string[] = []
      for (let i = 0; i < sharing.length; i++) round.push((await a.ae.runRound()).peer!)
      rounds.push(round)
    }
    // Independent random picks would leave some peer out of a round of this length most of the time.
    for (const round of rounds) expect([...round].sort()).toEqual(sharing)
    expect(new Set(rounds.map((r) => r.join())).size).toBeGreaterThan(1)
  })
})

describe('AntiEntropy failures and lifecycle', () => {
  async function pair(): Promise<Cluster> {
    const c = makeCluster(['A', 'B'])
    await c.node('A').replica.apply('x', incr(1))
    await c.node('B').replica.apply('y', incr(1))
    return c
  }

  it('ends the round quietly on an error response, a rejected send or a failing responder, and keeps working', async () => {
    const c = await pair()
    const a = c.node('A')
    const b = c.node('B')
    const faults: [string, Fault][] = [
      ['error response', () => Promise.resolve({ type: 'error', code: 'UNAVAILABLE', message: 'busy' })],
      ['rejected send', () => Promise.reject(new Error('connection reset'))],
      ['unexpected answer', (_f, _t, r) => (r.type === 'sync-keys' ? Promise.resolve({ type: 'ack' }) : undefined)],
    ]
    for (const [name, fault] of faults) {
      c.fault = fault
      const result = await a.ae.runRound('B')
      expect(result.outcome, name).toBe('failed')
      expect(result.error, name).toBeInstanceOf(Error)
    }
    expect(a.ae.stats.failedRounds).toBe(3)
    // A responder whose store throws answers with an error instead of throwing.
    c.fault = undefined
    const scan = b.index.keyCount.bind(b.index)
    b.index.keyCount = () => {
      throw new Error('disk on fire')
    }
    const broken = await a.ae.runRound('B')
    expect(broken.outcome).toBe('failed')
    expect(String(broken.error)).toMatch(/INTERNAL.*disk on fire/)
    expect(b.ae.stats.requestErrors).toBe(1)
    b.index.keyCount = scan
    expect((await a.ae.runRound('B')).outcome).toBe('synced')
    expect(contents(a)).toEqual(contents(b))
    expect(a.ae.stats.failedRounds).toBe(4)
  })

  it('gives up on a peer that never answers when the step times out', async () => {
    const c = await pair()
    const a = c.node('A')
    c.fault = () => new Promise<Response>(() => {})
    const round = a.ae.runRound('B')
    await Promise.resolve()
    expect(c.clock.fireNext()).toBe(true)
    const result = await round
    expect(result.outcome).toBe('failed')
    expect(String(result.error)).toMatch(/did not answer/)
    expect(c.clock.timers.size).toBe(0)
  })

  it('never runs two rounds at once', async () => {
    const c = await pair()
    const a = c.node('A')
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    c.fault = (from, to, request) => gate.then(() => c.node(to).ae.handle(from, request)!)
    const first = a.ae.runRound('B')
    expect(await a.ae.runRound('B')).toMatchObject({ outcome: 'busy' })
    release()
    expect((await first).outcome).toBe('synced')
  })

  it('a round on a return runs beside the scheduled one, never beside another with the same peer, and stop() aborts both', async () => {
    const c = makeCluster(['A', 'B', 'C'])
    await c.node('A').replica.apply('x', incr(1))
    const a = c.node('A')
    a.ae.start()
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    c.fault = (from, to, request) => gate.then(() => c.node(to).ae.handle(from, request)!)
    const scheduled = a.ae.runRound('B')
    expect(await a.ae.roundOnReturn('B')).toMatchObject({ outcome: 'busy' })
    const returned = a.ae.roundOnReturn('C')
    expect(await a.ae.roundOnReturn('C')).toMatchObject({ outcome: 'busy' })
    // A scheduled round that picks a peer already being met on its return leaves it to that round.
    expect(await a.ae.runRound('C')).toMatchObject({ outcome: 'busy' })
    release()
    expect((await scheduled).outcome).toBe('synced')
    expect((await returned).outcome).toBe('synced')
    expect(a.ae.stats).toMatchObject({ rounds: 2, returnRounds: 1 })
    c.fault = () => new Promise<Response>(() => {})
    const hanging = [a.ae.runRound('B'), a.ae.roundOnReturn('C')]
    await a.ae.stop()
    expect((await Promise.all(hanging)).map((r) => r.outcome)).toEqual(['aborted', 'aborted'])
    expect(await a.ae.roundOnReturn('B')).toMatchObject({ outcome: 'aborted' })
  })

  it('runs rounds on its timer; start and stop are idempotent and stop clears the timer', async () => {
    const c = await pair()
    const a = c.node('A')
    a.ae.start()
    a.ae.start()
    expect(c.clock.timers.size).toBe(1)
    c.fault = () => Promise.reject(new Error('down'))
    c.clock.fireNext()
    await new Promise((resolve) => setImmediate(resolve))
    expect(a.ae.stats.failedRounds).toBe(1)
    expect(c.clock.timers.size).toBe(1)
    c.fault = undefined
    c.clock.fireNext()
    for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
    expect(a.ae.stats.syncedRounds).toBe(1)
    expect(c.clock.timers.size).toBe(1)
    await a.ae.stop()
    await a.ae.stop()
    expect(c.clock.timers.size).toBe(0)
    expect(a.ae.peerSyncStatus()).toEqual([{ id: 'B', inSync: false, lastExchange: expect.any(Number) }])
  })

  it('stop() aborts the round in flight', async () => {
    const c = await pair()
    const a = c.node('A')
    a.ae.start()
    c.fault = () => new Promise<Response>(() => {})
    const round = a.ae.runRound('B')
    await Promise.resolve()
    await a.ae.stop()
    expect((await round).outcome).toBe('aborted')
    expect(a.ae.stats.failedRounds).toBe(0)
    expect(c.clock.timers.size).toBe(0)
  })

  it('refuses malformed sync-keys and does not keep pushed states of arcs it does not share', async () => {
    const c = makeCluster(['A', 'B', 'C'], { n: 2, vnodes: 8 })
    const b = c.node('B')
    const version = b.view.version
    expect(await b.ae.handle('A', { type: 'sync-keys', ringVersion: version, arcs: [1n], entries: [] })).toMatchObject({ type: 'error', code: 'BAD_REQUEST' })
    expect(await b.ae.handle('A', { type: 'sync-keys', ringVersion: version, arcs: [5n, 5n, 7n, 9n], entries: [] })).toMatchObject({ type: 'error', code: 'BAD_REQUEST' })
    expect(await b.ae.handle('A', { type: 'sync-keys', ringVersion: new Uint8Array(16), arcs: [], entries: [] })).toMatchObject({ type: 'error', code: 'UNAVAILABLE' })
    expect(b.ae.handle('A', { type: 'read', key: 'x' })).toBeUndefined()
    const keys = Array.from({ length: 100 }, (_, i) => `u${i}`)
    const state = GCounter.encode(GCounter.increment(GCounter.empty() as GCounterState, 'someone', 1))
    expect(await b.ae.handle('A', { type: 'sync-push', states: keys.map((key) => ({ key, state })) })).toEqual({ type: 'ack' })
    const shared = keys.filter((k) => preferenceList(c.ring, k, 2).includes('A') && preferenceList(c.ring, k, 2).includes('B'))
    expect([...contents(b).keys()].sort()).toEqual(shared.sort())
    expect(shared.length).toBeGreaterThan(0)
    expect(shared.length).toBeLessThan(100)
  })
})
