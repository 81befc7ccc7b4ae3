// A Store without a file, for unit tests and the deterministic simulator. It shares group
// commit with SqliteStore (GroupCommitStore), takes the simulator's scheduler, and can
// model a crash: `crashCopy()` is what a restarted node would find on disk.
import { DatabaseLockedError } from './errors.js'
import { defaultSchedule, GroupCommitStore, type CommittedLayer, type Schedule } from './group-commit-store.js'
import { indexEntryOf } from '../base/key-hashes.js'
import { DIGEST_BYTES, INDEX_RECORD_BYTES } from './digest.js'
import { compareKeys, inRange, keyRange, type KeyRange } from './key-order.js'
import type { CommitCounts, IdempotencyEntry, StagedChanges } from './staged-changes.js'
import type { DeletedKey, IndexEntryPage, StoredChange, StoredDigest, StoredHint, StoredKey, StoredMember } from './store.js'
import type { StoreHooks } from './store-hooks.js'

/** The committed contents: the stand-in for a data file. Byte arrays in it are never mutated. */
export class MemoryData {
  readonly keys = new Map<string, StoredKey>()
  /** Keys in byte order, for scans. */
  readonly sortedKeys: string[] = []
  readonly meta = new Map<string, Uint8Array>()
  readonly idempotency = new Map<string, IdempotencyEntry>()
  /** In id order. */
  readonly hints = new Map<number, StoredHint>()
  maxHintId = 0
  readonly members = new Map<string, Uint8Array>()
  /** Store.writeAside's files. */
  readonly asides = new Map<string, Uint8Array>()
  /** Set while a store has it open, like the lock on a data file. */
  inUse = false

  constructor(readonly label: string = 'memory') {}

  /** A copy sharing only the immutable byte arrays. */
  clone(): MemoryData {
    const c = new MemoryData(this.label)
    for (const [k, v] of this.keys) c.keys.set(k, v)
    // A loop: a spread passes every key as an argument, past the stack at ~10^5 keys.
    for (const k of this.sortedKeys) c.sortedKeys.push(k)
    for (const [k, v] of this.meta) c.meta.set(k, v)
    for (const [k, v] of this.idempotency) c.idempotency.set(k, v)
    for (const [k, v] of this.hints) c.hints.set(k, v)
    c.maxHintId = this.maxHintId
    for (const [k, v] of this.members) c.members.set(k, v)
    for (const [k, v] of this.asides) c.asides.set(k, v)
    return c
  }
}

export interface InMemoryStoreOptions {
  /** Committed data to open; a new empty one by default. */
  data?: MemoryData
  /** Runs the group commit; setImmediate by default, the simulator's event queue in simulations. */
  schedule?: Schedule
  hooks?: StoreHooks
}

export class InMemoryStore extends GroupCommitStore {
  readonly data: MemoryData
  private readonly options: InMemoryStoreOptions

  /** Throws DatabaseLockedError if another open store holds `data`. */
  constructor(options: InMemoryStoreOptions = {}) {
    const data = options.data ?? new MemoryData()
    if (data.inUse) throw new DatabaseLockedError(data.label)
    data.inUse = true
    super(new MemoryTables(data, options.hooks ?? {}), options.schedule ?? defaultSchedule)
    this.data = data
    this.options = options
  }

  /**
   * A new store holding only what was committed so far, as a node restarted after kill -9
   * would find it. Staged writes are not in it. This store is left as it was.
   */
  crashCopy(options: Omit<InMemoryStoreOptions, 'data'> = {}): InMemoryStore {
    return new InMemoryStore({ ...this.options, ...options, data: this.data.clone() })
  }
}

class MemoryTables implements CommittedLayer {
  readonly label: string

  constructor(
    private readonly data: MemoryData,
    private readonly hooks: StoreHooks,
  ) {
    this.label = data.label
  }

  getKey(key: string): StoredKey | undefined {
    const k = this.data.keys.get(key)
    return k === undefined ? undefined : copyKey(k)
  }

  getDigest(key: string): Uint8Array | undefined {
    const k = this.data.keys.get(key)
    return k === undefined ? undefined : new Uint8Array(k.digest)
  }

  getDigestEntry(key: string): StoredDigest | undefined {
    const k = this.data.keys.get(key)
    return k === undefined ? undefined : digestEntry(k)
  }

  hasKey(key: string): boolean {
    return this.data.keys.has(key)
  }

  async readAside(name: string): Promise<Uint8Array | undefined> {
    return this.data.asides.get(name)
  }

  writeAside(name: string, bytes: Uint8Array): void {
    this.data.asides.set(name, new Uint8Array(bytes))
  }

  removeAside(name: string): void {
    this.data.asides.delete(name)
  }

  scanChanges(after: Uint8Array | undefined, range: KeyRange, limit: number): StoredChange[] {
    const out: StoredChange[] = []
    for (const k of this.data.keys.values()) {
      if ((after === undefined || Buffer.compare(k.hlc, after) > 0) && inRange(k.key, range)) out.push({ key: k.key, hlc: new Uint8Array(k.hlc) })
    }
    return out.sort((a, b) => Buffer.compare(a.hlc, b.hlc)).slice(0, limit)
  }

  scanExpiring(nowMs: number, limit: number): string[] {
    const due: StoredKey[] = []
    for (const k of this.data.keys.values()) if (k.expiresAt !== undefined && k.expiresAt <= nowMs) due.push(k)
    return due.sort((a, b) => (a.expiresAt as number) - (b.expiresAt as number)).slice(0, limit).map((k) => k.key)
  }

  scanDeleted(beforeMs: number, limit: number, after: DeletedKey | undefined): DeletedKey[] {
    const due: DeletedKey[] = []
    const later = (k: StoredKey, at: number) => after === undefined || at > after.deletedAt || (at === after.deletedAt && compareKeys(k.key, after.key) > 0)
    for (const k of this.data.keys.values()) if (k.deletedAt !== undefined && k.deletedAt <= beforeMs && later(k, k.deletedAt)) due.push({ key: k.key, digest: new Uint8Array(k.digest), deletedAt: k.deletedAt })
    return due.sort((a, b) => a.deletedAt - b.deletedAt || compareKeys(a.key, b.key)).slice(0, limit)
  }

  scan(range: KeyRange, limit: number | undefined): StoredKey[] {
    return this.keysIn(range, limit).map(copyKey)
  }

  scanIndexEntries(after: string | undefined, limit: number): IndexEntryPage {
    // Computed on the fly: a file keeps them per row, but this store is rebuilt per test.
    const shown = this.keysIn(keyRange(undefined, after), limit, (k) => k.deletedAt === undefined)
    const records = new Uint8Array(shown.length * INDEX_RECORD_BYTES)
    shown.forEach((k, i) => {
      records.set(k.digest, i * INDEX_RECORD_BYTES)
      records.set(indexEntryOf(k.key, k.digest), i * INDEX_RECORD_BYTES + DIGEST_BYTES)
    })
    return { keys: shown.map((k) => k.key), records, last: shown.at(-1)?.key }
  }

  /** The stored keys of `range` in key order (those `include` accepts, when given), at most `limit`, not copied. */
  private keysIn(range: KeyRange, limit: number | undefined, include?: (k: StoredKey) => boolean): StoredKey[] {
    const sorted = this.data.sortedKeys
    const out: StoredKey[] = []
    for (let i = lowerIndex(sorted, range.lower); i < sorted.length && out.length < (limit ?? Infinity); i++) {
      const key = sorted[i] as string
      if (!inRange(key, range)) {
        if (range.lowerExclusive && key === range.lower) continue
        break
      }
      const k = this.data.keys.get(key) as StoredKey
      if (include === undefined || include(k)) out.push(k)
    }
    return out
  }

  countKeys(): number {
    return this.data.keys.size
  }

  releaseFreePages(): number {
    return 0
  }

  countShownKeys(): number {
    let n = 0
    for (const k of this.data.keys.values()) if (k.deletedAt === undefined) n++
    return n
  }

  getMeta(name: string): Uint8Array | undefined {
    const v = this.data.meta.get(name)
    return v === undefined ? undefined : new Uint8Array(v)
  }

  getIdempotency(id: string): IdempotencyEntry | undefined {
    const e = this.data.idempotency.get(id)
    return e === undefined ? undefined : { result: new Uint8Array(e.result), expiresAt: e.expiresAt }
  }

  listHints(target: string | undefined, limit: number | undefined): StoredHint[] {
    const out: StoredHint[] = []
    for (const h of this.data.hints.values()) {
      if (out.length >= (limit ?? Infinity)) break
      if (target === undefined || h.target === target) out.push({ ...h, state: new Uint8Array(h.state) })
    }
    return out
  }

  listMembers(): StoredMember[] {
    return [...this.data.members]
      .map(([peerId, record]) => ({ peerId, record: new Uint8Array(record) }))
      .sort((a, b) => compareKeys(a.peerId, b.peerId))
  }

  maxHintId(): number {
    return this.data.maxHintId
  }

  commit(changes: StagedChanges): CommitCounts {
    // Nothing below can throw, so running the hook first keeps the commit all-or-nothing.
    this.hooks.beforeCommit?.()
    const d = this.data
    for (const k of changes.keys.values()) {
      if (!d.keys.has(k.key)) d.sortedKeys.splice(lowerIndex(d.sortedKeys, k.key), 0, k.key)
      d.keys.set(k.key, k)
    }
    const purged = changes.purges.map((keys) => {
      let n = 0
      for (const { key, digest } of keys) {
        const held = d.keys.get(key)
        if (held === undefined || held.deletedAt === undefined || !equalBytes(held.digest, digest)) continue
        d.keys.delete(key)
        d.sortedKeys.splice(lowerIndex(d.sortedKeys, key), 1)
        n++
      }
      return n
    })
    for (const [name, value] of changes.meta) {
      if (value === null) d.meta.delete(name)
      else d.meta.set(name, value)
    }
    for (const [id, e] of changes.idempotency) d.idempotency.set(id, e)
    for (const h of changes.hintsAdded.values()) {
      d.hints.set(h.id, h)
      d.maxHintId = Math.max(d.maxHintId, h.id)
    }
    for (const id of changes.hintsRemoved) d.hints.delete(id)
    for (const [peerId, record] of changes.members) {
      if (record === null) d.members.delete(peerId)
      else d.members.set(peerId, record)
    }
    const pruned = changes.prunes.map((nowMs) => {
      let n = 0
      for (const [id, e] of d.idempotency) {
        if (e.expiresAt <= nowMs) {
          d.idempotency.delete(id)
          n++
        }
      }
      return n
    })
    return { pruned, purged }
  }

  close(): void {
    this.data.inUse = false
  }
}

/** Index of the first key >= `key` in a byte-ordered array. */
function lowerIndex(sorted: readonly string[], key: string): number {
  let lo = 0
  let hi = sorted.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (compareKeys(sorted[mid] as string, key) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

function digestEntry(k: StoredKey): StoredDigest {
  return { key: k.key, digest: new Uint8Array(k.digest), ...(k.deletedAt === undefined ? {} : { deleted: true as const }) }
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

function copyKey(k: StoredKey): StoredKey {
  return { ...k, state: new Uint8Array(k.state), hlc: new Uint8Array(k.hlc), digest: new Uint8Array(k.digest) }
}
