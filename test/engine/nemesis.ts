// A randomized fault schedule against a simulated cluster of whole databases. Clients
// write all four types through the public handles at random nodes, half of the writes
// with an idempotency key; a write that ends "outcome unknown" (or "idempotency
// unavailable") is retried through a random other node with the same key, as a real
// client would after a 504. Meanwhile the nemesis partitions, drops, duplicates, reorders,
// resets connections after answers were applied, skews clocks, crashes nodes (their
// connections reset or silent), kills nodes between a commit and its answer, and restarts
// them. Then everything heals, every keyed write still unanswered is retried once more, and
// the run goes quiet. The checker states the promises: replicas converge; no acknowledged
// write is lost; a write is never counted twice (counters within [acknowledged, attempted
// distinct operations], a keyed write exactly once once acknowledged); sets hold nothing
// never added; registers hold a written value; and a node that says `synced: true` while
// every node does holds what its peers hold. Some keys also take deletes (observed-remove):
// for them, the same checks hold on everything the key has held (its tombstones keep what a
// delete removed), and a write issued once every delete of its key had settled survives.
// Maps take field writes of every type (one field in a nested map) and field removals; each
// field is checked as a key of its type is. Keys of every type take writes with a short
// time to live (and some deletes): once every ttl has passed, every node reads each of them
// as missing, and after one more write each reads exactly that write on every node (what the
// expiries removed never comes back).
// One seed decides everything.
import { crdtTypes, decodeRecord, everSeen, GCounter, joinContent, LWWRegister, ORMap, ORSet, PNCounter, visibleEntries, type KeyContent, type ORMapState } from '../../crdts/index.js'
import type { CrdtTypeName, JsonValue } from '../../crdts/types.js'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { IdempotencyUnavailableError, TypeConflictError, TypeMismatchError, WriteOutcomeUnknownError } from '../../src/base/errors.js'
import type { DeleteResult, WriteOptions, WriteResult } from '../../src/database/handles.js'
import { DELETE, type FieldOperation, type KeyOperation, type Operation } from '../../src/base/operations.js'
import { seededRandom, type Random } from '../../src/base/random.js'
import { decodeSessionToken } from '../../src/replica/session-token.js'
import { SimCluster } from './sim-cluster.js'
import { InMemoryStore } from '../../src/store/memory-store.js'

export interface NemesisOptions {
  readonly seed: number
  readonly nodes: number
  /** Virtual ms of client traffic under faults. */
  readonly activeMs: number
  readonly opIntervalMs: number
  readonly faultIntervalMs: number
  readonly keysPerType: number
  readonly loss: number
  readonly duplicate: number
  readonly reorder: number
  /** Probability that an answer is lost with its connection reset (the request was applied). */
  readonly reset: number
  /** Share of writes sent with an idempotency key (retried through other nodes when unknown). */
  readonly keyedShare: number
  /** Attempts of one keyed write while faults run (the final retry after the heal is extra). */
  readonly maxAttempts: number
  /** Virtual ms allowed for convergence after healing. */
  readonly convergeWithinMs: number
  /** Purge tombstones (PURGE_WINDOW_MS after their last change) during the run; false: never (default true). */
  readonly purge?: boolean
  /**
   * Frames so small (SMALL_FRAMES) that most anti-entropy, replication and read-repair
   * messages travel in parts, which partitions, loss, resets and crashes then cut mid-transfer.
   */
  readonly smallFrames?: boolean
  /**
   * Every OR-set stored in pages (SimClusterOptions.inlineStateBytes -1), so crashes and
   * restarts read them from page rows, and sent by anti-entropy by its page list
   * (engine.listPagesFromBytes 0), so faults cut page transfers.
   */
  readonly pagedSets?: boolean
}

/**
 * Messages above 192 bytes (a batch of a few states, a digest list of a few keys, a
 * member table) go in parts of 64 bytes, up to 64 parts (4 KiB).
 */
export const SMALL_FRAMES = { frameBytes: 192, partBytes: 64, maxMessageBytes: 64 * 64 } as const

export const DEFAULT_NEMESIS: Omit<NemesisOptions, 'seed'> = {
  nodes: 5,
  activeMs: 6000,
  opIntervalMs: 25,
  faultIntervalMs: 400,
  keysPerType: 3,
  loss: 0.05,
  duplicate: 0.03,
  reorder: 0.1,
  reset: 0.02,
  keyedShare: 0.5,
  maxAttempts: 4,
  convergeWithinMs: 30_000,
}

export const ENGINE_TIMING = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 250, handoffIntervalMs: 250, hintWindowMs: 20_000 }
/**
 * Tombstones may be purged this long after their last change (once every replica agrees):
 * short enough that keys are deleted, purged and written again while faults go on, and at
 * least the hint window (a hint from before a delete must be gone first).
 */
export const PURGE_WINDOW_MS = 20_000

/** One distinct operation a client meant to apply once, however many attempts it took. */
interface WriteRecord {
  readonly key: string
  readonly op: KeyOperation
  /** Virtual ms when the client issued it, and when its latest attempt settled. */
  readonly issuedAt: number
  settledAt?: number
  readonly idempotencyKey: string | undefined
  attempts: number
  acked: boolean
  /** The session token of the (first) answer. */
  token?: string
  /** Whether the last attempt ended with an ambiguous outcome and a retry is due. */
  unresolved: boolean
  lastError?: unknown
  /** Refused for good (the key holds another type): not retried. */
  refused?: boolean
  /** The write's time to live (ms), for keys that expire. */
  readonly ttl?: number
  /** The value the (first) answer gave, as JSON. */
  value?: string
}

export interface NemesisReport {
  readonly seed: number
  /** Distinct operations the clients meant to apply. */
  readonly attempted: number
  readonly acked: number
  /** Attempts, retries through other nodes included. */
  readonly attempts: number
  /** Acknowledged keyed writes whose answer was a replay of an earlier attempt. */
  readonly replays: number
  readonly faults: string[]
  /** Virtual ms from the final heal until every key's replicas were equal and every node said synced. */
  readonly convergedAfterMs: number | undefined
  readonly antiEntropyRounds: number
  /** Messages sent and received in parts, over every incarnation of every node. */
  readonly partedMessages: number
  /** Pages of sets anti-entropy received by page lists, over every incarnation of every node. */
  readonly pagesReceived: number
  /** Keys stored in pages (an OR-set, with pagedSets) on the nodes up at the end. */
  readonly pagedKeys: number
  /** Deletes the clients issued, and how many were acknowledged. */
  readonly deletes: number
  readonly deletesAcked: number
  /** Writes issued with a time to live. */
  readonly ttlWrites: number
  /** Tombstone rows the nodes purged (src/database/tombstone-purge.ts), all nodes together. */
  readonly tombstonesPurged: number
  readonly problems: string[]
}

const TYPES: CrdtTypeName[] = ['gcounter', 'pncounter', 'orset', 'lww', 'map']
/** Share of the operations on a key that takes deletes which are deletes. */
const DELETE_SHARE = 0.15
/** One operation in this many is a delete of a key that takes deletes. */
export const DELETE_EVERY = 10
/**
 * A write issued this long after every delete of its key settled must survive: no delete
 * can have seen it (a request of an attempt that timed out may still be in flight for a
 * while: latencies are a few ms, and a node holds a request at most until it crashes).
 */
const AFTER_DELETES_MS = 3000
/** Times to live of the writes to expiring keys: TTL_MIN_MS to TTL_MIN_MS + TTL_SPREAD_MS. */
const TTL_MIN_MS = 100
const TTL_SPREAD_MS = 1400
/**
 * Every node reads an expiring key as missing this long after its last write's ttl ran from
 * that write's last answer: an applier's clock may run up to 300 ms behind (skew), and a
 * request may reach its applier a little after its client gave up.
 */
const TTL_MARGIN_MS = 2000

interface NemesisKey {
  readonly key: string
  readonly types: CrdtTypeName[]
  /** Clients also delete it. */
  readonly deletes?: boolean
  /** Clients write it with a short time to live (and sometimes delete it). */
  readonly ttl?: boolean
}

export async function runNemesis(options: NemesisOptions): Promise<NemesisReport> {
  const rng = seededRandom(options.seed ^ 0x5eed)
  const cluster = new SimCluster({
    seed: options.seed,
    size: options.nodes,
    link: {
      latency: { baseMs: 1, jitterMs: 2 },
      loss: options.loss,
      duplicate: options.duplicate,
      reorder: options.reorder,
      reset: options.reset,
    },
    // With every set in pages, anti-entropy also sends every set by its page list, so faults cut page transfers midway.
    config: options.pagedSets === true ? { ...ENGINE_TIMING, listPagesFromBytes: 0 } : ENGINE_TIMING,
    database: { tombstonePurgeMs: options.purge === false ? 10 * 24 * 3600_000 : PURGE_WINDOW_MS },
    ...(options.smallFrames === true ? { largeMessages: SMALL_FRAMES } : {}),
    ...(options.pagedSets === true ? { inlineStateBytes: -1 } : {}),
  })
  recordPurges(cluster)
  await cluster.start()
  // Counters of an engine are lost with it: added up before each crash or stop, and at the end.
  let parted = 0
  let pagesReceived = 0
  const countParted = (id: string): void => {
    const { messages, antiEntropy } = cluster.engine(id).status()
    parted += messages.largeSent + messages.largeReceived
    pagesReceived += antiEntropy.pagesReceived
  }
  await cluster.runFor(1000)
  const writes: WriteRecord[] = []
  const faults: string[] = []
  // Typed keys, and keys that clients write with either of two types: created on two sides
  // of a partition, they become type conflicts, which must converge and then be resolved.
  // Every partition brings two fresh ones, so that sides create them independently.
  const keys: NemesisKey[] = [
    ...TYPES.flatMap((t) => Array.from({ length: options.keysPerType }, (_, i) => ({ key: `${t}:${i}`, types: [t] }))),
    ...TYPES.map((t) => ({ key: `deleted:${t}`, types: [t], deletes: true })),
    ...TYPES.map((t) => ({ key: `expiring:${t}`, types: [t], ttl: true })),
    { key: 'mixed:0:a', types: ['gcounter', 'orset'] },
    { key: 'mixed:0:b', types: ['pncounter', 'lww'] },
  ]
  let partitions = 0
  const addedElements = new Map<string, string[]>()
  let unique = 0
  let attempts = 0
  let replays = 0

  /** One attempt of `record` through `node`; keyed writes left unknown are retried elsewhere. */
  const attempt = (record: WriteRecord, node: string, w: number, retryLater: boolean): Promise<void> => {
    record.attempts++
    attempts++
    record.unresolved = false
    const options: WriteOptions = {
      w,
      ...(record.idempotencyKey === undefined ? {} : { idempotencyKey: record.idempotencyKey }),
      ...(record.ttl === undefined ? {} : { ttl: record.ttl }),
    }
    return send(cluster, node, record, options).then(
      (result) => {
        record.settledAt = cluster.scheduler.now
        if (result.replayed === true) replays++
        if (!record.acked && 'token' in result) record.token = result.token
        if (!record.acked && 'value' in result) record.value = JSON.stringify(result.value)
        record.acked = true
      },
      (err: unknown) => {
        record.settledAt = cluster.scheduler.now
        record.lastError = err
        // The key holds another type here: a final answer, nothing was applied.
        if (err instanceof TypeMismatchError || err instanceof TypeConflictError) record.refused = true
        const ambiguous = err instanceof WriteOutcomeUnknownError || err instanceof IdempotencyUnavailableError
        if (!ambiguous || record.idempotencyKey === undefined) return
        record.unresolved = true
        if (!retryLater || record.attempts >= maxAttempts) return
        // As a client after a 504: a while later, through another node, with the same key.
        const delay = 50 + rng.int(400)
        cluster.scheduler.after(delay, () => {
          const up = cluster.upIds().filter((id) => id !== node)
          if (up.length > 0) void attempt(record, pick(rng, up), w, true)
        })
      },
    )
  }
  const maxAttempts = options.maxAttempts

  const issue = (): void => {
    const up = cluster.upIds()
    if (up.length === 0) return
    const node = pick(rng, up)
    // Every DELETE_EVERY-th operation deletes a key that takes deletes, so every run has some.
    const forced = writes.length % DELETE_EVERY === DELETE_EVERY - 1
    const { key, types, deletes, ttl } = forced ? pick(rng, keys.filter((k) => k.deletes === true)) : pick(rng, keys)
    const type = pick(rng, types)
    const op = forced || ((deletes === true || ttl === true) && rng.next() < DELETE_SHARE) ? DELETE : randomOp(rng, type, key, addedElements, () => `${options.seed}-${unique++}`)
    const keyed = rng.next() < options.keyedShare
    const record: WriteRecord = {
      key,
      op,
      issuedAt: cluster.scheduler.now,
      idempotencyKey: keyed ? `w-${options.seed}-${writes.length}` : undefined,
      attempts: 0,
      acked: false,
      unresolved: false,
      ...(ttl === true && op.op !== 'delete' ? { ttl: TTL_MIN_MS + rng.int(TTL_SPREAD_MS) } : {}),
    }
    writes.push(record)
    void attempt(record, node, 1 + rng.int(3), true)
  }

  /** How the current partition's connections behave; its heal behaves the same. */
  let connections: 'notify' | 'keep' = 'notify'
  /**
   * Clean closes under way. A close waits for the node's writes in flight, which under a
   * partition can take 10-20 s of retries and fallbacks: awaiting it here froze the faults,
   * and the partition of the moment outlasted the hint window (seed 1796: a write that only
   * a non-replica held, its hints expired, is the documented limit of sloppy quorums, not
   * what these runs judge). The faults go on; the final heal waits for the closes.
   */
  const closing = new Map<string, Promise<void>>()
  const fault = async (): Promise<void> => {
    const roll = rng.next()
    const ids = cluster.ids
    const up = cluster.upIds().filter((id) => !closing.has(id))
    const down = ids.filter((id) => !cluster.member(id).up)
    if (roll < 0.22) {
      const shuffled = shuffle(rng, ids)
      const cut = 1 + rng.int(ids.length - 1)
      // A third of the cuts go unnoticed by connections (TCP outlives them): only missing
      // heartbeats tell, and their heal brings no peer-seen event either.
      connections = rng.next() < 1 / 3 ? 'keep' : 'notify'
      cluster.net.partition([shuffled.slice(0, cut), shuffled.slice(cut)], { connections })
      partitions++
      keys.push({ key: `mixed:${partitions}:a`, types: ['gcounter', 'orset'] }, { key: `mixed:${partitions}:b`, types: ['pncounter', 'lww'] })
      faults.push(`partition ${shuffled.slice(0, cut).join(',')} | ${shuffled.slice(cut).join(',')}${connections === 'keep' ? ' (connections kept)' : ''}`)
    } else if (roll < 0.35) {
      cluster.net.heal({ connections })
      faults.push(`heal${connections === 'keep' ? ' (connections kept)' : ''}`)
    } else if (roll < 0.5) {
      if (up.length > 1) {
        const victim = pick(rng, up)
        const how = rng.next()
        if (how < 0.3) {
          // A clean close: its restart loads the anti-entropy index the close saved.
          faults.push(`stop ${victim} (clean close)`)
          countParted(victim)
          closing.set(
            victim,
            cluster.closeDown(victim).finally(() => closing.delete(victim)),
          )
        } else {
          const connections = how < 0.65 ? 'reset' : 'silent'
          countParted(victim)
          cluster.crash(victim, { connections })
          faults.push(`crash ${victim} (${connections})`)
        }
      }
    } else if (roll < 0.6) {
      if (up.length > 1) {
        const victim = pick(rng, up)
        cluster.crashBeforeNextAnswer(victim, 'apply')
        faults.push(`kill ${victim} between its next apply's commit and answer`)
      }
    } else if (roll < 0.8) {
      if (down.length > 0) {
        const back = pick(rng, down)
        faults.push(`restart ${back}`)
        await cluster.restart(back)
      }
    } else {
      const id = pick(rng, ids)
      const skew = Math.round((rng.next() * 2 - 1) * 300)
      cluster.net.setSkew(id, skew)
      faults.push(`skew ${id} ${skew}ms`)
    }
  }

  const end = cluster.scheduler.now + options.activeMs
  let nextFault = cluster.scheduler.now + options.faultIntervalMs
  while (cluster.scheduler.now < end) {
    issue()
    await cluster.runFor(options.opIntervalMs * (0.5 + rng.next()))
    if (cluster.scheduler.now >= nextFault) {
      await fault()
      nextFault += options.faultIntervalMs
    }
  }

  // Heal: network whole, clocks right, every node back; then only repair traffic remains.
  // The closes under way end once the network is whole (their writes in flight then land),
  // before the nodes they stop are restarted.
  cluster.disarmCrashes()
  cluster.net.heal({ connections })
  for (const id of cluster.ids) cluster.net.setSkew(id, 0)
  await cluster.settle(Promise.all([...closing.values()]))
  for (const id of cluster.ids) if (!cluster.member(id).up) await cluster.restart(id)
  cluster.net.setDefaultLink({ loss: 0, duplicate: 0, reorder: 0, reset: 0 })
  faults.push('final heal')
  // Every keyed write a client still waits on is retried until it is answered (applied, or
  // the first attempt's result): nothing refuses it once every node is back, and it must
  // never apply a second time. A few rounds: failure detectors first see restarted nodes.
  const problems: string[] = []
  for (let round = 0; round < 20; round++) {
    const open = writes.filter((w) => w.idempotencyKey !== undefined && !w.acked && w.refused !== true)
    if (open.length === 0) break
    await cluster.settle(Promise.all(open.map((w) => attempt(w, pick(rng, cluster.ids), 1, false))))
    await cluster.runFor(200)
  }
  for (const w of writes) if (w.idempotencyKey !== undefined && !w.acked && w.refused !== true) problems.push(`${w.key}: keyed write ${w.idempotencyKey} still unanswered after the heal: ${String(w.lastError)}`)
  // Every delete has settled: a while later, two writes to each key that took deletes, which
  // no delete can have seen (checkAfterDeletes finds them shown). With the purge on, first
  // the purge window passes, so those writes come after the keys' tombstones were purged
  // (on the nodes that could: incarnations, src/replica/incarnations.ts).
  await cluster.runFor(AFTER_DELETES_MS + 100)
  if (options.purge !== false) {
    const lastDelete = Math.max(0, ...writes.filter((w) => w.op.op === 'delete').map((w) => w.settledAt ?? cluster.scheduler.now))
    const purgedBy = lastDelete + PURGE_WINDOW_MS + PURGE_WINDOW_MS / 2
    if (purgedBy > cluster.scheduler.now) await cluster.runFor(purgedBy - cluster.scheduler.now)
  }
  for (const { key, types } of keys.filter((k) => k.deletes === true)) {
    for (let i = 0; i < 2; i++) {
      const record: WriteRecord = {
        key,
        op: randomOp(rng, pick(rng, types), key, addedElements, () => `${options.seed}-${unique++}`),
        issuedAt: cluster.scheduler.now,
        idempotencyKey: undefined,
        attempts: 0,
        acked: false,
        unresolved: false,
      }
      writes.push(record)
      await cluster.settle(attempt(record, pick(rng, cluster.ids), 1, false))
    }
  }
  // Every time to live has passed (counted from the last answer of each write's attempts):
  // every node reads every expiring key as missing. Then one write each, which must be all
  // that any node reads of it once the cluster settles.
  const expiring = keys.filter((k) => k.ttl === true)
  const ttlWrites = writes.filter((w) => w.ttl !== undefined)
  const allExpired = Math.max(0, ...ttlWrites.map((w) => (w.settledAt ?? cluster.scheduler.now) + (w.ttl as number))) + TTL_MARGIN_MS
  if (allExpired > cluster.scheduler.now) await cluster.runFor(allExpired - cluster.scheduler.now)
  for (const { key } of expiring) problems.push(...checkExpired(cluster, key))
  const finals: WriteRecord[] = []
  for (const { key, types } of expiring) {
    const record: WriteRecord = {
      key,
      op: finalOp(rng, pick(rng, types), key, addedElements, () => `${options.seed}-${unique++}`),
      issuedAt: cluster.scheduler.now,
      idempotencyKey: undefined,
      attempts: 0,
      acked: false,
      unresolved: false,
      ttl: 600_000,
    }
    writes.push(record)
    finals.push(record)
    await cluster.settle(attempt(record, pick(rng, cluster.ids), 1, false))
  }
  const roundsBefore = totalRounds(cluster)
  const convergedAfterMs = await settle(cluster, keys, options.convergeWithinMs, problems)
  problems.push(...(await checkOnlyFinal(cluster, finals)))
  for (const { key, types } of keys) problems.push(...checkKey(cluster, key, types, writes.filter((w) => w.key === key)))
  for (const { key, types, deletes } of keys) if (deletes === true) problems.push(...checkAfterDeletes(cluster, key, types[0] as CrdtTypeName, writes.filter((w) => w.key === key)))
  problems.push(...(await sameReadEverywhere(cluster, keys)))

  // Type conflicts: one node keeps one side; after that every node reads the same single
  // type, and that type's acknowledged writes are all still there.
  const conflicts: string[] = []
  for (const { key } of keys) {
    const sides = conflictOf(cluster, key)
    if (sides === undefined) continue
    conflicts.push(key)
    const keep = pick(rng, sides)
    const resolver = pick(rng, cluster.ids)
    await cluster.settle(cluster.db(resolver).resolve(key, keep))
    faults.push(`resolve ${key} keeping ${keep} at ${resolver}`)
  }
  if (conflicts.length > 0) {
    await settle(cluster, keys, options.convergeWithinMs, problems)
    for (const key of conflicts) {
      if (conflictOf(cluster, key) !== undefined) problems.push(`${key}: still in conflict after resolve`)
      const entry = keys.find((k) => k.key === key) as NemesisKey
      problems.push(...checkKey(cluster, key, entry.types, writes.filter((w) => w.key === key), true))
    }
    problems.push(...(await sameReadEverywhere(cluster, keys)))
  }
  // Every tombstone goes once the window passed, now that every replica is up and agrees;
  // what every node reads stays as it was.
  if (options.purge !== false) {
    const readsBefore = await readEverywhere(cluster, keys)
    await cluster.scheduler.runUntil(() => tombstoneRows(cluster) === 0, { maxTime: 4 * PURGE_WINDOW_MS + options.convergeWithinMs })
    if (tombstoneRows(cluster) > 0) {
      const left = cluster.upIds().flatMap((id) => cluster.member(id).store.scanDeleted(Number.MAX_SAFE_INTEGER, 10).map((k) => `${k.key} on ${id}${ownersOf(cluster, k.key).includes(id) ? '' : ' (not a replica)'}`))
      problems.push(`${tombstoneRows(cluster)} tombstone rows not purged ${4 * PURGE_WINDOW_MS + options.convergeWithinMs} ms after the heal: ${left.join(', ')}`)
    }
    const readsAfter = await readEverywhere(cluster, keys)
    if (JSON.stringify(readsAfter) !== JSON.stringify(readsBefore)) problems.push(`reads changed when tombstones were purged: ${JSON.stringify(readsBefore)} → ${JSON.stringify(readsAfter)}`)
  }
  const report: NemesisReport = {
    seed: options.seed,
    attempted: writes.length,
    acked: writes.filter((w) => w.acked).length,
    attempts,
    replays,
    faults,
    convergedAfterMs,
    antiEntropyRounds: totalRounds(cluster) - roundsBefore,
    partedMessages: 0,
    pagesReceived: 0,
    pagedKeys: cluster.upIds().reduce((n, id) => n + keys.filter((k) => cluster.member(id).store.getKey(k.key)?.paged !== undefined).length, 0),
    deletes: writes.filter((w) => w.op.op === 'delete').length,
    deletesAcked: writes.filter((w) => w.op.op === 'delete' && w.acked).length,
    ttlWrites: ttlWrites.length,
    tombstonesPurged: purgedRows.get(cluster)?.count ?? 0,
    problems,
  }
  for (const id of cluster.upIds()) countParted(id)
  await cluster.settle(Promise.all(cluster.upIds().map((id) => cluster.db(id).close())))
  recording.delete(cluster)
  return { ...report, partedMessages: parted, pagesReceived }
}

/**
 * Runs until every key's replicas are equal and every node says synced (sampled every 100
 * virtual ms: a sync status per node per event would dominate the run); records it as a
 * problem if a node said synced while replicas differed. Virtual ms it took, or undefined.
 */
async function settle(cluster: SimCluster, keys: readonly { key: string }[], withinMs: number, problems: string[]): Promise<number | undefined> {
  const start = cluster.scheduler.now
  const allEqual = (): boolean => keys.every(({ key }) => replicasEqual(cluster, key))
  const allSynced = (): boolean => cluster.ids.every((id) => cluster.db(id).syncStatus().synced)
  let syncedButDiffer: string | undefined
  const done = (): boolean => {
    const equal = allEqual()
    const synced = allSynced()
    if (synced && !equal && syncedButDiffer === undefined) {
      syncedButDiffer = keys.filter(({ key }) => !replicasEqual(cluster, key)).map(({ key }) => `${key} ${describeStates(cluster, key)}`).join('; ')
    }
    return equal && synced
  }
  let converged = done()
  while (!converged && cluster.scheduler.now - start < withinMs) {
    await cluster.runFor(100)
    converged = done()
  }
  if (syncedButDiffer !== undefined) problems.push(`every node said synced: true while replicas differed: ${syncedButDiffer}`)
  if (converged) return cluster.scheduler.now - start
  for (const { key } of keys) if (!replicasEqual(cluster, key)) problems.push(`${key}: replicas differ ${describeStates(cluster, key)}`)
  for (const id of cluster.ids) {
    const status = cluster.db(id).syncStatus()
    if (!status.synced) problems.push(`${id} not synced: ${status.reason ?? '?'}`)
  }
  return undefined
}

/** The types a key's replicas show side by side, or undefined when it is not in conflict. */
function conflictOf(cluster: SimCluster, key: string): CrdtTypeName[] | undefined {
  const encoded = cluster.member(ownersOf(cluster, key)[0] as string).store.getKey(key)?.state
  if (encoded === undefined) return undefined
  const visible = visibleEntries(decodeRecord(encoded).content)
  return visible.length > 1 ? visible.map((e) => e.type) : undefined
}

/** Every node reads every key the same way (a value, or the same conflict), through the public API. */
/** Rows of keys that show nothing (tombstones) on the nodes that are up. */
function tombstoneRows(cluster: SimCluster): number {
  return cluster.upIds().reduce((n, id) => n + cluster.member(id).store.scanDeleted(Number.MAX_SAFE_INTEGER, 10_000).length, 0)
}

/** What node `id` reads of `key` with `r`, as text (a type conflict as its sides, an error as its message). */
function readText(cluster: SimCluster, id: string, key: string, r: number): Promise<string> {
  return cluster
    .db(id)
    .get(key, { r })
    .then(
      (v) => JSON.stringify(v === undefined ? null : { type: v.type, value: v.value }),
      (e: unknown) => (e instanceof TypeConflictError ? JSON.stringify({ conflict: e.values }) : `error ${String(e)}`),
    )
}

/** What each node reads of each key from its own replica (r = 1), as text. */
async function readEverywhere(cluster: SimCluster, keys: readonly { key: string }[]): Promise<string[]> {
  const out: string[] = []
  for (const { key } of keys) for (const id of cluster.ids) out.push(`${id} ${key} ${await cluster.settle(readText(cluster, id, key, 1))}`)
  return out
}

async function sameReadEverywhere(cluster: SimCluster, keys: readonly { key: string }[]): Promise<string[]> {
  const problems: string[] = []
  for (const { key } of keys) {
    const reads = await cluster.settle(Promise.all(cluster.ids.map((id) => readText(cluster, id, key, 3))))
    if (new Set(reads).size !== 1) problems.push(`${key}: nodes read it differently: ${reads.join(' | ')}`)
  }
  return problems
}

function send(cluster: SimCluster, node: string, record: WriteRecord, options: WriteOptions): Promise<WriteResult<unknown> | DeleteResult> {
  const db = cluster.db(node)
  const { key, op } = record
  if (op.op === 'delete') return db.delete(key, options)
  switch (op.type) {
    case 'gcounter':
      return db.gcounter(key).increment(op.amount, options)
    case 'pncounter':
      return op.op === 'increment' ? db.counter(key).increment(op.amount, options) : db.counter(key).decrement(op.amount, options)
    case 'orset':
      return op.op === 'add' ? db.set(key).add(op.element, options) : db.set(key).remove(op.element, options)
    case 'lww':
      return db.register(key).set(op.value, options)
    case 'map': {
      const map = db.map(key)
      const [first, second] = op.path as [string, string | undefined]
      if (op.op === 'remove') return second === undefined ? map.remove(first, options) : map.map(first).remove(second, options)
      const fields = second === undefined ? map : map.map(first)
      const name = second ?? first
      const u = op.update
      switch (u.type) {
        case 'gcounter':
          return fields.gcounter(name).increment(u.amount, options)
        case 'pncounter':
          return u.op === 'increment' ? fields.counter(name).increment(u.amount, options) : fields.counter(name).decrement(u.amount, options)
        case 'orset':
          return u.op === 'add' ? fields.set(name).add(u.element, options) : fields.set(name).remove(u.element, options)
        case 'lww':
          return fields.register(name).set(u.value, options)
      }
    }
  }
}

/** Everything the field at `path` has held, removed or not (through nested maps removed or not). */
function fieldEverSeen(map: ORMapState, path: readonly string[], type: CrdtTypeName): unknown {
  const content = ORMap.field(map, path[0] as string)
  if (path.length === 1) return everSeen(content, type)
  return fieldEverSeen(everSeen(content, 'map') as ORMapState, path.slice(1), type)
}

/** The fields of the maps the nemesis writes: one of each field type, and one in a nested map. */
const MAP_FIELDS: readonly { path: string[]; type: FieldOperation['type'] }[] = [
  { path: ['c'], type: 'pncounter' },
  { path: ['g'], type: 'gcounter' },
  { path: ['s'], type: 'orset' },
  { path: ['r'], type: 'lww' },
  { path: ['sub', 'x'], type: 'pncounter' },
]
/** Share of a map's operations that remove a field. */
const FIELD_REMOVE_SHARE = 0.12

function ownersOf(cluster: SimCluster, key: string): string[] {
  const ring = cluster.engine(cluster.ids[0] as string).membership.ring().ring
  return preferenceList(ring, key, 3)
}

function replicasEqual(cluster: SimCluster, key: string): boolean {
  const states = cluster.statesOf(key, ownersOf(cluster, key))
  const first = states[0]
  return states.every((s) => s !== undefined && first !== undefined && Buffer.compare(s, first) === 0) || states.every((s) => s === undefined)
}

function describeStates(cluster: SimCluster, key: string): string {
  return ownersOf(cluster, key)
    .map((id) => {
      const digest = cluster.member(id).store.getKey(key)?.digest
      return `${id}=${digest === undefined ? '-' : Buffer.from(digest).toString('hex').slice(0, 8)}`
    })
    .join(' ')
}

/** The key's content on its first owner (undefined when it holds nothing). */
/**
 * What the nodes purged, per key: the tombstones a purge took away, joined. A write a delete
 * removed lives on only in its tombstone, so "every acknowledged write was seen" (checkKey)
 * looks there too once the tombstone is purged; reads are judged on what the nodes hold.
 */
const purged = new WeakMap<SimCluster, Map<string, KeyContent>>()
/** Rows the stores deleted in purges, all nodes and restarts together. */
const purgedRows = new WeakMap<SimCluster, { count: number }>()
/** Clusters whose purges are recorded: a node's store is replaced on a crash, so purges are caught on the store class. */
const recording = new Set<SimCluster>()
let storePurge: InMemoryStore['purge'] | undefined

function recordPurges(cluster: SimCluster): void {
  purged.set(cluster, new Map())
  purgedRows.set(cluster, { count: 0 })
  recording.add(cluster)
  if (storePurge !== undefined) return
  const original = InMemoryStore.prototype.purge
  storePurge = original
  InMemoryStore.prototype.purge = function (this: InMemoryStore, keys, meta) {
    const owner = [...recording].find((c) => c.ids.some((id) => c.member(id).store === this))
    const history = owner === undefined ? undefined : purged.get(owner)
    if (history !== undefined) {
      for (const { key } of keys) {
        const held = this.getKey(key)
        if (held === undefined) continue
        const content = decodeRecord(held.state).content
        const before = history.get(key)
        history.set(key, before === undefined ? content : joinContent(before, content))
      }
    }
    return original.call(this, keys, meta).then((n) => {
      if (owner !== undefined) (purgedRows.get(owner) as { count: number }).count += n
      return n
    })
  }
}

/** Everything the key has held of `type`: what its owner holds now, and what any node purged. */
function everHeld(cluster: SimCluster, key: string, type: CrdtTypeName): unknown {
  const content = contentOf(cluster, key)
  const gone = purged.get(cluster)?.get(key)
  return everSeen(content === undefined ? gone : gone === undefined ? content : joinContent(content, gone), type)
}

function contentOf(cluster: SimCluster, key: string): KeyContent | undefined {
  const encoded = cluster.member(ownersOf(cluster, key)[0] as string).store.getKey(key)?.state
  return encoded === undefined ? undefined : decodeRecord(encoded).content
}

/** Every node that holds the key shows nothing of it: each of its writes' time to live has passed. */
function checkExpired(cluster: SimCluster, key: string): string[] {
  const problems: string[] = []
  for (const id of cluster.upIds()) {
    const state = cluster.db(id).replica.readNow(key)
    if (state !== undefined && state.deleted !== true) problems.push(`${key}: ${id} still shows ${JSON.stringify(crdtTypes[state.type].value(state.state as never))} after every time to live passed`)
  }
  return problems
}

/** After the expiries, every node reads exactly what the one later write answered: nothing expired comes back. */
async function checkOnlyFinal(cluster: SimCluster, finals: readonly WriteRecord[]): Promise<string[]> {
  const problems: string[] = []
  for (const w of finals) {
    if (!w.acked) {
      problems.push(`${w.key}: the write after its expiries was not acknowledged: ${String(w.lastError)}`)
      continue
    }
    const reads = await cluster.settle(Promise.all(cluster.ids.map((id) => cluster.db(id).get(w.key, { r: 3 }))))
    for (const [i, read] of reads.entries()) {
      const shown = JSON.stringify(read?.value)
      if (shown !== w.value) problems.push(`${w.key}: ${cluster.ids[i]} reads ${shown} after its expiries and one write that answered ${w.value}`)
    }
  }
  return problems
}

/**
 * No acknowledged write lost, none counted twice, nothing invented: per type, on each type's
 * part of the key (a key in a type conflict holds several), as everything it has held (a
 * delete keeps what it removed in its tombstone). After a resolution only the kept type is
 * checked: the others were removed on purpose.
 */
function checkKey(cluster: SimCluster, key: string, types: readonly CrdtTypeName[], writes: WriteRecord[], resolved = false): string[] {
  const content = contentOf(cluster, key)
  const visible = content === undefined ? [] : visibleEntries(content)
  // An expiry removes as a delete does.
  const deleted = writes.some((w) => w.op.op === 'delete' || w.ttl !== undefined)
  const problems: string[] = []
  for (const type of types) {
    if (resolved && !visible.some((e) => e.type === type)) continue
    const typed = writes.filter((w) => w.op.op !== 'delete' && w.op.type === type) as (WriteRecord & { op: Operation })[]
    problems.push(...checkType(key, type, everHeld(cluster, key, type), typed, deleted))
  }
  return problems
}

/**
 * After the deletes of a key: what a reader sees holds every acknowledged write issued
 * AFTER_DELETES_MS after the last delete attempt settled (no delete can have seen it), and
 * nothing never written.
 */
function checkAfterDeletes(cluster: SimCluster, key: string, type: CrdtTypeName, writes: WriteRecord[]): string[] {
  const deletes = writes.filter((w) => w.op.op === 'delete')
  if (deletes.length === 0) return []
  const lastSettled = Math.max(...deletes.map((d) => d.settledAt ?? Infinity))
  const late = writes.filter((w) => w.op.op !== 'delete' && w.acked && w.issuedAt > lastSettled + AFTER_DELETES_MS) as (WriteRecord & { op: Operation })[]
  const content = contentOf(cluster, key)
  const shown = content === undefined ? undefined : visibleEntries(content).find((e) => e.type === type)?.state
  const problems: string[] = []
  if (type === 'gcounter') {
    const v = shown === undefined ? 0 : GCounter.value(shown as never)
    const low = late.reduce((s, w) => s + (w.op as { amount: number }).amount, 0)
    if (v < low) problems.push(`${key}: reads ${v} after its deletes, below the ${low} acknowledged since they settled`)
  } else if (type === 'orset') {
    const present = new Set(shown === undefined ? [] : ORSet.value(shown as never).map((e) => JSON.stringify(e)))
    const removed = new Set(writes.filter((w) => w.op.op === 'remove').map((w) => JSON.stringify((w.op as { element: JsonValue }).element)))
    for (const w of late) {
      const e = JSON.stringify((w.op as { element: JsonValue }).element)
      if (w.op.op === 'add' && !removed.has(e) && !present.has(e)) problems.push(`${key}: add of ${e}, acknowledged after every delete settled, is missing`)
    }
  } else if (type === 'lww') {
    if (late.length > 0 && (shown === undefined || shown === null)) problems.push(`${key}: reads as deleted although a set was acknowledged after every delete settled`)
  } else if (type === 'map') {
    // A field write acknowledged after every delete settled shows, unless a removal of its
    // field (observed-remove) may have seen it: one that had not settled well before it.
    const removals = writes.filter((w) => w.op.op === 'remove' && w.op.type === 'map')
    for (const w of late) {
      // Removing a set element adds nothing a reader sees: on a deleted map it shows nothing.
      if (w.token === undefined || w.op.op !== 'update' || (w.op.type === 'map' && w.op.op === 'update' && w.op.update.op === 'remove')) continue
      const at = (w.op as { readonly path: readonly string[] }).path.join('.')
      const under = (r: WriteRecord): boolean => {
        const removed = (r.op as { readonly path: readonly string[] }).path.join('.')
        const settledBefore = r.settledAt !== undefined && r.settledAt + AFTER_DELETES_MS < w.issuedAt
        return (at === removed || at.startsWith(`${removed}.`)) && !settledBefore
      }
      if (removals.some(under)) continue
      // An element a later write removed from the set field is gone on purpose.
      const u = (w.op as { readonly update: FieldOperation }).update
      const removedLater = (r: WriteRecord): boolean =>
        r.op.op === 'update' && r.op.type === 'map' && r.op.path.join('.') === at && r.op.update.op === 'remove' && u.op === 'add' && JSON.stringify(r.op.update.element) === JSON.stringify(u.element)
      if (writes.some(removedLater)) continue
      if (shown === undefined || !ORMap.covers(shown as ORMapState, decodeSessionToken(key, w.token).witness)) problems.push(`${key}: field write ${JSON.stringify(w.op)}, acknowledged after every delete settled, is missing`)
    }
  }
  return problems
}

function checkType(key: string, type: CrdtTypeName, found: unknown, writes: (WriteRecord & { op: Operation })[], deleted = false): string[] {
  const crdt = crdtTypes[type] as unknown as { covers(s: unknown, w: Uint8Array): boolean; empty(): unknown }
  const state = found ?? crdt.empty()
  const problems: string[] = []
  for (const w of writes) {
    if (!w.acked || w.token === undefined) continue
    if (!crdt.covers(state, decodeSessionToken(key, w.token).witness)) problems.push(`${key}: acknowledged ${JSON.stringify(w.op)} is missing`)
  }
  const sum = (pred: (w: WriteRecord) => boolean, op?: string): number =>
    writes.filter((w) => pred(w) && (op === undefined || w.op.op === op)).reduce((s, w) => s + ('amount' in w.op ? w.op.amount : 0), 0)
  if (type === 'map') {
    // Each field is checked as a key of its type is: on everything it has held (a field
    // removal keeps what it removed in its tombstone, as a delete does).
    for (const { path, type: fieldType } of MAP_FIELDS) {
      const at = path.join('.')
      const onField = writes.filter((w) => w.op.type === 'map' && w.op.path.join('.') === at)
      const fieldWrites = onField.flatMap((w) => (w.op.type === 'map' && w.op.op === 'update' ? [{ ...w, op: w.op.update, token: undefined }] : []))
      const removed = deleted || onField.some((w) => w.op.op === 'remove')
      problems.push(...checkType(`${key}.${at}`, fieldType, fieldEverSeen(state as ORMapState, path, fieldType), fieldWrites, removed))
    }
  } else if (type === 'gcounter') {
    const v = GCounter.value(state as never)
    if (v < sum((w) => w.acked) || v > sum(() => true)) problems.push(`${key}: value ${v} outside [${sum((w) => w.acked)}, ${sum(() => true)}]`)
  } else if (type === 'pncounter') {
    const v = PNCounter.value(state as never)
    const low = sum((w) => w.acked, 'increment') - sum(() => true, 'decrement')
    const high = sum(() => true, 'increment') - sum((w) => w.acked, 'decrement')
    if (v < low || v > high) problems.push(`${key}: value ${v} outside [${low}, ${high}]`)
  } else if (type === 'orset') {
    const present = new Set(ORSet.value(state as never).map((e) => JSON.stringify(e)))
    const attemptedAdds = new Set(writes.filter((w) => w.op.op === 'add').map((w) => JSON.stringify((w.op as { element: JsonValue }).element)))
    const removed = new Set(writes.filter((w) => w.op.op === 'remove').map((w) => JSON.stringify((w.op as { element: JsonValue }).element)))
    for (const w of writes) {
      if (w.op.op !== 'add' || !w.acked) continue
      const e = JSON.stringify(w.op.element)
      if (!removed.has(e) && !present.has(e) && !deleted) problems.push(`${key}: acknowledged add of ${e} (never removed) is missing`)
    }
    for (const e of present) if (!attemptedAdds.has(e)) problems.push(`${key}: ${e} present but never added`)
  } else {
    const v = LWWRegister.value(state as never)
    const values = new Set(writes.map((w) => JSON.stringify((w.op as { value: JsonValue }).value)))
    // A delete's tombstone keeps the removed write's stamp with a null value.
    if (v !== undefined && !values.has(JSON.stringify(v)) && !(deleted && v === null)) problems.push(`${key}: value ${JSON.stringify(v)} was never written`)
    if (v === undefined && writes.some((w) => w.acked)) problems.push(`${key}: empty although writes were acknowledged`)
  }
  return problems
}

function randomOp(rng: Random, type: CrdtTypeName, key: string, added: Map<string, string[]>, unique: () => string): Operation {
  switch (type) {
    case 'gcounter':
      return { type, op: 'increment', amount: 1 + rng.int(5) }
    case 'pncounter':
      return { type, op: rng.next() < 0.6 ? 'increment' : 'decrement', amount: 1 + rng.int(5) }
    case 'orset': {
      const known = added.get(key) ?? []
      if (known.length > 0 && rng.next() < 0.3) return { type, op: 'remove', element: pick(rng, known) }
      const element = `e${unique()}`
      added.set(key, [...known, element])
      return { type, op: 'add', element }
    }
    case 'lww':
      return { type, op: 'set', value: { v: unique() } }
    case 'map': {
      const { path, type: fieldType } = pick(rng, MAP_FIELDS)
      if (rng.next() < FIELD_REMOVE_SHARE) return { type, op: 'remove', path }
      return { type, op: 'update', path, update: randomOp(rng, fieldType, `${key}/${path.join('.')}`, added, unique) as FieldOperation }
    }
  }
}

/** The write after a key's expiries: one that shows (an add, a field update that is not a removal). */
function finalOp(rng: Random, type: CrdtTypeName, key: string, added: Map<string, string[]>, unique: () => string): Operation {
  for (;;) {
    const op = randomOp(rng, type, key, added, unique)
    if (op.op === 'remove' || (op.type === 'map' && op.op === 'update' && op.update.op === 'remove')) continue
    return op
  }
}

function totalRounds(cluster: SimCluster): number {
  return cluster.upIds().reduce((sum, id) => sum + cluster.engine(id).antiEntropy.stats.rounds, 0)
}

function pick<T>(rng: Random, items: readonly T[]): T {
  return items[rng.int(items.length)] as T
}

function shuffle<T>(rng: Random, items: readonly T[]): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1)
    ;[out[i], out[j]] = [out[j] as T, out[i] as T]
  }
  return out
}
