// A randomized fault schedule against a simulated cluster: clients write all four types
// at random nodes while the nemesis partitions, drops, duplicates, reorders, skews clocks
// and crashes/restarts nodes; then everything heals and the run goes quiet. The checker
// asserts, for every key, that its replicas converged and that no acknowledged write was
// lost. One seed decides everything, so a failure replays exactly.
import { crdtTypes, GCounter, LWWRegister, ORSet, PNCounter } from '../../crdts/index.js'
import type { CrdtTypeName, JsonValue } from '../../crdts/types.js'
import { preferenceList } from '../../src/cluster/ring.js'
import type { Operation } from '../../src/operations.js'
import { seededRandom, type Random } from '../../src/random.js'
import { SimCluster } from './sim-cluster.js'

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
  /** Virtual ms allowed for convergence after healing. */
  readonly convergeWithinMs: number
}

export const DEFAULT_NEMESIS: Omit<NemesisOptions, 'seed'> = {
  nodes: 5,
  activeMs: 6000,
  opIntervalMs: 25,
  faultIntervalMs: 400,
  keysPerType: 3,
  loss: 0.05,
  duplicate: 0.03,
  reorder: 0.1,
  convergeWithinMs: 30_000,
}

export const ENGINE_TIMING = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 250, handoffIntervalMs: 250 }

interface WriteRecord {
  readonly key: string
  readonly op: Operation
  acked: boolean
  witness?: Uint8Array
}

export interface NemesisReport {
  readonly seed: number
  readonly attempted: number
  readonly acked: number
  readonly faults: string[]
  /** Virtual ms from the final heal until every key's replicas were equal. */
  readonly convergedAfterMs: number | undefined
  readonly antiEntropyRounds: number
  readonly problems: string[]
}

const TYPES: CrdtTypeName[] = ['gcounter', 'pncounter', 'orset', 'lww']

export async function runNemesis(options: NemesisOptions): Promise<NemesisReport> {
  const rng = seededRandom(options.seed ^ 0x5eed)
  const cluster = new SimCluster({
    seed: options.seed,
    size: options.nodes,
    link: { latency: { baseMs: 1, jitterMs: 2 }, loss: options.loss, duplicate: options.duplicate, reorder: options.reorder },
    config: ENGINE_TIMING,
  })
  await cluster.start()
  await cluster.runFor(1000)
  const writes: WriteRecord[] = []
  const faults: string[] = []
  const keys = TYPES.flatMap((t) => Array.from({ length: options.keysPerType }, (_, i) => ({ key: `${t}:${i}`, type: t })))
  const addedElements = new Map<string, string[]>()
  let unique = 0

  const issue = (): void => {
    const up = cluster.upIds()
    if (up.length === 0) return
    const node = pick(rng, up)
    const { key, type } = pick(rng, keys)
    const op = randomOp(rng, type, key, addedElements, () => `${options.seed}-${unique++}`)
    const record: WriteRecord = { key, op, acked: false }
    writes.push(record)
    const w = 1 + rng.int(3)
    cluster
      .engine(node)
      .write(key, op, { w })
      .then(
        (result) => {
          record.acked = true
          record.witness = result.witness
        },
        () => undefined,
      )
  }

  const crashed = new Set<string>()
  const fault = async (): Promise<void> => {
    const roll = rng.next()
    const ids = cluster.ids
    if (roll < 0.25) {
      const shuffled = shuffle(rng, ids)
      const cut = 1 + rng.int(ids.length - 1)
      cluster.net.partition([shuffled.slice(0, cut), shuffled.slice(cut)])
      faults.push(`partition ${shuffled.slice(0, cut).join(',')} | ${shuffled.slice(cut).join(',')}`)
    } else if (roll < 0.4) {
      cluster.net.heal()
      faults.push('heal')
    } else if (roll < 0.6) {
      const candidates = ids.filter((id) => !crashed.has(id))
      if (candidates.length > 1) {
        const victim = pick(rng, candidates)
        cluster.crash(victim)
        crashed.add(victim)
        faults.push(`crash ${victim}`)
      }
    } else if (roll < 0.8) {
      if (crashed.size > 0) {
        const back = pick(rng, [...crashed].sort())
        crashed.delete(back)
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
  cluster.net.heal()
  for (const id of cluster.ids) cluster.net.setSkew(id, 0)
  for (const id of [...crashed].sort()) await cluster.restart(id)
  cluster.net.setDefaultLink({ loss: 0, duplicate: 0, reorder: 0 })
  faults.push('final heal')
  const healedAt = cluster.scheduler.now
  const roundsBefore = totalRounds(cluster)
  const converged = (): boolean => keys.every(({ key }) => replicasEqual(cluster, key))
  await cluster.scheduler.runUntil(converged, { maxTime: healedAt + options.convergeWithinMs })
  const convergedAfterMs = converged() ? cluster.scheduler.now - healedAt : undefined

  const problems: string[] = []
  if (convergedAfterMs === undefined) {
    for (const { key } of keys) if (!replicasEqual(cluster, key)) problems.push(`${key}: replicas differ ${describeStates(cluster, key)}`)
  }
  for (const { key, type } of keys) problems.push(...checkKey(cluster, key, type, writes.filter((w) => w.key === key)))
  const report: NemesisReport = {
    seed: options.seed,
    attempted: writes.length,
    acked: writes.filter((w) => w.acked).length,
    faults,
    convergedAfterMs,
    antiEntropyRounds: totalRounds(cluster) - roundsBefore,
    problems,
  }
  await cluster.settle(Promise.all(cluster.upIds().map((id) => cluster.engine(id).stop())))
  return report
}

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
    .map((id) => `${id}=${cluster.member(id).store.getKey(key)?.digest ? Buffer.from(cluster.member(id).store.getKey(key)!.digest).toString('hex').slice(0, 8) : '-'}`)
    .join(' ')
}

/** No acknowledged write lost, nothing invented: the checks of the issue, per type. */
function checkKey(cluster: SimCluster, key: string, type: CrdtTypeName, writes: WriteRecord[]): string[] {
  const owner = ownersOf(cluster, key)[0] as string
  const encoded = cluster.member(owner).store.getKey(key)?.state
  const crdt = crdtTypes[type] as unknown as { decode(b: Uint8Array): unknown; covers(s: unknown, w: Uint8Array): boolean; empty(): unknown }
  const state = encoded === undefined ? crdt.empty() : crdt.decode(encoded)
  const problems: string[] = []
  for (const w of writes) {
    if (w.acked && w.witness !== undefined && !crdt.covers(state, w.witness)) problems.push(`${key}: acknowledged ${JSON.stringify(w.op)} is missing`)
  }
  const sum = (pred: (w: WriteRecord) => boolean, op?: string): number =>
    writes.filter((w) => pred(w) && (op === undefined || w.op.op === op)).reduce((s, w) => s + ('amount' in w.op ? w.op.amount : 0), 0)
  if (type === 'gcounter') {
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
      if (!removed.has(e) && !present.has(e)) problems.push(`${key}: acknowledged add of ${e} (never removed) is missing`)
    }
    for (const e of present) if (!attemptedAdds.has(e)) problems.push(`${key}: ${e} present but never added`)
  } else {
    const v = LWWRegister.value(state as never)
    const values = new Set(writes.map((w) => JSON.stringify((w.op as { value: JsonValue }).value)))
    if (v !== undefined && !values.has(JSON.stringify(v))) problems.push(`${key}: value ${JSON.stringify(v)} was never written`)
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
