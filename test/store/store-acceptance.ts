// The acceptance suite every Store implementation must pass (automerge-repo style):
// `runStoreTests('SqliteStore', setup)` in one file per implementation.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { CrdtTypeName } from '../../crdts/types.js'
import { CommitError, InvalidStoreArgumentError, StoreClosedError } from '../../src/store/errors.js'
import type { StoreStats } from '../../src/store/group-commit-store.js'
import type { KeyWrite, Store, StoredDigest } from '../../src/store/store.js'
import type { StoreHooks } from '../../src/store/store-hooks.js'
import { pagedDigest } from '../../src/store/digest.js'
import { indexEntryOf } from '../../src/base/key-hashes.js'

export interface StoreUnderTest extends Store {
  stats?(): StoreStats
}

export interface StoreHarness {
  store: StoreUnderTest
  /** Opens the same data again; call only after `store.close()`. */
  reopen?: () => Promise<StoreUnderTest>
  /**
   * What a node killed right now would find on restart: a new store over a snapshot of
   * the committed data. The snapshot is taken synchronously, before the first await.
   */
  crash?: () => Promise<StoreUnderTest>
  /** Closes every store it opened and removes its files. */
  cleanup: () => Promise<void>
}

export interface StoreSetupOptions {
  hooks?: StoreHooks
}

const bytes = (...b: number[]) => new Uint8Array(b)
const text = (s: string) => new TextEncoder().encode(s)
const hlc = (n: number) => {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}
const kw = (key: string, state: Uint8Array = text(key), type: CrdtTypeName = 'lww', clock = 1): KeyWrite => ({
  key,
  type,
  state,
  hlc: hlc(clock),
})
const sha256Prefix = (state: Uint8Array) => new Uint8Array(createHash('sha256').update(state).digest().subarray(0, 16))
const utf8Order = (a: string, b: string) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'))
const keysOf = (rows: { key: string }[]) => rows.map((r) => r.key)

/** Keys chosen so that UTF-16 order and UTF-8 byte order disagree (U+1F600 vs U+E000/U+FFFD). */
const MIXED_KEYS = ['a', 'ab', 'abc', 'b', 'é', 'éa', '\u{E000}', '\u{FFFD}', '\u{1F600}', '\u{1F600}x', 'z', 'A']

export function runStoreTests(
  name: string,
  setup: (opts?: StoreSetupOptions) => Promise<StoreHarness>,
): void {
  describe(`Store acceptance: ${name}`, () => {
    async function withStore(fn: (h: StoreHarness) => Promise<void>, opts?: StoreSetupOptions): Promise<void> {
      const h = await setup(opts)
      try {
        await fn(h)
      } finally {
        await h.cleanup()
      }
    }

    it('puts, gets and overwrites a key', () =>
      withStore(async ({ store }) => {
        expect(store.getKey('k')).toBeUndefined()
        await store.write({ keys: [kw('k', bytes(1, 2, 3), 'gcounter', 5)] })
        const got = store.getKey('k')
        expect(got).toEqual({ key: 'k', type: 'gcounter', state: bytes(1, 2, 3), hlc: hlc(5), digest: sha256Prefix(bytes(1, 2, 3)) })
        await store.write({ keys: [kw('k', bytes(9), 'gcounter', 6)] })
        expect(store.getKey('k')?.state).toEqual(bytes(9))
        expect(store.getKey('k')?.hlc).toEqual(hlc(6))
        expect(store.countKeys()).toBe(1)
      }))

    it('copies written bytes, so callers may reuse their buffers', () =>
      withStore(async ({ store }) => {
        const state = bytes(1, 2, 3)
        const p = store.write({ keys: [kw('k', state)] })
        state[0] = 99
        await p
        expect(store.getKey('k')?.state).toEqual(bytes(1, 2, 3))
      }))

    it('computes the digest as the first 16 bytes of SHA-256 and changes it with the state', () =>
      withStore(async ({ store }) => {
        await store.write({ keys: [kw('a', text('state one')), kw('b', text('state one')), kw('c', text('state two'))] })
        const [a, b, c] = ['a', 'b', 'c'].map((k) => store.getKey(k)?.digest)
        expect(a).toEqual(sha256Prefix(text('state one')))
        expect(a).toHaveLength(16)
        expect(b).toEqual(a)
        expect(c).not.toEqual(a)
        await store.write({ keys: [kw('a', text('state three'))] })
        expect(store.getKey('a')?.digest).toEqual(sha256Prefix(text('state three')))
      }))

    it('scans in UTF-8 byte order with prefix, after and limit', () =>
      withStore(async ({ store }) => {
        // Half committed, half staged: the merge of both must keep the order.
        const shuffled = [...MIXED_KEYS].reverse()
        await store.write({ keys: shuffled.slice(0, 6).map((k) => kw(k)) })
        void store.write({ keys: shuffled.slice(6).map((k) => kw(k)) })
        const expected = [...MIXED_KEYS].sort(utf8Order)
        expect(keysOf(store.scan({}))).toEqual(expected)
        expect(keysOf(store.scan({ prefix: 'a' }))).toEqual(['a', 'ab', 'abc'])
        expect(keysOf(store.scan({ prefix: 'ab' }))).toEqual(['ab', 'abc'])
        expect(keysOf(store.scan({ prefix: 'é' }))).toEqual(['é', 'éa'])
        expect(keysOf(store.scan({ prefix: '\u{1F600}' }))).toEqual(['\u{1F600}', '\u{1F600}x'])
        expect(keysOf(store.scan({ prefix: 'nope' }))).toEqual([])
        expect(keysOf(store.scan({ after: 'b' }))).toEqual(expected.filter((k) => utf8Order(k, 'b') > 0))
        expect(keysOf(store.scan({ after: '\u{FFFD}' }))).toEqual(['\u{1F600}', '\u{1F600}x'])
        expect(keysOf(store.scan({ prefix: 'a', after: 'a' }))).toEqual(['ab', 'abc'])
        expect(keysOf(store.scan({ prefix: 'ab', after: 'a' }))).toEqual(['ab', 'abc'])
        expect(keysOf(store.scan({ prefix: 'a', after: 'b' }))).toEqual([])
        expect(keysOf(store.scan({ limit: 3 }))).toEqual(expected.slice(0, 3))
        expect(store.scan({ limit: 0 })).toEqual([])
        // Paging with after + limit visits every key once, in order.
        const paged: string[] = []
        for (let page = store.scan({ limit: 2 }); page.length > 0; page = store.scan({ after: paged.at(-1), limit: 2 })) {
          paged.push(...keysOf(page))
        }
        expect(paged).toEqual(expected)
        expect(store.scan({ prefix: 'abc' })[0]).toEqual(store.getKey('abc'))
      }))

    it('lists committed keys in the order of their last change, after a clock, under a prefix', () =>
      withStore(async ({ store, reopen }) => {
        // Clocks out of key order; 'b' changes twice, its last change is the latest.
        await store.write({ keys: [kw('b', text('1'), 'lww', 10), kw('a:1', text('1'), 'lww', 20), kw('c', text('1'), 'lww', 30), kw('a:2', text('1'), 'lww', 40)] })
        await store.write({ keys: [kw('b', text('2'), 'lww', 50)] })
        // Staged, not committed: left out until it is.
        const staged = store.write({ keys: [kw('d', text('1'), 'lww', 60)] })
        const changes = (opts: Parameters<Store['scanChanges']>[0]) => store.scanChanges(opts).map((c) => [c.key, Buffer.from(c.hlc).readUInt32BE(4)])
        expect(changes({ limit: 10 })).toEqual([['a:1', 20], ['c', 30], ['a:2', 40], ['b', 50]])
        expect(changes({ after: hlc(30), limit: 10 })).toEqual([['a:2', 40], ['b', 50]])
        expect(changes({ prefix: 'a:', limit: 10 })).toEqual([['a:1', 20], ['a:2', 40]])
        expect(changes({ prefix: 'a:', after: hlc(20), limit: 10 })).toEqual([['a:2', 40]])
        expect(changes({ limit: 2 })).toEqual([['a:1', 20], ['c', 30]])
        await staged
        expect(changes({ after: hlc(50), limit: 10 })).toEqual([['d', 60]])
        expect(() => store.scanChanges({ limit: 0 })).toThrow(InvalidStoreArgumentError)
        expect(() => store.scanChanges({ after: bytes(1, 2), limit: 1 })).toThrow(InvalidStoreArgumentError)
        if (reopen === undefined) return
        await store.close()
        const again = await reopen()
        expect(again.scanChanges({ after: hlc(30), limit: 10 }).map((c) => c.key)).toEqual(['a:2', 'b', 'd'])
        await again.close()
      }))

    it('rejects a negative or fractional scan limit', () =>
      withStore(async ({ store }) => {
        expect(() => store.scan({ limit: -1 })).toThrow(InvalidStoreArgumentError)
        expect(() => store.scan({ limit: 1.5 })).toThrow(InvalidStoreArgumentError)
      }))

    it('shows staged writes to reads before they are committed', () =>
      withStore(async ({ store }) => {
        await store.write({ keys: [kw('old', bytes(1))] })
        const p = store.write({ keys: [kw('new', bytes(2)), kw('old', bytes(3))] })
        expect(store.getKey('new')?.state).toEqual(bytes(2))
        expect(store.getKey('new')?.digest).toEqual(sha256Prefix(bytes(2)))
        expect(store.getKey('old')?.state).toEqual(bytes(3))
        expect(keysOf(store.scan({}))).toEqual(['new', 'old'])
        expect(store.scan({}).map((k) => k.state)).toEqual([bytes(2), bytes(3)])
        expect(store.countKeys()).toBe(2)
        // A read-modify-write in the same turn builds on the staged value.
        const current = store.getKey('old')?.state[0] ?? 0
        const q = store.write({ keys: [kw('old', bytes(current + 1))] })
        expect(store.getKey('old')?.state).toEqual(bytes(4))
        await Promise.all([p, q])
        expect(store.getKey('old')?.state).toEqual(bytes(4))
        expect(store.countKeys()).toBe(2)
      }))

    it('commits the writes of one turn in one transaction and settles them together', () =>
      withStore(async ({ store }) => {
        await store.write({ keys: [kw('warm-up')] })
        const before = store.stats?.().commits
        const settled: number[] = []
        const promises = Array.from({ length: 100 }, (_, i) =>
          store.write({ keys: [kw(`k${i}`)] }).then(() => settled.push(i)),
        )
        // Nothing settles within the turn that issued the writes.
        await Promise.resolve()
        expect(settled).toEqual([])
        await Promise.all(promises)
        expect(settled).toHaveLength(100)
        if (before !== undefined) expect(store.stats?.().commits).toBe(before + 1)
        // Writes of different turns take different transactions.
        await store.write({ keys: [kw('x')] })
        await store.write({ keys: [kw('y')] })
        if (before !== undefined) expect(store.stats?.().commits).toBe(before + 3)
        expect(store.countKeys()).toBe(103)
      }))

    it('resolves a write only once it is committed: a crash right then keeps it', () =>
      withStore(async (h) => {
        if (h.crash === undefined) return
        let snapshot: Promise<StoreUnderTest> | undefined
        await h.store.write({ keys: [kw('durable', bytes(7))] }).then(() => {
          snapshot = h.crash?.()
        })
        const restarted = await (snapshot as Promise<StoreUnderTest>)
        expect(restarted.getKey('durable')?.state).toEqual(bytes(7))
      }))

    it('loses staged writes in a crash before their commit', () =>
      withStore(async (h) => {
        if (h.crash === undefined) return
        await h.store.write({ keys: [kw('committed')] })
        const pending = h.store.write({ keys: [kw('staged')], meta: [{ name: 'm', value: bytes(1) }] })
        const restarted = await h.crash()
        expect(restarted.getKey('committed')).toBeDefined()
        expect(restarted.getKey('staged')).toBeUndefined()
        expect(restarted.getMeta('m')).toBeUndefined()
        await pending
      }))

    it('resolves after commit, so a reopened store sees the data', () =>
      withStore(async (h) => {
        if (h.reopen === undefined) return
        await h.store.write({ keys: [kw('k', bytes(4))] })
        await h.store.close()
        const again = await h.reopen()
        expect(again.getKey('k')?.state).toEqual(bytes(4))
      }))

    it('sets, reads and deletes meta entries', () =>
      withStore(async ({ store }) => {
        expect(store.getMeta('identity')).toBeUndefined()
        await store.write({ meta: [{ name: 'identity', value: bytes(1) }, { name: 'hlc', value: bytes(2) }] })
        expect(store.getMeta('identity')).toEqual(bytes(1))
        await store.write({ meta: [{ name: 'identity', value: bytes(3) }] })
        expect(store.getMeta('identity')).toEqual(bytes(3))
        const p = store.write({ meta: [{ name: 'identity', value: null }] })
        expect(store.getMeta('identity')).toBeUndefined()
        await p
        expect(store.getMeta('identity')).toBeUndefined()
        expect(store.getMeta('hlc')).toEqual(bytes(2))
      }))

    it('keeps the digest a writer gives with a whole state, and refuses one of the wrong size', () =>
      withStore(async (h) => {
        const given = sha256Prefix(bytes(42))
        await h.store.write({ keys: [{ ...kw('k', bytes(1, 2)), digest: given }] })
        expect(h.store.getKey('k')?.digest).toEqual(given)
        expect(h.store.getDigest('k')).toEqual(given)
        await expect(h.store.write({ keys: [{ ...kw('k', bytes(3)), digest: bytes(1, 2) }] })).rejects.toThrow(/digest must be 16 bytes/)
        expect(h.store.getKey('k')?.state).toEqual(bytes(1, 2))
      }))

    it('keeps a state in pages: reads it whole, writes only the pages listed, across reopen and crash', () =>
      withStore(async (h) => {
        const page = (...b: number[]) => ({ digest: sha256Prefix(Uint8Array.from(b)), bytes: Uint8Array.from(b) })
        const [p1, p2, p3] = [page(1, 1), page(2, 2, 2), page(3)]
        let store = h.store
        await store.write({ keys: [{ ...kw('set', bytes(7, 7), 'orset'), pages: [p1, p2] }, kw('plain', bytes(4))] })
        const first = store.getKey('set')
        expect(first?.state).toEqual(bytes(7, 7, 1, 1, 2, 2, 2))
        expect(first?.digest).toEqual(pagedDigest(bytes(7, 7), [p1.digest, p2.digest]))
        expect(store.getDigest('set')).toEqual(first?.digest)
        expect(store.getDigest('plain')).toEqual(sha256Prefix(bytes(4)))
        expect(store.getDigest('missing')).toBeUndefined()
        expect(first?.paged?.pages.map((p) => p.bytes)).toEqual([p1.bytes, p2.bytes])
        // A new version drops p2 and adds p3: staged reads see it at once, committed ones after.
        const written = store.write({ keys: [{ ...kw('set', bytes(8), 'orset', 2), pages: [p1, p3] }] })
        expect(store.getKey('set')?.state).toEqual(bytes(8, 1, 1, 3))
        expect(store.getDigest('set')).toEqual(pagedDigest(bytes(8), [p1.digest, p3.digest]))
        await written
        const expected = { state: bytes(8, 1, 1, 3), hlc: hlc(2), digest: pagedDigest(bytes(8), [p1.digest, p3.digest]) }
        expect(store.getKey('set')).toMatchObject(expected)
        expect(store.scan({ prefix: 'se' })).toMatchObject([expected])
        if (h.crash !== undefined) store = await h.crash()
        else if (h.reopen !== undefined) {
          await store.close()
          store = await h.reopen()
        }
        expect(store.getKey('set')).toMatchObject(expected)
        const entries = store.scanIndexEntries(undefined, 10)
        expect(entries.keys).toEqual(['plain', 'set'])
        expect(entries.records.subarray(40, 56)).toEqual(expected.digest)
        // Written whole again: a plain row, as if it had never had pages.
        await store.write({ keys: [kw('set', bytes(5), 'orset', 3)] })
        expect(store.getKey('set')).toEqual({ key: 'set', type: 'orset', state: bytes(5), hlc: hlc(3), digest: sha256Prefix(bytes(5)) })
        expect(store.countKeys()).toBe(2)
        // A page digest of the wrong size refuses the batch, and nothing of it is staged.
        await expect(store.write({ keys: [{ ...kw('set', bytes(6), 'orset', 4), pages: [{ digest: bytes(1), bytes: bytes(2) }] }] })).rejects.toThrow(InvalidStoreArgumentError)
        expect(store.getKey('set')?.state).toEqual(bytes(5))
      }))

    it('keeps data aside: whole versions, across reopen and crash, removed on request, names checked', () =>
      withStore(async (h) => {
        const { store } = h
        expect(await store.readAside('index')).toBeUndefined()
        store.writeAside('index', bytes(1, 2, 3))
        store.writeAside('index', bytes(4, 5))
        expect(await store.readAside('index')).toEqual(bytes(4, 5))
        expect(() => store.writeAside('../escape', bytes(1))).toThrow(InvalidStoreArgumentError)
        expect(() => store.writeAside('', bytes(1))).toThrow(InvalidStoreArgumentError)
        if (h.crash !== undefined) {
          const crashed = await h.crash()
          expect(await crashed.readAside('index')).toEqual(bytes(4, 5))
          crashed.removeAside('index')
          expect(await crashed.readAside('index')).toBeUndefined()
          crashed.removeAside('index')
          return
        }
        if (h.reopen !== undefined) {
          await store.close()
          const again = await h.reopen()
          expect(await again.readAside('index')).toEqual(bytes(4, 5))
          again.removeAside('index')
          expect(await again.readAside('index')).toBeUndefined()
        }
      }))

    it('keeps idempotency results until they expire and prunes expired ones', () =>
      withStore(async ({ store }) => {
        await store.write({
          idempotency: [
            { id: 'r1', result: bytes(1), expiresAt: 1_000 },
            { id: 'r2', result: bytes(2), expiresAt: 2_000 },
            { id: 'r3', result: bytes(3), expiresAt: 500 },
          ],
        })
        expect(store.getIdempotency('r1', 999)).toEqual(bytes(1))
        expect(store.getIdempotency('r1', 1_000)).toBeUndefined()
        expect(store.getIdempotency('missing', 0)).toBeUndefined()
        expect(await store.pruneIdempotency(1_000)).toBe(2)
        expect(store.getIdempotency('r1', 0)).toBeUndefined()
        expect(store.getIdempotency('r2', 1_999)).toEqual(bytes(2))
        expect(await store.pruneIdempotency(1_000)).toBe(0)
        // Staged entries are visible and a prune in the same turn counts them.
        void store.write({ idempotency: [{ id: 'r4', result: bytes(4), expiresAt: 1_500 }] })
        expect(store.getIdempotency('r4', 1_499)).toEqual(bytes(4))
        expect(await store.pruneIdempotency(1_500)).toBe(1)
        expect(store.getIdempotency('r2', 0)).toEqual(bytes(2))
      }))

    it('marks keys that show nothing, lists them by age, and purges those still unchanged', () =>
      withStore(async ({ store, reopen }) => {
        const tomb = (key: string, state: string, deletedAt: number): KeyWrite => ({ ...kw(key, text(state)), deletedAt })
        await store.write({ keys: [kw('live', text('live')), tomb('old', 't1', 100), tomb('mid', 't2', 200), tomb('new', 't3', 300), tomb('same', 't4', 200)] })
        expect(store.countKeys()).toBe(5)
        expect(store.countShownKeys()).toBe(1)
        // An index entry is optional (SqliteStore keeps one per committed row); when given, it is the key's.
        const withoutEntry = (d: StoredDigest | undefined) => {
          if (d?.indexEntry !== undefined) expect(d.indexEntry).toEqual(indexEntryOf(d.key, d.digest))
          const { indexEntry: _, ...rest } = d ?? { key: '', digest: bytes() }
          return rest
        }
        expect(withoutEntry(store.getDigestEntry('live'))).toEqual({ key: 'live', digest: sha256Prefix(text('live')) })
        expect(withoutEntry(store.getDigestEntry('old'))).toEqual({ key: 'old', digest: sha256Prefix(text('t1')), deleted: true })
        expect(store.getDigestEntry('missing')).toBeUndefined()
        expect(['live', 'mid', 'new', 'old', 'same'].map((key) => store.getDigestEntry(key)?.deleted === true)).toEqual([false, true, true, true, true])
        expect(store.scanIndexEntries(undefined, 10).keys).toEqual(['live'])
        expect(keysOf(store.scanDeleted(200, 10))).toEqual(['old', 'mid', 'same'])
        expect(keysOf(store.scanDeleted(200, 2))).toEqual(['old', 'mid'])
        const [, mid] = store.scanDeleted(200, 10)
        expect(mid).toEqual({ key: 'mid', digest: sha256Prefix(text('t2')), deletedAt: 200 })
        expect(keysOf(store.scanDeleted(200, 10, mid))).toEqual(['same'])
        // Written again in the same turn as the purge (it shows something now): kept.
        void store.write({ keys: [kw('mid', text('alive again'))] })
        const purged = await store.purge(
          [
            { key: 'old', digest: sha256Prefix(text('t1')) },
            { key: 'mid', digest: sha256Prefix(text('t2')) },
            { key: 'same', digest: sha256Prefix(text('another state')) },
            { key: 'live', digest: sha256Prefix(text('live')) },
            { key: 'missing', digest: sha256Prefix(text('x')) },
          ],
          [{ name: 'purged-through', value: bytes(2, 0, 0) }],
        )
        expect(purged).toBe(1)
        expect(store.getKey('old')).toBeUndefined()
        expect(store.getKey('mid')?.state).toEqual(text('alive again'))
        expect(store.getKey('same')).toBeDefined()
        expect(store.getKey('live')).toBeDefined()
        expect(store.getMeta('purged-through')).toEqual(bytes(2, 0, 0))
        expect(store.countKeys()).toBe(4)
        expect(store.countShownKeys()).toBe(2)
        expect(keysOf(store.scanDeleted(1000, 10))).toEqual(['same', 'new'])
        expect(keysOf(store.scanChanges({ limit: 10 }))).not.toContain('old')
        await expect(store.purge([{ key: 'k', digest: bytes(1) }])).rejects.toBeInstanceOf(InvalidStoreArgumentError)
        if (reopen !== undefined) {
          await store.close()
          const again = await reopen()
          expect(again.countKeys()).toBe(4)
          expect(again.countShownKeys()).toBe(2)
          expect(again.getKey('old')).toBeUndefined()
          expect(keysOf(again.scanDeleted(1000, 10))).toEqual(['same', 'new'])
          await again.close()
        }
      }))

    it('lists the index entries of committed keys that show something, in byte order, page by page', () =>
      withStore(async ({ store, reopen }) => {
        const writes = MIXED_KEYS.map((key, i) => ({ ...kw(key, text(`v${i}`)), ...(i % 4 === 3 ? { deletedAt: 7 } : {}) }))
        await store.write({ keys: [...writes, kw('nul\0inside', text('n'))] })
        // Staged, not committed: left out until its commit.
        void store.write({ keys: [kw('staged', text('s'))] })
        const shown = [...writes.filter((w) => w.deletedAt === undefined).map((w) => w.key), 'nul\0inside'].sort(utf8Order)
        const check = (s: Store, expected: string[]) => {
          const pages: string[][] = []
          let after: string | undefined
          for (;;) {
            const page = s.scanIndexEntries(after, 3)
            if (page.keys.length === 0) expect(page.last).toBeUndefined()
            expect(page.records.length).toBe(page.keys.length * 40)
            page.keys.forEach((key, j) => {
              const digest = s.getDigest(key)!
              expect(page.records.subarray(j * 40, j * 40 + 16)).toEqual(digest)
              expect(page.records.subarray(j * 40 + 16, j * 40 + 40)).toEqual(indexEntryOf(key, digest))
            })
            if (page.keys.length > 0) pages.push([...page.keys].sort(utf8Order))
            expect(page.last).toBe(pages.at(-1)?.at(-1))
            if (page.keys.length < 3) break
            after = page.last
          }
          // The first keys after `after`, each page after the one before.
          expect(pages.flat()).toEqual(expected)
          expect(pages.slice(0, -1).every((p) => p.length === 3)).toBe(true)
        }
        check(store, shown)
        await store.write({ keys: [] })
        check(store, [...shown, 'staged'].sort(utf8Order))
        // Written again: same position, the fingerprint of the new digest.
        await store.write({ keys: [kw('staged', text('changed')), kw('a', text('changed too'))] })
        check(store, [...shown, 'staged'].sort(utf8Order))
        expect(() => store.scanIndexEntries(undefined, 0)).toThrow(InvalidStoreArgumentError)
        if (reopen !== undefined) {
          await store.close()
          const again = await reopen()
          check(again, [...shown, 'staged'].sort(utf8Order))
          await again.close()
        }
      }))

    it('adds, lists and removes hints', () =>
      withStore(async ({ store }) => {
        const hint = (target: string, key: string, createdAt: number) => ({
          target,
          key,
          type: 'pncounter' as const,
          state: text(key),
          createdAt,
        })
        await store.write({ hints: { add: [hint('peerA', 'k1', 10), hint('peerB', 'k2', 11), hint('peerA', 'k3', 12)] } })
        const all = store.listHints()
        expect(all.map((h) => [h.target, h.key, h.createdAt])).toEqual([
          ['peerA', 'k1', 10],
          ['peerB', 'k2', 11],
          ['peerA', 'k3', 12],
        ])
        expect(all[0]).toMatchObject({ type: 'pncounter', state: text('k1') })
        const ids = all.map((h) => h.id)
        expect([...ids].sort((a, b) => a - b)).toEqual(ids)
        expect(new Set(ids).size).toBe(3)
        expect(store.listHints('peerA').map((h) => h.key)).toEqual(['k1', 'k3'])
        expect(store.listHints('peerA', 1).map((h) => h.key)).toEqual(['k1'])
        expect(store.listHints(undefined, 2).map((h) => h.key)).toEqual(['k1', 'k2'])
        expect(store.listHints('nobody')).toEqual([])

        // Staged removals and additions are visible at once, limits included.
        const p = store.write({ hints: { remove: [ids[0] as number], add: [hint('peerA', 'k4', 13)] } })
        expect(store.listHints('peerA').map((h) => h.key)).toEqual(['k3', 'k4'])
        expect(store.listHints('peerA', 1).map((h) => h.key)).toEqual(['k3'])
        const staged = store.listHints('peerA')[1]
        await p
        expect(store.listHints('peerA')[1]).toEqual(staged)
        expect((staged?.id ?? 0) > Math.max(...ids)).toBe(true)

        // Ids are not reused after the newest hint is removed.
        await store.write({ hints: { remove: [staged?.id ?? -1] } })
        await store.write({ hints: { add: [hint('peerC', 'k5', 14)] } })
        expect((store.listHints('peerC')[0]?.id ?? 0) > (staged?.id ?? 0)).toBe(true)
        // A hint added and removed in the same turn never shows up.
        void store.write({ hints: { add: [hint('peerD', 'k6', 15)] } })
        const transient = store.listHints('peerD')[0]?.id
        expect(transient).toBeDefined()
        await store.write({ hints: { remove: [transient as number] } })
        expect(store.listHints('peerD')).toEqual([])
      }))

    it('upserts and removes members, listed in peer id order', () =>
      withStore(async ({ store }) => {
        await store.write({ members: { upsert: [{ peerId: 'p2', record: bytes(2) }, { peerId: 'p1', record: bytes(1) }] } })
        expect(store.listMembers()).toEqual([
          { peerId: 'p1', record: bytes(1) },
          { peerId: 'p2', record: bytes(2) },
        ])
        const p = store.write({ members: { upsert: [{ peerId: 'p1', record: bytes(9) }, { peerId: 'p0', record: bytes(0) }], remove: ['p2'] } })
        const staged = store.listMembers()
        expect(staged).toEqual([
          { peerId: 'p0', record: bytes(0) },
          { peerId: 'p1', record: bytes(9) },
        ])
        await p
        expect(store.listMembers()).toEqual(staged)
      }))

    it('applies the parts of a batch and the batches of a turn in order', () =>
      withStore(async ({ store }) => {
        void store.write({ members: { upsert: [{ peerId: 'p', record: bytes(1) }], remove: ['p'] } })
        void store.write({ meta: [{ name: 'm', value: bytes(1) }] })
        await store.write({ meta: [{ name: 'm', value: bytes(2) }], members: { upsert: [{ peerId: 'q', record: bytes(1) }] } })
        expect(store.getMeta('m')).toEqual(bytes(2))
        expect(store.listMembers().map((m) => m.peerId)).toEqual(['q'])
      }))

    it('finds nothing under a name with a lone surrogate, not even the U+FFFD it resembles', () =>
      withStore(async ({ store }) => {
        await store.write({
          keys: [kw('\uFFFD')],
          meta: [{ name: '\uFFFD', value: bytes(1) }],
          idempotency: [{ id: '\uFFFD', result: bytes(1), expiresAt: 10 }],
          hints: { add: [{ target: '\uFFFD', key: 'k', type: 'lww', state: bytes(1), createdAt: 1 }] },
        })
        expect(store.getKey('\uD800')).toBeUndefined()
        expect(store.getMeta('\uD800')).toBeUndefined()
        expect(store.getIdempotency('\uD800', 0)).toBeUndefined()
        expect(store.listHints('\uD800')).toEqual([])
        expect(() => store.scan({ prefix: '\uD800' })).toThrow(InvalidStoreArgumentError)
        expect(store.getKey('\uFFFD')).toBeDefined()
      }))

    it('rejects an invalid batch without staging any part of it', () =>
      withStore(async ({ store }) => {
        const bad = store.write({ keys: [kw('fine'), kw('bad \uD800 key')] })
        expect(store.getKey('fine')).toBeUndefined()
        await expect(bad).rejects.toThrow(InvalidStoreArgumentError)
        await expect(store.write({ keys: [{ ...kw('t'), type: 'nope' as CrdtTypeName }] })).rejects.toThrow(/type/)
        await expect(store.write({ idempotency: [{ id: 'i', result: bytes(1), expiresAt: 1.5 }] })).rejects.toThrow(
          InvalidStoreArgumentError,
        )
        // A good write in the same turn as a bad one is unaffected.
        const good = store.write({ keys: [kw('good')] })
        void store.write({ keys: [kw('\uDFFF')] }).catch(() => {})
        await good
        expect(keysOf(store.scan({}))).toEqual(['good'])
      }))

    it('rejects every write of a failing commit and forgets them', async () => {
      let failNext = false
      const hooks: StoreHooks = {
        beforeCommit: () => {
          if (failNext) {
            failNext = false
            throw new Error('disk full (injected)')
          }
        },
      }
      await withStore(async ({ store }) => {
        await store.write({ keys: [kw('kept', bytes(1))] })
        failNext = true
        const a = store.write({ keys: [kw('lost'), kw('kept', bytes(2))], meta: [{ name: 'm', value: bytes(1) }] })
        const b = store.write({ hints: { add: [{ target: 't', key: 'lost', type: 'lww', state: bytes(1), createdAt: 1 }] } })
        const c = store.pruneIdempotency(0)
        expect(store.getKey('lost')).toBeDefined()
        for (const p of [a, b, c]) await expect(p).rejects.toThrow(CommitError)
        await expect(a).rejects.toMatchObject({ cause: { message: 'disk full (injected)' } })
        expect(store.getKey('lost')).toBeUndefined()
        expect(store.getKey('kept')?.state).toEqual(bytes(1))
        expect(store.getMeta('m')).toBeUndefined()
        expect(store.listHints()).toEqual([])
        expect(store.countKeys()).toBe(1)
        // The store keeps working.
        await store.write({ keys: [kw('after', bytes(3))] })
        expect(keysOf(store.scan({}))).toEqual(['after', 'kept'])
        expect(store.countKeys()).toBe(2)
      }, { hooks })
    })

    it('flushes staged writes on close', () =>
      withStore(async (h) => {
        const p = h.store.write({ keys: [kw('late', bytes(5))] })
        await h.store.close()
        await p
        if (h.reopen === undefined) return
        const again = await h.reopen()
        expect(again.getKey('late')?.state).toEqual(bytes(5))
      }))

    it('closes idempotently and refuses use after close', () =>
      withStore(async ({ store }) => {
        await store.close()
        await store.close()
        expect(() => store.getKey('k')).toThrow(StoreClosedError)
        expect(() => store.scan({})).toThrow(StoreClosedError)
        await expect(store.write({ keys: [kw('k')] })).rejects.toThrow(StoreClosedError)
        await expect(store.pruneIdempotency(0)).rejects.toThrow(StoreClosedError)
      }))

    it('keeps everything across close and reopen', () =>
      withStore(async (h) => {
        if (h.reopen === undefined) return
        const { store } = h
        await store.write({
          keys: MIXED_KEYS.map((k, i) => kw(k, text(`state ${i}`), i % 2 === 0 ? 'orset' : 'pncounter', i)),
          meta: [{ name: 'identity', value: bytes(1, 2) }],
          idempotency: [{ id: 'op', result: bytes(3), expiresAt: 10_000 }],
          hints: { add: [{ target: 'p', key: 'a', type: 'orset', state: bytes(4), createdAt: 7 }] },
          members: { upsert: [{ peerId: 'p', record: bytes(5) }] },
        })
        const snapshot = {
          keys: store.scan({}),
          count: store.countKeys(),
          meta: store.getMeta('identity'),
          idem: store.getIdempotency('op', 0),
          hints: store.listHints(),
          members: store.listMembers(),
        }
        await store.close()
        const again = await h.reopen()
        expect({
          keys: again.scan({}),
          count: again.countKeys(),
          meta: again.getMeta('identity'),
          idem: again.getIdempotency('op', 0),
          hints: again.listHints(),
          members: again.listMembers(),
        }).toEqual(snapshot)
        expect(snapshot.count).toBe(MIXED_KEYS.length)
        // New hints continue after the old ids.
        await again.write({ hints: { add: [{ target: 'p', key: 'b', type: 'orset', state: bytes(6), createdAt: 8 }] } })
        const [first, second] = again.listHints()
        expect((second?.id ?? 0) > (first?.id ?? 0)).toBe(true)
      }))
  })
}
