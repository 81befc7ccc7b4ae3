// The anti-entropy index saved at close and loaded at the next open: loading must give
// exactly the index a rebuild from the store gives, with the changes committed while it
// loads on top, and any damaged or unvouched snapshot must be refused (then the engine
// rebuilds). Seeded: replay with RUMORDB_TEST_SEED.
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ArcIndex } from '../../src/cluster/anti-entropy/arc-index.js'
import {
  encodeIndexSnapshot,
  INDEX_SNAPSHOT_ASIDE,
  INDEX_SNAPSHOT_META,
  IndexSnapshotError,
  readIndexSnapshot,
  saveIndexSnapshot,
  takeIndexSnapshot,
} from '../../src/cluster/anti-entropy/index-snapshot.js'
import { KeySlots } from '../../src/cluster/anti-entropy/key-slots.js'
import { buildRing, type Ring } from '../../src/cluster/ring/ring.js'
import { InMemoryStore } from '../../src/store/memory-store.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261203)
const ring = buildRing([{ id: 'a', vnodes: 16 }, { id: 'b', vnodes: 16 }])
const otherRing = buildRing([{ id: 'a', vnodes: 16 }, { id: 'b', vnodes: 16 }, { id: 'c', vnodes: 8 }])
const noPause = async (): Promise<void> => {}
const never = (): boolean => false

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

/** Everything observable about an index: each arc's aggregate and keys (with digests), and every key's lookup. */
function observe(index: ArcIndex, r: Ring, keys: Iterable<string>): string[] {
  const out: string[] = []
  for (let arc = 0; arc < r.tokens.length; arc++) {
    out.push(`${arc}:${hex(index.arcHash(arc))}:${index.keysIn(arc).map((k) => `${k.key}=${hex(k.digest)}`).join(',')}`)
  }
  for (const key of keys) {
    const k = index.get(key)
    out.push(`${key}:${k === undefined ? '-' : `${k.position}:${hex(k.digest)}`}`)
  }
  out.push(`size:${index.size}`)
  return out
}

function rebuilt(store: InMemoryStore, r: Ring): ArcIndex {
  const index = new ArcIndex()
  index.rebuild(r, store)
  return index
}

function row(key: string, value: number) {
  return { key, type: 'gcounter' as const, state: new Uint8Array([value & 0xff, value >> 8]), hlc: new Uint8Array(8) }
}

/** Keys whose UTF-8 order differs from their UTF-16 order (astral vs U+E000..U+FFFF) and ASCII ones. */
const keyArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: 6 }),
  fc.constantFrom('\u{1F600}', '\uE000', '\uFFFD', 'é', 'k\u{10000}x', 'k\uF000x'),
  fc.integer({ min: 0, max: 5_000 }).map((i) => `k/${i}`),
)

async function snapshotBytes(index: ArcIndex): Promise<{ bytes: Uint8Array; vouched: Uint8Array }> {
  const bytes = encodeIndexSnapshot(index.snapshot()!)!
  return { bytes, vouched: bytes.subarray(bytes.length - 32) }
}

describe(`saved anti-entropy index (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/cluster/index-snapshot.test.ts)`, () => {
  it('loaded from its snapshot, an index equals a rebuild from the store, and saves the same bytes again', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(keyArb, { minLength: 0, maxLength: 300 }), fc.integer({ min: 1, max: 64 }), async (keys, pageKeys) => {
        const store = new InMemoryStore()
        if (keys.length > 0) await store.write({ keys: keys.map((k, i) => row(k, i)) })
        const original = rebuilt(store, ring)
        const { bytes, vouched } = await snapshotBytes(original)
        const loaded = new ArcIndex()
        await loaded.load(ring, store, await readIndexSnapshot(bytes, vouched, noPause), noPause, never, pageKeys)
        expect(loaded.ready).toBe(true)
        expect(observe(loaded, ring, keys)).toEqual(observe(original, ring, keys))
        expect(hex(encodeIndexSnapshot(loaded.snapshot()!)!)).toBe(hex(bytes))
        // A ring change after the load re-files the loaded keys like any others.
        loaded.setRing(otherRing)
        expect(observe(loaded, otherRing, keys)).toEqual(observe(rebuilt(store, otherRing), otherRing, keys))
      }),
      { numRuns: 60, seed: SEED },
    )
  })

  it('changes committed before and while it loads are indexed on top of the snapshot', async () => {
    const change = fc.record({ key: fc.integer({ min: 0, max: 1_500 }), value: fc.integer({ min: 1, max: 60_000 }) })
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(change, { maxLength: 6 }), { minLength: 1, maxLength: 20 }), async (pauses) => {
        const store = new InMemoryStore()
        await store.write({ keys: Array.from({ length: 1_000 }, (_, i) => row(`k${i}`, i)) })
        const { bytes, vouched } = await snapshotBytes(rebuilt(store, ring))
        const index = new ArcIndex()
        index.expectSnapshot()
        const commit = async (batch: readonly { key: number; value: number }[]): Promise<void> => {
          if (batch.length === 0) return
          await store.write({ keys: batch.map((c) => row(`k${c.key}`, c.value)) })
          // What the engine's commit listener does.
          for (const c of batch) index.update(`k${c.key}`)
        }
        // Committed after the open, before the load starts.
        await commit(pauses[0]!)
        let step = 1
        const pause = async (): Promise<void> => {
          expect(index.ready).toBe(false)
          await commit(pauses[step++] ?? [])
        }
        await index.load(ring, store, await readIndexSnapshot(bytes, vouched, noPause), pause, never, 100)
        expect(index.ready).toBe(true)
        const all = Array.from({ length: 1_501 }, (_, i) => `k${i}`)
        expect(observe(index, ring, all)).toEqual(observe(rebuilt(store, ring), ring, all))
      }),
      { numRuns: 25, seed: SEED },
    )
  })

  it('refuses damaged, truncated or unvouched bytes, and a refused load leaves the index unbuilt', async () => {
    const store = new InMemoryStore()
    await store.write({ keys: Array.from({ length: 50 }, (_, i) => row(`k${i}`, i)) })
    const { bytes, vouched } = await snapshotBytes(rebuilt(store, ring))
    const flipped = new Uint8Array(bytes)
    flipped[40] = flipped[40]! ^ 1
    await expect(readIndexSnapshot(flipped, vouched, noPause)).rejects.toThrow(IndexSnapshotError)
    await expect(readIndexSnapshot(bytes.subarray(0, bytes.length - 1), vouched, noPause)).rejects.toThrow(IndexSnapshotError)
    await expect(readIndexSnapshot(bytes, createHash('sha256').update('other').digest(), noPause)).rejects.toThrow(/does not hash to what the store recorded/)
    await expect(readIndexSnapshot(new Uint8Array(10), vouched, noPause)).rejects.toThrow(/not an index snapshot/)

    // Keys out of order, with a valid checksum: refused mid-load, and the index is unbuilt again.
    const swapped = Buffer.from(bytes)
    const at = 16 + 50 * 2
    const first = swapped.subarray(at, at + 2).toString('latin1')
    expect(first).toBe('k0')
    swapped.write('k9', at, 'latin1')
    const body = swapped.length - 32
    createHash('sha256').update(swapped.subarray(0, body)).digest().copy(swapped, body)
    const index = new ArcIndex()
    const reader = await readIndexSnapshot(swapped, swapped.subarray(body), noPause)
    await expect(index.load(ring, store, reader, noPause, never, 10)).rejects.toThrow(IndexSnapshotError)
    expect(index.indexed).toBe(false)
    await index.build(ring, store, noPause, never)
    expect(observe(index, ring, [])).toEqual(observe(rebuilt(store, ring), ring, []))
  })

  it('is taken out of the store by the first open after it was saved, vouched or not', async () => {
    const store = new InMemoryStore()
    await store.write({ keys: [row('a', 1)] })
    const { bytes } = await snapshotBytes(rebuilt(store, ring))
    await saveIndexSnapshot(store, bytes)
    expect(store.getMeta(INDEX_SNAPSHOT_META)).toBeDefined()

    const taken = await takeIndexSnapshot(store)
    // The row is gone at once: a crash from here on leaves nothing a later open would trust.
    expect(store.getMeta(INDEX_SNAPSHOT_META)).toBeUndefined()
    expect(taken?.keys).toBe(1)
    expect(hex((await taken!.read())!)).toBe(hex(bytes))
    expect(await store.readAside(INDEX_SNAPSHOT_ASIDE)).toBeUndefined()
    expect(await takeIndexSnapshot(store)).toBeUndefined()

    // A file without its row (a crash between writing the file and the row) is removed unread.
    store.writeAside(INDEX_SNAPSHOT_ASIDE, bytes)
    expect(await takeIndexSnapshot(store)).toBeUndefined()
    expect(await store.readAside(INDEX_SNAPSHOT_ASIDE)).toBeUndefined()
  })
})

describe(`KeySlots (seed ${SEED})`, () => {
  it('finds every key it holds, in or out of order, after frees and reuse', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ key: keyArb, drop: fc.boolean() }), { maxLength: 200 }), (ops) => {
        const slots = new KeySlots()
        const model = new Map<string, number>()
        for (const { key, drop } of ops) {
          const held = model.get(key)
          if (held !== undefined && drop) {
            slots.delete(key, held)
            model.delete(key)
          } else if (held === undefined) model.set(key, slots.add(key))
        }
        expect(slots.size).toBe(model.size)
        for (const { key } of ops) expect(slots.get(key)).toBe(model.get(key))
        for (const [key, slot] of model) expect(slots.keyOf(slot)).toBe(key)
        expect(slots.slotsInKeyOrder().map((s) => slots.keyOf(s))).toEqual([...model.keys()].sort())
      }),
      { numRuns: 200, seed: SEED },
    )
  })
})
