// Anti-entropy sends a big OR-set by its page list and moves only the pages the other side
// lacks (src/cluster/page-transfer/page-lists.ts, issue 13). Before, a set differing by one
// element travelled whole each time: here a 40,000-element set (about 0.6 MB) that each
// side changed by one element while apart.
import { describe, expect, it } from 'vitest'
import { ORSet, type ORSetEntry, type ORSetState } from '../../crdts/index.js'
import { contextFromDots } from '../../crdts/causal-context.js'
import type { EngineConfig } from '../../src/cluster/engine.js'
import { LIST_PAGES_FROM_BYTES } from '../../src/cluster/page-transfer/page-lists.js'
import { SimCluster } from './sim-cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261205)
// Rumors off and writes applied on one replica only: anti-entropy alone must reconcile.
const FAST: EngineConfig = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 300, handoffIntervalMs: 300, rumors: false }
const KEY = 'big-set'
const ELEMENTS = 40_000

/** A set of ELEMENTS short strings added by one actor, built directly (adding one by one would take minutes). */
function bigSet(): ORSetState {
  const entries: ORSetEntry[] = []
  for (let i = 1; i <= ELEMENTS; i++) {
    const value = `e${String(i).padStart(6, '0')}`
    entries.push({ key: JSON.stringify(value), value, dots: [{ actor: 'seeder', counter: i }] })
  }
  return { entries, context: contextFromDots(entries.flatMap((e) => e.dots)) }
}

function stateOf(c: SimCluster, id: string): Uint8Array | undefined {
  return c.member(id).store.getKey(KEY)?.state
}

function equalEverywhere(c: SimCluster): boolean {
  const [first, ...rest] = c.ids.map((id) => stateOf(c, id))
  return first !== undefined && rest.every((s) => s !== undefined && Buffer.from(s).equals(first))
}

function pageCounters(c: SimCluster): { pages: number; bytes: number } {
  let pages = 0
  let bytes = 0
  for (const id of c.ids) {
    const s = c.engine(id).status().antiEntropy
    pages += s.pagesReceived
    bytes += s.pageBytesReceived
  }
  return { pages, bytes }
}

describe(`big sets by their pages (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/engine/set-pages-sync.test.ts)`, () => {
  it('a set changed on both sides of a partition reconciles by moving the changed pages, not the set', async () => {
    const c = new SimCluster({ seed: SEED, size: 3, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: FAST })
    await c.start()
    await c.runFor(1000)
    const [a, b, d] = c.ids as [string, string, string]
    const encoded = ORSet.encode(bigSet())
    expect(encoded.length).toBeGreaterThan(8 * LIST_PAGES_FROM_BYTES)
    for (const id of c.ids) await c.settle(c.db(id).replica.merge(KEY, encoded))
    await c.scheduler.runUntil(() => c.ids.every((id) => c.db(id).syncStatus().synced), { maxTime: 20_000 })

    c.net.partition([[a, d], [b]])
    await c.settle(c.db(a).replica.apply(KEY, { type: 'orset', op: 'add', element: 'new-on-a' }))
    await c.settle(c.db(b).replica.apply(KEY, { type: 'orset', op: 'add', element: 'new-on-b' }))
    await c.settle(c.db(b).replica.apply(KEY, { type: 'orset', op: 'remove', element: 'e020000' }))
    const before = pageCounters(c)
    const received = c.ids.map((id) => c.net.nodeCounters(id).bytesReceived)
    c.net.heal()
    await c.scheduler.runUntil(() => equalEverywhere(c), { maxTime: 20_000 })

    for (const id of c.ids) {
      const values = ORSet.value(c.db(id).replica.read(KEY)?.state as ORSetState)
      expect(values.length, id).toBe(ELEMENTS + 1)
      expect(values, id).toContain('new-on-a')
      expect(values, id).toContain('new-on-b')
      expect(values, id).not.toContain('e020000')
    }
    const after = pageCounters(c)
    const moved = c.ids.map((id, i) => c.net.nodeCounters(id).bytesReceived - (received[i] as number))
    console.log(`state ${encoded.length} bytes; pages received ${after.pages - before.pages} (${after.bytes - before.bytes} bytes); bytes received per node`, moved)
    // Each side changed one or two of the set's ~160 pages; each node asked for those, a
    // few twice (exchanges started by both ends when the partition healed).
    expect(after.pages - before.pages).toBeGreaterThan(0)
    expect(after.pages - before.pages).toBeLessThanOrEqual(24)
    expect(after.bytes - before.bytes).toBeLessThan(encoded.length / 4)
    // Everything any node received in the meantime (page lists, pages, heartbeats): far below one copy of the set.
    for (const bytes of moved) expect(bytes).toBeLessThan(encoded.length / 2)
    for (const id of c.ids) expect(c.engine(id).status().antiEntropy.mergeErrors, id).toBe(0)
  })

  it('a set that changes while its pages are fetched: that transfer ends, the key is unreconciled, and a later round settles it', async () => {
    // 40 ms links: a round's page fetch comes tens of ms after the list, while a keeps writing.
    const c = new SimCluster({ seed: SEED, size: 3, link: { latency: { baseMs: 40, jitterMs: 5 } }, config: FAST })
    await c.start()
    await c.runFor(2000)
    const a = c.ids[0] as string
    const encoded = ORSet.encode(bigSet())
    for (const id of c.ids) await c.settle(c.db(id).replica.merge(KEY, encoded))
    c.net.partition([[a], c.ids.filter((id) => id !== a)])
    // a's side changes every page: b's side must fetch them all, and a rewrites some meanwhile.
    for (let i = 0; i < ELEMENTS; i += 200) await c.settle(c.db(a).replica.apply(KEY, { type: 'orset', op: 'remove', element: `e${String(i + 1).padStart(6, '0')}` }))
    c.net.heal()
    let writes = 0
    for (let t = 0; t < 2000; t += 20) {
      await c.settle(c.db(a).replica.apply(KEY, { type: 'orset', op: 'add', element: `late-${t}` }))
      writes++
      await c.runFor(20)
    }
    await c.scheduler.runUntil(() => equalEverywhere(c), { maxTime: 30_000 })
    const unreconciledSeen = c.ids.reduce((n, id) => n + c.engine(id).status().antiEntropy.pageTransfersFailed, 0)
    console.log(`${writes} writes on a during the transfers; transfers ended by a changed page: ${unreconciledSeen}`)
    expect(unreconciledSeen).toBeGreaterThan(0)
    for (const id of c.ids) {
      const values = ORSet.value(c.db(id).replica.read(KEY)?.state as ORSetState)
      expect(values.length, id).toBe(ELEMENTS - ELEMENTS / 200 + writes)
    }
    await c.runFor(3000)
    for (const id of c.ids) expect(c.db(id).syncStatus(), id).toMatchObject({ synced: true, unreconciled: [] })
  })

  it('a read with r = 3 gets the other replicas\' page lists: nothing more when they hold the same set, only the changed pages when not', async () => {
    const c = new SimCluster({ seed: SEED, size: 3, link: { latency: { baseMs: 1, jitterMs: 1 } }, config: FAST })
    await c.start()
    await c.runFor(1000)
    const [a, b] = c.ids as [string, string, string]
    for (const id of c.ids) await c.settle(c.engine(id).antiEntropy.stop())
    const encoded = ORSet.encode(bigSet())
    for (const id of c.ids) await c.settle(c.db(id).replica.merge(KEY, encoded))
    const receivedBy = async (id: string, read: () => Promise<unknown>): Promise<number> => {
      const before = c.net.nodeCounters(id).bytesReceived
      await c.settle(read())
      return c.net.nodeCounters(id).bytesReceived - before
    }
    let value: readonly unknown[] = []
    const equal = await receivedBy(a, async () => {
      value = await c.db(a).set(KEY).values({ r: 3 })
    })
    expect(value).toHaveLength(ELEMENTS)
    // Two page lists (about 2.5 KB each for ~160 pages), no page, no state.
    expect(equal).toBeLessThan(encoded.length / 50)

    await c.settle(c.db(b).replica.apply(KEY, { type: 'orset', op: 'add', element: 'only-on-b' }))
    const changed = await receivedBy(a, async () => {
      value = await c.db(a).set(KEY).values({ r: 3 })
    })
    expect(value).toHaveLength(ELEMENTS + 1)
    expect(value).toContain('only-on-b')
    expect(changed).toBeLessThan(encoded.length / 20)
    console.log(`state ${encoded.length} bytes; a read with r = 3 received ${equal} bytes (replicas equal), ${changed} bytes (one replica one element ahead)`)
  })
})
