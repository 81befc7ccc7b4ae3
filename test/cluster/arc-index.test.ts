import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { GCounter } from '../../crdts/index.js'
import { arcOf, ArcIndex, BUILD_PAGE } from '../../src/cluster/anti-entropy/arc-index.js'
import { keyFingerprint } from '../../src/base/key-hashes.js'
import { keyPosition } from '../../src/cluster/ring/hash.js'
import { rootOf } from '../../src/cluster/anti-entropy/arc-hashes.js'
import { buildRing, inRange, type Ring } from '../../src/cluster/ring/ring.js'
import type { Clock } from '../../src/base/clock.js'
import type { Operation } from '../../src/base/operations.js'
import { Replica } from '../../src/replica/replica.js'
import { stateDigest } from '../../src/store/digest.js'
import { InMemoryStore } from '../../src/store/memory-store.js'
import { SqliteStore } from '../../src/store/sqlite-store.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const clock: Clock = {
  now: () => Date.UTC(2025, 0, 1),
  setTimeout: () => ({ id: 0 }),
  clearTimeout: () => {},
}

const ringA = buildRing([{ id: 'a', vnodes: 2 }, { id: 'b', vnodes: 2 }])
const ringACopy = buildRing([{ id: 'b', vnodes: 2 }, { id: 'a', vnodes: 2 }])
const ringB = buildRing([{ id: 'a', vnodes: 2 }, { id: 'b', vnodes: 2 }, { id: 'c', vnodes: 3 }])

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex')
}

/** Everything observable about an index: each arc's aggregate and keys (with digests). */
function snapshot(index: ArcIndex, ring: Ring): string[] {
  const out: string[] = []
  for (let arc = 0; arc < ring.tokens.length; arc++) {
    const keys = index.keysIn(arc).map((k) => `${k.key}=${hex(k.digest)}`)
    out.push(`${arc}:${hex(index.arcHash(arc))}:${keys.join(',')}`)
  }
  return out
}

describe('keyFingerprint', () => {
  it('depends on both key and digest', () => {
    const d1 = stateDigest(new Uint8Array([1]))
    const d2 = stateDigest(new Uint8Array([2]))
    expect(keyFingerprint('k', d1)).toHaveLength(16)
    expect(hex(keyFingerprint('k', d1))).not.toBe(hex(keyFingerprint('k', d2)))
    expect(hex(keyFingerprint('k', d1))).not.toBe(hex(keyFingerprint('j', d1)))
  })

  it('is SHA-256(domain ‖ digest ‖ UTF-8 key) truncated to 16 bytes, and a position the first 8 bytes of SHA-256(key), for any key', () => {
    const seed = Number(process.env.RUMORDB_TEST_SEED ?? 20261202)
    const domain = Buffer.from('rumordb:key-fingerprint:v1\0', 'utf8')
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ minLength: 1000, maxLength: 1500 })), fc.uint8Array({ minLength: 16, maxLength: 16 }), (key, digest) => {
        const expected = createHash('sha256').update(domain).update(digest).update(key, 'utf8').digest().subarray(0, 16)
        expect(hex(keyFingerprint(key, digest))).toBe(hex(expected))
        expect(keyPosition(key)).toBe(createHash('sha256').update(key, 'utf8').digest().readBigUInt64BE(0))
      }),
      { numRuns: 300, seed },
    )
  })

  it('does not cancel when two keys of one arc change in step (unlike digest XOR H(key))', async () => {
    const ring = ringA
    const byArc = new Map<number, string[]>()
    for (let i = 0; byArc.size === 0 || ![...byArc.values()].some((ks) => ks.length >= 2); i++) {
      const key = `p${i}`
      const arc = arcOf(ring, keyPosition(key))
      byArc.set(arc, [...(byArc.get(arc) ?? []), key])
    }
    const [arc, [p, q]] = [...byArc].find(([, ks]) => ks.length >= 2) as [number, [string, string]]
    const store = new InMemoryStore()
    const index = new ArcIndex()
    index.rebuild(ring, store)
    // Equal states in both keys (equal digests), then another equal pair.
    const write = async (state: Uint8Array): Promise<void> => {
      await store.write({ keys: [p, q].map((key) => ({ key, type: 'gcounter' as const, state, hlc: new Uint8Array(8) })) })
      index.update(p)
      index.update(q)
    }
    await write(new Uint8Array([9, 9, 9]))
    const before = hex(index.arcHash(arc))
    await write(new Uint8Array([7, 7]))
    expect(hex(index.arcHash(arc))).not.toBe(before)
    expect(index.keysIn(arc).map((k) => k.key).sort()).toEqual([p, q].sort())
  })
})

describe('arcOf', () => {
  it('puts a token in its own arc and the next position in the next arc', () => {
    const { tokens } = ringA
    for (let i = 0; i < tokens.length; i++) {
      expect(arcOf(ringA, tokens[i]!)).toBe(i)
      expect(arcOf(ringA, tokens[i]! + 1n)).toBe((i + 1) % tokens.length)
    }
    expect(arcOf(ringA, 0n)).toBe(0)
    expect(arcOf(ringA, (1n << 64n) - 1n)).toBe(0)
  })
})

describe('ArcIndex', () => {
  it('files each key in the arc owning its position, listed clockwise', async () => {
    const store = new InMemoryStore()
    const keys = Array.from({ length: 200 }, (_, i) => `key-${i}`)
    await store.write({ keys: keys.map((key) => ({ key, type: 'gcounter', state: new Uint8Array([1, key.length]), hlc: new Uint8Array(8) })) })
    const index = new ArcIndex()
    index.rebuild(ringA, store)
    expect(index.size).toBe(200)
    let seen = 0
    for (let arc = 0; arc < ringA.tokens.length; arc++) {
      const listed = index.keysIn(arc)
      seen += listed.length
      const start = ringA.tokens[arc === 0 ? ringA.tokens.length - 1 : arc - 1]!
      const range = { start, end: ringA.tokens[arc]! }
      for (const k of listed) {
        expect(k.position).toBe(keyPosition(k.key))
        expect(inRange(range, k.position)).toBe(true)
      }
      const offsets = listed.map((k) => (k.position - start + (1n << 64n)) % (1n << 64n))
      expect([...offsets].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))).toEqual(offsets)
    }
    expect(seen).toBe(200)
  })

  it('after any sequence of writes and ring changes, the incremental index equals a fresh rebuild', async () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('write' as const), key: fc.integer({ min: 0, max: 40 }), amount: fc.integer({ min: 0, max: 3 }), remote: fc.boolean() }),
      fc.record({ kind: fc.constant('ring' as const), which: fc.constantFrom(0, 1, 2) }),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) => {
        const store = new InMemoryStore()
        const replica = new Replica({ store, clock, actor: 'node-a' })
        const other = new Replica({ store: new InMemoryStore(), clock, actor: 'node-b' })
        const index = new ArcIndex()
        let ring = ringA
        index.rebuild(ring, store)
        replica.onCommitted((change) => index.update(change.key))
        for (const o of ops) {
          if (o.kind === 'ring') {
            // 2: a new ring object with the same tokens (a membership change that moved nothing).
            ring = [ringA, ringB, ringACopy][o.which]!
            index.setRing(ring)
            continue
          }
          const key = `k${o.key}`
          const operation: Operation = { type: 'gcounter', op: 'increment', amount: o.amount }
          if (o.remote) {
            // A state from elsewhere, joined in (the anti-entropy path).
            const applied = await other.apply(key, operation)
            await replica.merge(key, GCounter.encode(applied.state as never))
          } else {
            await replica.apply(key, operation)
          }
        }
        const fresh = new ArcIndex()
        fresh.rebuild(ring, store)
        expect(snapshot(index, ring)).toEqual(snapshot(fresh, ring))
        expect(index.size).toBe(store.countKeys())
      }),
      { numRuns: 60 },
    )
  })

  it('built a page at a time while writes and ring changes commit between pages, it equals a fresh rebuild', async () => {
    const seed = Number(process.env.RUMORDB_TEST_SEED ?? 20261202)
    const op = fc.oneof(
      // Keys before and after where the scan is, and new ones.
      fc.record({ kind: fc.constant('write' as const), key: fc.integer({ min: 0, max: 12_000 }), amount: fc.integer({ min: 1, max: 3 }) }),
      fc.record({ kind: fc.constant('ring' as const), which: fc.constantFrom(0, 1, 2) }),
      // A write still staged when the next page is read: the scan reads committed rows only.
      fc.record({ kind: fc.constant('staged' as const), key: fc.integer({ min: 0, max: 12_000 }), amount: fc.integer({ min: 1, max: 3 }) }),
    )
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(op, { maxLength: 8 }), { minLength: 1, maxLength: 6 }), async (pauses) => {
        const store = new InMemoryStore()
        // 10,000 keys: three pages of the scan, a pause before each.
        const state = GCounter.encode(GCounter.increment(GCounter.empty() as never, 'node-z', 1) as never)
        await store.write({ keys: Array.from({ length: 10_000 }, (_, i) => ({ key: `k${i}`, type: 'gcounter' as const, state, hlc: new Uint8Array(8) })) })
        const replica = new Replica({ store, clock, actor: 'node-a' })
        const index = new ArcIndex()
        replica.onCommitted((change) => index.update(change.key))
        let ring = ringA
        let step = 0
        const seenNotReady: boolean[] = []
        const staged: Promise<unknown>[] = []
        const pause = async (): Promise<void> => {
          seenNotReady.push(!index.ready)
          for (const o of pauses[step++] ?? []) {
            if (o.kind === 'ring') {
              ring = [ringA, ringB, ringACopy][o.which]!
              index.setRing(ring)
            } else if (o.kind === 'staged') staged.push(replica.apply(`k${o.key}`, { type: 'gcounter', op: 'increment', amount: o.amount }))
            else await replica.apply(`k${o.key}`, { type: 'gcounter', op: 'increment', amount: o.amount })
          }
        }
        await index.build(ring, store, pause, () => false)
        expect(index.ready).toBe(true)
        expect(seenNotReady).toEqual(Array.from({ length: Math.ceil(10_000 / BUILD_PAGE) }, () => true))
        await Promise.all(staged)
        const fresh = new ArcIndex()
        fresh.rebuild(ring, store)
        expect(snapshot(index, ring)).toEqual(snapshot(fresh, ring))
        expect(index.size).toBe(store.countKeys())
      }),
      { numRuns: 8, seed },
    )
  })

  it('kept current from a SqliteStore (which gives each committed key its index entry) it equals one kept by hashing', async () => {
    const seed = Number(process.env.RUMORDB_TEST_SEED ?? 20261203)
    const dir = mkdtempSync(join(tmpdir(), 'rumordb-arc-index-'))
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.record({ key: fc.integer({ min: 0, max: 30 }), state: fc.integer({ min: 0, max: 5 }), gone: fc.boolean() }), { minLength: 1, maxLength: 40 }), async (writes) => {
          const sqlite = await SqliteStore.open({ path: join(dir, `s-${Math.random().toString(36).slice(2)}.db`) })
          const memory = new InMemoryStore()
          const withEntries = new ArcIndex()
          const hashing = new ArcIndex()
          withEntries.rebuild(ringA, sqlite)
          hashing.rebuild(ringA, memory)
          for (const w of writes) {
            const write = { key: `k${w.key}`, type: 'lww' as const, state: new Uint8Array([w.state]), hlc: new Uint8Array(8), ...(w.gone ? { deletedAt: 1 } : {}) }
            await Promise.all([sqlite.write({ keys: [write] }), memory.write({ keys: [write] })])
            expect(sqlite.getDigestEntry(write.key)?.indexEntry).toBeDefined()
            withEntries.update(write.key)
            hashing.update(write.key)
          }
          expect(snapshot(withEntries, ringA)).toEqual(snapshot(hashing, ringA))
          await sqlite.close()
        }),
        { numRuns: 20, seed },
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a build stopped between pages stays not ready', async () => {
    const store = new InMemoryStore()
    await store.write({ keys: Array.from({ length: BUILD_PAGE + 1000 }, (_, i) => ({ key: `k${i}`, type: 'gcounter' as const, state: new Uint8Array([1]), hlc: new Uint8Array(8) })) })
    const index = new ArcIndex()
    let pauses = 0
    // Stopped at the second pause: after the first page.
    await index.build(ringA, store, async () => void pauses++, () => pauses === 2)
    expect(index.ready).toBe(false)
    expect(index.size).toBe(BUILD_PAGE)
    await expect(index.build(ringA, store, async () => {}, () => false)).rejects.toThrow(/built already/)
  })

  it('memoized roots follow every change of an aggregate and of the ring', async () => {
    const store = new InMemoryStore()
    const replica = new Replica({ store, clock, actor: 'node-a' })
    const index = new ArcIndex()
    index.rebuild(ringA, store)
    replica.onCommitted((change) => index.update(change.key))
    // One arcs array per ring, as a sharing plan with n = members hands every peer.
    const arcsOf = new Map([ringA, ringB, ringACopy].map((r) => [r, Uint32Array.from(r.tokens.keys())]))
    const reference = (ring: Ring): string => {
      const arcs = arcsOf.get(ring)!
      const buf = Buffer.alloc(8 + arcs.length * 24)
      buf.writeUInt32BE(2, 0)
      buf.writeUInt32BE(arcs.length, 4)
      arcs.forEach((arc, k) => {
        buf.writeBigUInt64BE(ring.tokens[arc]!, 8 + k * 24)
        Buffer.from(index.arcHash(arc)).copy(buf, 16 + k * 24)
      })
      return hex(createHash('sha256').update('rumordb:anti-entropy-root:v1\0', 'utf8').update(buf).digest().subarray(0, 16))
    }
    let ring = ringA
    const check = (): void => {
      expect(hex(rootOf(ring, arcsOf.get(ring)!, index, 2))).toBe(reference(ring))
      // Again from the memo, and the caller's copy is its own.
      const root = rootOf(ring, arcsOf.get(ring)!, index, 2)
      root.fill(0)
      expect(hex(rootOf(ring, arcsOf.get(ring)!, index, 2))).toBe(reference(ring))
    }
    check()
    for (let i = 0; i < 30; i++) {
      if (i % 7 === 6) {
        ring = [ringB, ringACopy, ringA][i % 3]!
        index.setRing(ring)
      } else {
        await replica.apply(`m${i % 5}`, { type: 'gcounter', op: 'increment', amount: 1 })
      }
      check()
    }
  })

  it('reuses fingerprints across a rebuild on a new ring and agrees with a rebuild from scratch', async () => {
    const store = new InMemoryStore()
    await store.write({ keys: Array.from({ length: 50 }, (_, i) => ({ key: `r${i}`, type: 'gcounter' as const, state: new Uint8Array([i]), hlc: new Uint8Array(8) })) })
    const index = new ArcIndex()
    index.rebuild(ringA, store)
    index.rebuild(ringB, store)
    const fresh = new ArcIndex()
    fresh.rebuild(ringB, store)
    expect(snapshot(index, ringB)).toEqual(snapshot(fresh, ringB))
    // A rebuild on a ring with the same tokens still reads the store afresh.
    await store.write({ keys: [{ key: 'r1', type: 'gcounter', state: new Uint8Array([99]), hlc: new Uint8Array(8) }] })
    index.rebuild(ringB, store)
    const again = new ArcIndex()
    again.rebuild(ringB, store)
    expect(snapshot(index, ringB)).toEqual(snapshot(again, ringB))
    expect(snapshot(index, ringB)).not.toEqual(snapshot(fresh, ringB))
    // Moved to another store: keys it lacks go, their slots are reused by the next keys.
    const other = new InMemoryStore()
    await other.write({ keys: Array.from({ length: 30 }, (_, i) => ({ key: `o${i}`, type: 'gcounter' as const, state: new Uint8Array([i]), hlc: new Uint8Array(8) })) })
    index.rebuild(ringB, other)
    expect(index.size).toBe(30)
    await other.write({ keys: Array.from({ length: 40 }, (_, i) => ({ key: `p${i}`, type: 'gcounter' as const, state: new Uint8Array([i]), hlc: new Uint8Array(8) })) })
    for (let i = 0; i < 40; i++) index.update(`p${i}`)
    const third = new ArcIndex()
    third.rebuild(ringB, other)
    expect(snapshot(index, ringB)).toEqual(snapshot(third, ringB))
    expect(index.get('r1')).toBeUndefined()
    // An index never rebuilt ignores updates: its first rebuild scans the key anyway.
    const idle = new ArcIndex()
    idle.update('r1')
    expect(idle.size).toBe(0)
  })
})
