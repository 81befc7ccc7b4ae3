// The writes the cluster benchmark sends, generated from a seed: spread over `keys` keys,
// each key of one type (round robin over the chosen types), with realistic arguments. Also
// the size of the deltas those writes create, encoded by crdts/ codecs: the yardstick for
// "bytes per converged update".
import {
  GCounter,
  HybridLogicalClock,
  LWWRegister,
  ORSet,
  PNCounter,
  crdtTypeNames,
  type CrdtTypeName,
  type GCounterState,
  type LWWRegisterState,
  type ORSetState,
  type PNCounterState,
} from '../../crdts/index.js'
import type { Operation } from '../../src/base/operations.js'
import type { Random } from '../../src/base/random.js'

export const ALL_TYPES: readonly CrdtTypeName[] = crdtTypeNames

/** The body of POST /v1/kv/:key: one operation. */
export type WriteBody = Operation

export interface Write {
  readonly key: string
  readonly body: WriteBody
}

/** Distinct elements an OR-set key draws from: sets stay small, removes hit real elements. */
const SET_ELEMENTS = 16

/** `count` writes over keys `<prefix>-0 … <prefix>-<keys − 1>`, the i-th key of type types[i % types.length]. */
export function makeWrites(prefix: string, count: number, keys: number, types: readonly CrdtTypeName[], random: Random): Write[] {
  const writes: Write[] = []
  for (let i = 0; i < count; i++) {
    // Every key is written at least once when count ≥ keys, then keys at random.
    const k = i < keys ? i : random.int(keys)
    const type = types[k % types.length] as CrdtTypeName
    writes.push({ key: `${prefix}-${k}`, body: bodyOf(type, i, random) })
  }
  return writes
}

function bodyOf(type: CrdtTypeName, i: number, random: Random): WriteBody {
  switch (type) {
    case 'gcounter':
      return { type, op: 'increment', amount: 1 + random.int(5) }
    case 'pncounter':
      return { type, op: random.next() < 0.7 ? 'increment' : 'decrement', amount: 1 + random.int(5) }
    case 'orset':
      return { type, op: random.next() < 0.8 ? 'add' : 'remove', element: { sku: `item-${random.int(SET_ELEMENTS)}`, qty: 1 + random.int(3) } }
    case 'lww':
      return { type, op: 'set', value: { name: `user-${random.int(1000)}`, seq: i, online: random.next() < 0.5 } }
    case 'map':
      return { type, op: 'update', path: ['visits'], update: { type: 'pncounter', op: 'increment', amount: 1 + random.int(5) } }
  }
}

/** Distinct keys of a list of writes. */
export function distinctKeys(writes: readonly Write[]): number {
  return new Set(writes.map((w) => w.key)).size
}

/**
 * What the counters must add up to: for each counter key, the sum of its writes that were
 * acknowledged. A write that failed may or may not have been applied (outcome unknown):
 * its key is left out of the check.
 */
export class ExpectedCounters {
  private readonly totals = new Map<string, number>()
  private readonly uncertain = new Set<string>()

  record(write: Write, acknowledged: boolean): void {
    const { body } = write
    if (body.type !== 'gcounter' && body.type !== 'pncounter') return
    if (!acknowledged) {
      this.uncertain.add(write.key)
      return
    }
    const sign = body.op === 'decrement' ? -1 : 1
    this.totals.set(write.key, (this.totals.get(write.key) ?? 0) + sign * body.amount)
  }

  /** Counter keys whose value is known, with that value. */
  known(): [string, number][] {
    return [...this.totals].filter(([key]) => !this.uncertain.has(key))
  }
}

/**
 * Mean encoded size in bytes of the deltas `writes` create, applied in order, each by one
 * of `actors` (rumordb actor ids are 16 characters): what a replica must at least receive
 * per update.
 */
export function meanDeltaBytes(writes: readonly Write[], actors: readonly string[], random: Random): number {
  if (writes.length === 0) return 0
  const states = new Map<string, unknown>()
  let wall = 1_700_000_000_000
  const clock = new HybridLogicalClock({ now: () => wall })
  let total = 0
  for (const { key, body } of writes) {
    const actor = actors[random.int(actors.length)] as string
    wall += 1
    switch (body.type) {
      case 'gcounter': {
        const s = (states.get(key) as GCounterState | undefined) ?? GCounter.empty()
        const delta = GCounter.increment(s, actor, body.amount)
        total += GCounter.encode(delta).length
        states.set(key, GCounter.merge(s, delta))
        break
      }
      case 'pncounter': {
        const s = (states.get(key) as PNCounterState | undefined) ?? PNCounter.empty()
        const delta = body.op === 'increment' ? PNCounter.increment(s, actor, body.amount) : PNCounter.decrement(s, actor, body.amount)
        total += PNCounter.encode(delta).length
        states.set(key, PNCounter.merge(s, delta))
        break
      }
      case 'orset': {
        const s = (states.get(key) as ORSetState | undefined) ?? ORSet.empty()
        const delta = body.op === 'add' ? ORSet.add(s, actor, body.element) : ORSet.remove(s, body.element)
        total += ORSet.encode(delta).length
        states.set(key, ORSet.merge(s, delta))
        break
      }
      case 'lww': {
        const s = (states.get(key) as LWWRegisterState | undefined) ?? LWWRegister.empty()
        const delta = LWWRegister.set(s, actor, body.value, clock.now())
        total += LWWRegister.encode(delta).length
        states.set(key, LWWRegister.merge(s, delta))
        break
      }
    }
  }
  return total / writes.length
}
