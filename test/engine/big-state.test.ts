// Issue 10, item 5b: a state bigger than a frame (MAX_FRAME_BYTES, 4 MiB) reconciles. A
// 10 MB OR-set (170 elements of 60 KB, each added through an engine write) on three
// nodes; one replica loses its disk. Anti-entropy alone brings it back equal (by the set's
// page list, src/cluster/page-transfer/page-lists.ts), and a read
// with r = 3 answers the whole value from all three replicas and read-repairs the wiped
// one (at the wiped node: large `state` answers pulled in parts; at another node: a large
// `replicate` sent in parts). Before, anti-entropy skipped the state (oversizedStates) and
// a read answered with replicas: 1.
//
// Every add re-encodes the whole state on every replica (~50 ms at 10 MB), so the set is
// built once, on one node cut off from the others (alone, it is the key's only replica);
// the others get it when the partition heals, which already takes the fix. Each test then
// wipes a replica and sets anti-entropy on or off itself.
import { beforeAll, describe, expect, it } from 'vitest'
import { ORSet, type ORSetState } from '../../crdts/index.js'
import type { EngineConfig } from '../../src/cluster/engine.js'
import { MAX_FRAME_BYTES } from '../../src/wire/limits.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261112)
const FAST: EngineConfig = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 500, handoffIntervalMs: 300 }
const KEY = 'big-set'
const ELEMENTS = 170
const ELEMENT_CHARS = 60_000
/** Virtual time anti-entropy gets to bring a replica back. */
const REPAIR_WITHIN_MS = 30_000

/** Element i: a 60 KB string (elements are limited to 64 KiB of JSON). */
function element(i: number): string {
  const head = `element-${i}:`
  return head + 'x'.repeat(ELEMENT_CHARS - head.length)
}

function stateOf(c: SimCluster, id: string): Uint8Array | undefined {
  return c.member(id).store.getKey(KEY)?.state
}

function equalEverywhere(c: SimCluster): boolean {
  const [first, ...rest] = c.ids.map((id) => stateOf(c, id))
  return first !== undefined && rest.every((s) => s !== undefined && Buffer.from(s).equals(first))
}

/** Runs until `done` holds or `ms` of virtual time passed; returns the time it took. */
async function runUntil(c: SimCluster, done: () => boolean, ms: number): Promise<number> {
  const started = c.scheduler.now
  while (!done() && c.scheduler.now - started < ms) await c.runFor(100)
  return c.scheduler.now - started
}

async function antiEntropy(c: SimCluster, on: boolean): Promise<void> {
  for (const id of c.upIds()) {
    if (on) c.engine(id).antiEntropy.start()
    else await c.settle(c.engine(id).antiEntropy.stop())
  }
}

/** Crashes `id` and restarts it on an empty store (a lost disk), with anti-entropy as asked, and lets it rejoin. */
async function wipe(c: SimCluster, id: string, withAntiEntropy: boolean): Promise<void> {
  c.crash(id)
  await c.restart(id, { wipe: true })
  if (!withAntiEntropy) await c.settle(c.engine(id).antiEntropy.stop())
  expect(stateOf(c, id)).toBeUndefined()
}

function setSize(state: unknown): number {
  return ORSet.value(state as ORSetState).length
}

describe(`a 10 MB state (seed ${SEED})`, () => {
  let c: SimCluster
  let a: string, b: string, d: string

  beforeAll(async () => {
    c = new SimCluster({ seed: SEED, size: 3, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: FAST })
    ;[a, b, d] = c.ids as [string, string, string]
    c.net.partition(c.ids.map((id) => [id]))
    await c.start()
    const built = Date.now()
    for (let i = 0; i < ELEMENTS; i++) await c.settle(c.engine(a).write(KEY, { type: 'orset', op: 'add', element: element(i) }))
    const size = (stateOf(c, a) as Uint8Array).length
    console.log(`${ELEMENTS} adds of ${ELEMENT_CHARS} bytes: a ${size}-byte state, built in ${Date.now() - built} ms`)
    expect(size).toBeGreaterThan(2 * MAX_FRAME_BYTES)
    c.net.heal()
    const took = await runUntil(c, () => equalEverywhere(c), REPAIR_WITHIN_MS)
    expect(equalEverywhere(c), `the other two replicas got the state from ${a} within ${REPAIR_WITHIN_MS} ms (took ${took})`).toBe(true)
  }, 120_000)

  it('reaches a replica that lost its disk by anti-entropy alone, within bounded virtual time', async () => {
    await antiEntropy(c, true)
    const before = c.ids.map((id) => c.engine(id).status().coordinator.reads)
    await wipe(c, b, true)
    const took = await runUntil(c, () => equalEverywhere(c), REPAIR_WITHIN_MS)
    const status = c.engine(b).status()
    console.log(`anti-entropy restored the wiped replica in ${took} ms of virtual time:`, {
      pagesReceived: status.antiEntropy.pagesReceived,
      pageBytesReceived: status.antiEntropy.pageBytesReceived,
      largeReceived: status.messages.largeReceived,
    })
    expect(c.ids.map((id) => c.engine(id).status().antiEntropy.oversizedStates), 'no state skipped as too large').toEqual([0, 0, 0])
    expect(equalEverywhere(c), `the wiped replica equals the others within ${REPAIR_WITHIN_MS} ms`).toBe(true)
    // Anti-entropy did it, by the set's page list (each 60 KB element is a page of its own:
    // the wiped replica asked for every one): no reads since (no read repair), no writes
    // (no rumors, no hints).
    expect(status.antiEntropy.keysReceived).toBeGreaterThanOrEqual(1)
    expect(status.antiEntropy.pagesReceived).toBeGreaterThanOrEqual(ELEMENTS)
    expect(status.antiEntropy.pageBytesReceived).toBeGreaterThan(ELEMENTS * ELEMENT_CHARS)
    expect(c.ids.map((id) => c.engine(id).status().coordinator.reads)).toEqual([before[0], 0, before[2]])
  })

  it('is read whole with r = 3 at the wiped replica, which read-repairs itself', async () => {
    await antiEntropy(c, false)
    await wipe(c, b, false)
    await c.runFor(1000) // it learns the members again
    const read = await c.settle(c.engine(b).read(KEY, 'orset', { r: 3 }))
    expect(read.replicas, 'all three replicas answered').toBe(3)
    expect(setSize(read.state)).toBe(ELEMENTS)
    // Both other replicas answered with the set's page list; the wiped replica asked each
    // for its pages (answers of at most 1 MiB), so no message needed parts.
    expect(c.engine(b).status().messages.largeReceived, 'pages came in sync-page-data answers, not large messages').toBe(0)
    await c.runFor(1000)
    expect(equalEverywhere(c), 'read repair restored the wiped replica').toBe(true)
  })

  it('is read whole with r = 3 at another node, which read-repairs the wiped replica with a large replicate', async () => {
    await antiEntropy(c, false)
    await wipe(c, b, false)
    await c.runFor(1000)
    const repairs = c.engine(d).status().coordinator.readRepairs
    const read = await c.settle(c.engine(d).read(KEY, 'orset', { r: 3 }))
    expect(read.replicas, 'all three replicas answered').toBe(3)
    expect(setSize(read.state)).toBe(ELEMENTS)
    await c.runFor(1000)
    expect(equalEverywhere(c), 'read repair restored the wiped replica').toBe(true)
    expect(c.engine(d).status().coordinator.readRepairs - repairs).toBe(1)
    expect(c.engine(b).status().messages.largeReceived, 'the replicate, reassembled').toBe(1)
  })
})
