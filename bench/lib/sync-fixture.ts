// Two replicas of one store in one process, for the anti-entropy benchmark (bench/sync.ts):
// nodes "a" and "b" on a ring of both with n = 2, each an InMemoryStore, a Replica, an
// ArcIndex that follows every committed change, and AntiEntropy, wired as
// test/cluster/anti-entropy.test.ts wires them. Every request and response goes through
// the real wire codec and is counted, by direction and message type, before the other
// side's handle() sees it. Only the public API of AntiEntropy (constructor, runRound,
// handle, stats) and of the store and index is used, so the fixture keeps working while
// anti-entropy's internals change.
import { encodeTimestamp, GCounter, ZERO_TIMESTAMP, type GCounterState } from '../../crdts/index.js'
import { systemClock, type Clock } from '../../src/base/clock.js'
import { seededRandom } from '../../src/base/random.js'
import { AntiEntropy, type AntiEntropyRingView, type AntiEntropyStats } from '../../src/cluster/anti-entropy/anti-entropy.js'
import { ArcIndex } from '../../src/cluster/anti-entropy/arc-index.js'
import { ringVersionOf } from '../../src/cluster/ring/ring-version.js'
import { buildRing } from '../../src/cluster/ring/ring.js'
import { Replica } from '../../src/replica/replica.js'
import { DIGEST_BYTES } from '../../src/store/digest.js'
import { InMemoryStore, MemoryData } from '../../src/store/memory-store.js'
import type { KeyWrite, Store } from '../../src/store/store.js'
import { decodeRequest, decodeResponse, encodeMessage } from '../../src/wire/codec.js'
import { MAX_MESSAGE_BYTES } from '../../src/wire/limits.js'
import type { Request, Response } from '../../src/wire/messages.js'

/** 2026-01-01T00:00:00Z: the replicas' wall clock stands still, so runs repeat. */
const T0 = 1_767_225_600_000

/** Keys per store write while preloading: one group-committed batch each. */
const PRELOAD_BATCH = 16_384

/** Keys per scan page when comparing whole stores. */
const COMPARE_PAGE = 4096

/** Every frame may be as large as a message the messenger would send in parts. */
const SIZE = { maxBytes: MAX_MESSAGE_BYTES } as const

export type NodeId = 'a' | 'b'

export interface SyncNode {
  readonly id: NodeId
  readonly store: InMemoryStore
  readonly replica: Replica
  readonly index: ArcIndex
  readonly antiEntropy: AntiEntropy
}

/** What one side of the exchange put on the wire, and what the frames listed. */
export interface Traffic {
  /** Frames a → b (a's requests) and b → a (b's responses), in bytes. */
  bytesAtoB: number
  bytesBtoA: number
  bytesByType: Record<string, number>
  frames: number
  /** Groups of arcs in sync-arcs answers. */
  groups: number
  /** sync-ranges requests (steps narrowing the differing groups) and the ranges they compared. */
  narrowSteps: number
  narrowRanges: number
  /** Ranges in sync-keys requests. */
  ranges: number
  /** (key, digest) entries the initiator listed in sync-keys. */
  listed: number
  /** States in sync-states answers. */
  statesBtoA: number
  /** Keys the responder asked for in sync-states. */
  wanted: number
  /** States in sync-push requests. */
  statesAtoB: number
  /** States listed by their pages (KeyState.pageDigests) in sync-states and sync-push. */
  listedStates: number
  /** Pages asked for in sync-pages requests, and pages (and their bytes) in sync-page-data answers. */
  pagesAsked: number
  pagesSent: number
  pageBytes: number
}

export function zeroTraffic(): Traffic {
  return {
    bytesAtoB: 0,
    bytesBtoA: 0,
    bytesByType: {},
    frames: 0,
    groups: 0,
    narrowSteps: 0,
    narrowRanges: 0,
    ranges: 0,
    listed: 0,
    statesBtoA: 0,
    wanted: 0,
    statesAtoB: 0,
    listedStates: 0,
    pagesAsked: 0,
    pagesSent: 0,
    pageBytes: 0,
  }
}

/** Counts every frame; `take()` returns the traffic since the last take and starts over. */
export class SyncMeter {
  private current = zeroTraffic()

  count(from: NodeId, frame: Uint8Array, message: Request | Response): void {
    const t = this.current
    if (from === 'a') t.bytesAtoB += frame.length
    else t.bytesBtoA += frame.length
    t.bytesByType[message.type] = (t.bytesByType[message.type] ?? 0) + frame.length
    t.frames++
    switch (message.type) {
      case 'sync-arcs':
        t.groups += message.arcs.length
        break
      case 'sync-ranges':
        t.narrowSteps++
        t.narrowRanges += message.ranges.length / 2
        break
      case 'sync-keys':
        t.ranges += message.arcs.length / 2
        t.listed += message.entries.length
        break
      case 'sync-states':
        t.statesBtoA += message.states.length
        t.wanted += message.want.length
        t.listedStates += message.states.filter((s) => s.pageDigests !== undefined).length
        break
      case 'sync-push':
        t.statesAtoB += message.states.length
        t.listedStates += message.states.filter((s) => s.pageDigests !== undefined).length
        break
      case 'sync-pages':
        t.pagesAsked += message.digests.length / DIGEST_BYTES
        break
      case 'sync-page-data':
        t.pagesSent += message.pages.length
        for (const page of message.pages) t.pageBytes += page.length
        break
    }
  }

  take(): Traffic {
    const out = this.current
    this.current = zeroTraffic()
    return out
  }
}

export interface SyncPair {
  readonly a: SyncNode
  readonly b: SyncNode
  readonly meter: SyncMeter
  readonly view: AntiEntropyRingView & { readonly n: number }
  /**
   * Resolves once no request is in flight between the nodes and none started for a few
   * turns of the event loop. A round does not wait for everything it set off: a node
   * pushed a set by its page list pulls the pages after its answer (SyncEndpoint.answerPush),
   * then merges them, so a caller measuring "a round" waits for this too.
   */
  quiet(): Promise<void>
}

export interface SyncPairOptions {
  /** AntiEntropyInit.listPagesFromBytes of both nodes (default: anti-entropy's own, 64 KiB). */
  readonly listPagesFromBytes?: number
}

/** Turns of the event loop with nothing in flight before quiet() resolves: a pull's merge commits in a group commit (setImmediate) after its last page arrived. */
const QUIET_TURNS = 5

/** A libp2p-peer-id-like actor id (52 characters), as production replicas have. */
export function actorOf(name: string): string {
  return `12D3KooW${name.padEnd(44, 'x')}`
}

/** The wall clock stands still at T0; timers are real (nothing here starts periodic rounds). */
const benchClock: Clock = { now: () => T0, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout }

/**
 * Nodes a and b, both members with the library's default weight (DEFAULT_VNODES ×
 * TOKENS_PER_VNODE tokens each, as createDatabase places them), n = 2: every key on both.
 * With `data`, a's store opens it and b's a clone of it: both start with the same keys.
 */
export function createSyncPair(seed: number, data?: MemoryData, options: SyncPairOptions = {}): SyncPair {
  const members = [{ id: 'a' }, { id: 'b' }]
  const view = { ring: buildRing(members), version: ringVersionOf(members), n: 2 }
  const meter = new SyncMeter()
  const nodes = new Map<NodeId, SyncNode>()
  const inFlight = new Set<Promise<Response>>()
  const deliver = (from: NodeId, to: NodeId, request: Request): Promise<Response> => {
    const delivery = exchange(from, to, request)
    inFlight.add(delivery)
    const done = (): void => void inFlight.delete(delivery)
    delivery.then(done, done)
    return delivery
  }
  const quiet = async (): Promise<void> => {
    for (let idle = 0; idle < QUIET_TURNS; ) {
      if (inFlight.size > 0) {
        idle = 0
        await Promise.allSettled([...inFlight])
      } else {
        await new Promise<void>((resolve) => setImmediate(resolve))
        idle++
      }
    }
  }
  const exchange = async (from: NodeId, to: NodeId, request: Request): Promise<Response> => {
    const sent = encodeMessage(request, SIZE)
    const decoded = decodeRequest(sent, SIZE)
    meter.count(from, sent, decoded)
    const answer = nodes.get(to)?.antiEntropy.handle(from, decoded)
    if (answer === undefined) throw new Error(`${to} does not handle ${decoded.type}`)
    const reply = encodeMessage(await answer, SIZE)
    const response = decodeResponse(reply, SIZE)
    meter.count(to, reply, response)
    return response
  }
  const ids: NodeId[] = ['a', 'b']
  ids.forEach((id, i) => {
    const store = new InMemoryStore(data === undefined ? {} : { data: id === 'a' ? data : copyOfKeys(data) })
    const replica = new Replica({ store, clock: benchClock, actor: actorOf(id) })
    const index = new ArcIndex()
    // What the engine does: the index follows every committed change.
    replica.onCommitted((change) => index.update(change.key))
    const other: NodeId = id === 'a' ? 'b' : 'a'
    const antiEntropy = new AntiEntropy({
      self: id,
      store,
      replica,
      index,
      clock: benchClock,
      random: seededRandom(seed + i),
      // In one process nothing is lost and nothing times out: the options have nothing to do.
      send: (peer, request) => deliver(id, peer as NodeId, request),
      livePeers: () => [other],
      ring: () => view,
      ...(options.listPagesFromBytes === undefined ? {} : { listPagesFromBytes: options.listPagesFromBytes }),
    })
    nodes.set(id, { id, store, replica, index, antiEntropy })
  })
  return { a: nodes.get('a')!, b: nodes.get('b')!, meter, view, quiet }
}

/** `k/000123`: zero-padded, so byte order is numeric order and preloading appends. */
export function keyName(i: number, count: number): string {
  return `k/${String(i).padStart(Math.max(6, String(count - 1).length), '0')}`
}

/**
 * Node b's copy of a's data file: the same keys, sharing their immutable stored entries,
 * as MemoryData.clone() makes it. clone() itself spreads the sorted keys into one call
 * (`push(...keys)`), which overflows the stack at about 10^5 keys. Only keys are copied:
 * preloading writes nothing else.
 */
function copyOfKeys(data: MemoryData): MemoryData {
  const copy = new MemoryData(`${data.label} copy`)
  for (const [key, stored] of data.keys) copy.keys.set(key, stored)
  for (const key of data.sortedKeys) copy.sortedKeys.push(key)
  return copy
}

export interface LoadedData {
  /** The committed contents of one store holding every key: open it, or a clone() of it, per node. */
  readonly data: MemoryData
  /** Writing every key through Store.write, in group-committed batches. */
  readonly ms: number
  /** Mean encoded state bytes per key. */
  readonly stateBytes: number
}

/**
 * `count` G-counters, each written once by a third node (actor "c") with a seeded total
 * in 1..1000, through the store's own write API into one in-memory store, which is then
 * closed: its data is what a node would find on disk. States are encoded once per
 * distinct total. `onProgress` gets the keys done so far.
 */
export async function loadStoreData(count: number, seed: number, onProgress: (done: number) => void = () => undefined): Promise<LoadedData> {
  const rng = seededRandom(seed)
  const writer = actorOf('c')
  const encoded = new Map<number, Uint8Array>()
  const hlc = encodeTimestamp(ZERO_TIMESTAMP)
  const data = new MemoryData('preload')
  const store = new InMemoryStore({ data })
  let stateBytes = 0
  const started = performance.now()
  try {
    for (let from = 0; from < count; from += PRELOAD_BATCH) {
      const keys: KeyWrite[] = []
      for (let i = from; i < Math.min(count, from + PRELOAD_BATCH); i++) {
        const total = 1 + rng.int(1000)
        let state = encoded.get(total)
        if (state === undefined) {
          state = GCounter.encode(GCounter.increment(GCounter.empty() as GCounterState, writer, total))
          encoded.set(total, state)
        }
        stateBytes += state.length
        keys.push({ key: keyName(i, count), type: 'gcounter', state, hlc })
      }
      await store.write({ keys })
      onProgress(Math.min(count, from + PRELOAD_BATCH))
    }
  } finally {
    await store.close()
  }
  return { data, ms: performance.now() - started, stateBytes: count === 0 ? 0 : stateBytes / count }
}

/**
 * Builds each node's index from its store (ArcIndex.rebuild: what anti-entropy's first
 * view() would do), so the first measured round does not pay for it. Milliseconds per node.
 */
export function buildIndexes(pair: SyncPair, onBuilt: (node: NodeId) => void = () => undefined): { a: number; b: number } {
  const timed = (node: SyncNode): number => {
    const started = performance.now()
    node.index.rebuild(pair.view.ring, node.store)
    const ms = performance.now() - started
    onBuilt(node.id)
    return ms
  }
  return { a: timed(pair.a), b: timed(pair.b) }
}

export interface Changes {
  readonly onA: readonly string[]
  readonly onB: readonly string[]
}

/**
 * Makes `diffs` distinct keys differ: the first ⌈diffs / 2⌉ get one increment on a (by
 * a's actor), the rest one on b, through Replica.apply like a local write. Keys are drawn
 * from the preloaded ones with a seeded generator.
 */
export async function makeDifferences(pair: SyncPair, count: number, diffs: number, seed: number): Promise<Changes> {
  if (diffs > count) throw new RangeError(`cannot change ${diffs} of ${count} keys: use --diffs at most the smallest size`)
  const rng = seededRandom(seed)
  const picked = new Set<number>()
  while (picked.size < diffs) picked.add(rng.int(count))
  const keys = [...picked].map((i) => keyName(i, count))
  const onA = keys.slice(0, Math.ceil(diffs / 2))
  const onB = keys.slice(onA.length)
  const increment = { type: 'gcounter', op: 'increment', amount: 1 } as const
  await Promise.all([...onA.map((k) => pair.a.replica.apply(k, increment)), ...onB.map((k) => pair.b.replica.apply(k, increment))])
  return { onA, onB }
}

/** The stores' digests of `keys` agree (a cheap test before comparing whole stores). */
export function keysEqual(x: Store, y: Store, keys: readonly string[]): boolean {
  return keys.every((key) => {
    const kx = x.getKey(key)
    const ky = y.getKey(key)
    return kx !== undefined && ky !== undefined && Buffer.compare(kx.digest, ky.digest) === 0
  })
}

/** Both stores hold the same keys with the same digests: every key read and compared, page by page. */
export function storesEqual(x: Store, y: Store): boolean {
  if (x.countKeys() !== y.countKeys()) return false
  let after: string | undefined
  for (;;) {
    const page = after === undefined ? { limit: COMPARE_PAGE } : { after, limit: COMPARE_PAGE }
    const px = x.scan(page)
    const py = y.scan(page)
    if (px.length !== py.length) return false
    for (let i = 0; i < px.length; i++) {
      const kx = px[i]!
      const ky = py[i]!
      if (kx.key !== ky.key || Buffer.compare(kx.digest, ky.digest) !== 0) return false
    }
    if (px.length < COMPARE_PAGE) return true
    after = px[px.length - 1]!.key
  }
}

/** The numeric counters of `after` minus those of `before`. */
export function statsSince(before: AntiEntropyStats, after: AntiEntropyStats): AntiEntropyStats {
  const out = { ...after }
  for (const name of Object.keys(out) as (keyof AntiEntropyStats)[]) out[name] = after[name] - before[name]
  return out
}
