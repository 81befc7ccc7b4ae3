// Group commit, shared by every Store implementation so they cannot drift apart: writes of
// one event-loop turn are staged in an overlay that reads consult first, and one scheduled
// callback commits the overlay in one transaction, then settles every promise of the turn.
// Implementations supply only the committed data (`CommittedLayer`).
import { CommitError, InvalidStoreArgumentError, StoreClosedError } from './errors.js'
import { compareKeys, inRange, keyRange, type KeyRange } from './key-order.js'
import { StagedChanges, validateBatch, validateText, type CommitCounts, type IdempotencyEntry, type PurgedKey } from './staged-changes.js'
import type { ChangesOptions, DeletedKey, IndexEntryPage, MetaWrite, ScanOptions, Store, StoredChange, StoredDigest, StoredHint, StoredKey, StoredMember, WriteBatch } from './store.js'

/** What is on disk (or its in-memory stand-in). Reads see committed data only. */
export interface CommittedLayer {
  /** The file path, or a label for in-memory data; used in error messages. */
  readonly label: string
  getKey(key: string): StoredKey | undefined
  getDigest(key: string): Uint8Array | undefined
  getDigestEntry(key: string): StoredDigest | undefined
  hasKey(key: string): boolean
  /** Keys in `range`, in byte order, at most `limit` (all when undefined). */
  scan(range: KeyRange, limit: number | undefined): StoredKey[]
  /** Store.scanIndexEntries. */
  scanIndexEntries(after: string | undefined, limit: number): IndexEntryPage
  /** Keys of `range` whose last change is after `after` (all when undefined), by that change, at most `limit`. */
  scanChanges(after: Uint8Array | undefined, range: KeyRange, limit: number): StoredChange[]
  /** Store.scanExpiring. */
  scanExpiring(nowMs: number, limit: number): string[]
  /** Store.scanDeleted. */
  scanDeleted(beforeMs: number, limit: number, after: DeletedKey | undefined): DeletedKey[]
  countKeys(): number
  /** Committed keys that show something. */
  countShownKeys(): number
  /** Store.releaseFreePages, between commits. */
  releaseFreePages(maxPages: number): number
  getMeta(name: string): Uint8Array | undefined
  getIdempotency(id: string): IdempotencyEntry | undefined
  listHints(target: string | undefined, limit: number | undefined): StoredHint[]
  listMembers(): StoredMember[]
  /** Highest hint id ever handed out and committed (0 if none). */
  maxHintId(): number
  /** Store.readAside / writeAside / removeAside. */
  readAside(name: string): Promise<Uint8Array | undefined>
  writeAside(name: string, bytes: Uint8Array): void
  removeAside(name: string): void
  /**
   * Applies every change atomically, or throws and applies nothing: the keys, then each of
   * `changes.purges` (a row is deleted only if its digest is the listed one and it shows
   * nothing), then the rest. Returns what each prune and purge deleted, in order.
   */
  commit(changes: StagedChanges): CommitCounts
  close(): void
}

/** Runs `fn` soon, after the current turn: setImmediate by default, the simulator's queue in tests. */
export type Schedule = (fn: () => void) => void

export const defaultSchedule: Schedule = (fn) => {
  setImmediate(fn)
}

export interface StoreStats {
  /** Transactions committed since open. */
  commits: number
  /** Transactions that failed (their writes were rejected and dropped). */
  failedCommits: number
  /** write(), pruneIdempotency() and purge() calls committed since open. */
  operationsCommitted: number
}

interface PendingCommit {
  readonly changes: StagedChanges
  readonly done: Promise<void>
  readonly resolve: () => void
  readonly reject: (err: unknown) => void
  counts: CommitCounts
}

const NO_COUNTS: CommitCounts = { pruned: [], purged: [] }

export class GroupCommitStore implements Store {
  private pending: PendingCommit | undefined
  private nextHintId: number
  private closing: Promise<void> | undefined
  private readonly counters: StoreStats = { commits: 0, failedCommits: 0, operationsCommitted: 0 }

  constructor(
    private readonly layer: CommittedLayer,
    private readonly schedule: Schedule = defaultSchedule,
  ) {
    this.nextHintId = layer.maxHintId() + 1
  }

  getKey(key: string): StoredKey | undefined {
    this.assertOpen()
    if (!storable(key)) return undefined
    return this.pending?.changes.keys.get(key) ?? this.layer.getKey(key)
  }

  getDigest(key: string): Uint8Array | undefined {
    this.assertOpen()
    if (!storable(key)) return undefined
    return this.pending?.changes.keys.get(key)?.digest ?? this.layer.getDigest(key)
  }

  getDigestEntry(key: string): StoredDigest | undefined {
    this.assertOpen()
    if (!storable(key)) return undefined
    const staged = this.pending?.changes.keys.get(key)
    if (staged === undefined) return this.layer.getDigestEntry(key)
    return { key, digest: staged.digest, ...(staged.deletedAt === undefined ? {} : { deleted: true as const }) }
  }

  scan(opts: ScanOptions): StoredKey[] {
    return this.scanWith(opts, (range, limit) => this.layer.scan(range, limit))
  }

  scanIndexEntries(after: string | undefined, limit: number): IndexEntryPage {
    this.assertOpen()
    if (after !== undefined) validateText(after, 'index entries after')
    if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidStoreArgumentError(`index entries limit must be a positive integer, got ${String(limit)}`)
    return this.layer.scanIndexEntries(after, limit)
  }

  scanChanges(opts: ChangesOptions): StoredChange[] {
    this.assertOpen()
    const { after, prefix, limit } = opts
    if (prefix !== undefined) validateText(prefix, 'changes prefix')
    if (after !== undefined && !(after instanceof Uint8Array && after.length === 8)) throw new InvalidStoreArgumentError('changes after must be an 8-byte encoded HLC')
    if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidStoreArgumentError(`changes limit must be a positive integer, got ${String(limit)}`)
    return this.layer.scanChanges(after, keyRange(prefix, undefined), limit)
  }

  scanExpiring(nowMs: number, limit: number): string[] {
    this.assertOpen()
    if (!Number.isFinite(nowMs)) throw new InvalidStoreArgumentError(`expiring nowMs must be a number of milliseconds, got ${String(nowMs)}`)
    if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidStoreArgumentError(`expiring limit must be a positive integer, got ${String(limit)}`)
    return this.layer.scanExpiring(nowMs, limit)
  }

  scanDeleted(beforeMs: number, limit: number, after?: DeletedKey): DeletedKey[] {
    this.assertOpen()
    if (!Number.isFinite(beforeMs)) throw new InvalidStoreArgumentError(`deleted beforeMs must be a number of milliseconds, got ${String(beforeMs)}`)
    if (!Number.isSafeInteger(limit) || limit < 1) throw new InvalidStoreArgumentError(`deleted limit must be a positive integer, got ${String(limit)}`)
    if (after !== undefined && !(Number.isSafeInteger(after.deletedAt) && typeof after.key === 'string')) throw new InvalidStoreArgumentError('deleted after must be a DeletedKey')
    return this.layer.scanDeleted(beforeMs, limit, after)
  }

  /** Committed rows from `read`, merged with this process's staged writes in key order. */
  private scanWith<T extends StoredDigest>(opts: ScanOptions, read: (range: KeyRange, limit: number | undefined) => T[]): (T | StoredKey)[] {
    this.assertOpen()
    const { prefix, after, limit } = opts
    if (prefix !== undefined) validateText(prefix, 'scan prefix')
    if (after !== undefined) validateText(after, 'scan after')
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new InvalidStoreArgumentError(`scan limit must be a non-negative integer, got ${String(limit)}`)
    }
    if (limit === 0) return []
    const range = keyRange(prefix, after)
    const committed = read(range, limit)
    const staged = this.pending?.changes.keys
    if (staged === undefined || staged.size === 0) return committed
    const extra: StoredKey[] = []
    for (const k of staged.values()) if (inRange(k.key, range)) extra.push(k)
    if (extra.length === 0) return committed
    extra.sort((a, b) => compareKeys(a.key, b.key))
    return mergeByKey<T | StoredKey>(committed, extra, limit ?? Infinity)
  }

  countKeys(): number {
    this.assertOpen()
    let n = this.layer.countKeys()
    for (const key of this.pending?.changes.keys.keys() ?? []) if (!this.layer.hasKey(key)) n++
    return n
  }

  countShownKeys(): number {
    this.assertOpen()
    let n = this.layer.countShownKeys()
    for (const staged of this.pending?.changes.keys.values() ?? []) {
      const committed = this.layer.getDigestEntry(staged.key)
      n += (staged.deletedAt === undefined ? 1 : 0) - (committed === undefined || committed.deleted === true ? 0 : 1)
    }
    return n
  }

  getMeta(name: string): Uint8Array | undefined {
    this.assertOpen()
    if (!storable(name)) return undefined
    const staged = this.pending?.changes.meta.get(name)
    if (staged !== undefined) return staged ?? undefined
    return this.layer.getMeta(name)
  }

  async readAside(name: string): Promise<Uint8Array | undefined> {
    this.assertOpen()
    return this.layer.readAside(asideName(name))
  }

  writeAside(name: string, bytes: Uint8Array): void {
    this.assertOpen()
    this.layer.writeAside(asideName(name), bytes)
  }

  removeAside(name: string): void {
    this.assertOpen()
    this.layer.removeAside(asideName(name))
  }

  getIdempotency(id: string, nowMs: number): Uint8Array | undefined {
    this.assertOpen()
    if (!storable(id)) return undefined
    const entry = this.pending?.changes.idempotency.get(id) ?? this.layer.getIdempotency(id)
    return entry !== undefined && nowMs < entry.expiresAt ? entry.result : undefined
  }

  listHints(target?: string, limit?: number): StoredHint[] {
    this.assertOpen()
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new InvalidStoreArgumentError(`listHints limit must be a non-negative integer, got ${String(limit)}`)
    }
    if (target !== undefined && !storable(target)) return []
    const changes = this.pending?.changes
    if (changes === undefined) return this.layer.listHints(target, limit)
    const removed = changes.hintsRemoved
    // Fetch enough committed rows to make up for the ones staged for removal.
    const fetch = limit === undefined ? undefined : limit + removed.size
    const out = this.layer.listHints(target, fetch).filter((h) => !removed.has(h.id))
    // Staged hints have higher ids than every committed one, so they go last.
    for (const h of changes.hintsAdded.values()) if (target === undefined || h.target === target) out.push(h)
    return limit === undefined ? out : out.slice(0, limit)
  }

  listMembers(): StoredMember[] {
    this.assertOpen()
    const staged = this.pending?.changes.members
    const committed = this.layer.listMembers()
    if (staged === undefined || staged.size === 0) return committed
    const byPeer = new Map(committed.map((m) => [m.peerId, m.record]))
    for (const [peerId, record] of staged) {
      if (record === null) byPeer.delete(peerId)
      else byPeer.set(peerId, record)
    }
    return [...byPeer]
      .map(([peerId, record]) => ({ peerId, record }))
      .sort((a, b) => compareKeys(a.peerId, b.peerId))
  }

  write(batch: WriteBatch): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(new StoreClosedError(this.layer.label))
    try {
      validateBatch(batch)
    } catch (err) {
      return Promise.reject(err)
    }
    const pending = this.pendingCommit()
    pending.changes.stage(batch, () => this.nextHintId++)
    return pending.done
  }

  pruneIdempotency(nowMs: number): Promise<number> {
    if (this.closing !== undefined) return Promise.reject(new StoreClosedError(this.layer.label))
    if (typeof nowMs !== 'number' || !Number.isFinite(nowMs)) {
      return Promise.reject(new InvalidStoreArgumentError(`pruneIdempotency expects a time in ms, got ${String(nowMs)}`))
    }
    const pending = this.pendingCommit()
    const index = pending.changes.stagePrune(nowMs)
    return pending.done.then(() => pending.counts.pruned[index] ?? 0)
  }

  releaseFreePages(maxPages: number): number {
    this.assertOpen()
    if (!Number.isSafeInteger(maxPages) || maxPages < 1) throw new InvalidStoreArgumentError(`releaseFreePages expects a positive number of pages, got ${String(maxPages)}`)
    return this.layer.releaseFreePages(maxPages)
  }

  purge(keys: readonly PurgedKey[], meta: readonly MetaWrite[] = []): Promise<number> {
    if (this.closing !== undefined) return Promise.reject(new StoreClosedError(this.layer.label))
    try {
      for (const k of keys) {
        validateText(k.key, 'purge key')
        if (!(k.digest instanceof Uint8Array) || k.digest.length !== 16) throw new InvalidStoreArgumentError('purge digest must be 16 bytes')
      }
      validateBatch({ meta: [...meta] })
    } catch (err) {
      return Promise.reject(err)
    }
    const pending = this.pendingCommit()
    const index = pending.changes.stagePurge(keys, meta)
    return pending.done.then(() => pending.counts.purged[index] ?? 0)
  }

  close(): Promise<void> {
    if (this.closing === undefined) {
      // A failed final commit is reported through the promises of the writes it held.
      if (this.pending !== undefined) this.commit(this.pending)
      this.layer.close()
      this.closing = Promise.resolve()
    }
    return this.closing
  }

  stats(): StoreStats {
    return { ...this.counters }
  }

  private pendingCommit(): PendingCommit {
    if (this.pending !== undefined) return this.pending
    let resolve!: () => void
    let reject!: (err: unknown) => void
    const done = new Promise<void>((res, rej) => {
      resolve = res
      reject = rej
    })
    const pending: PendingCommit = { changes: new StagedChanges(), done, resolve, reject, counts: NO_COUNTS }
    this.pending = pending
    this.schedule(() => {
      // close() may have committed it already.
      if (this.pending === pending) this.commit(pending)
    })
    return pending
  }

  private commit(pending: PendingCommit): void {
    // Detach first: on success the data is committed, on failure it must vanish from reads.
    this.pending = undefined
    try {
      pending.counts = this.layer.commit(pending.changes)
    } catch (err) {
      this.counters.failedCommits++
      pending.reject(new CommitError(this.layer.label, pending.changes.operations, err))
      return
    }
    this.counters.commits++
    this.counters.operationsCommitted += pending.changes.operations
    pending.resolve()
  }

  protected assertOpen(): void {
    if (this.closing !== undefined) throw new StoreClosedError(this.layer.label)
  }
}

/**
 * Nothing with a lone surrogate is ever stored (writes refuse it), so a lookup of one
 * finds nothing; asking SQLite would match the U+FFFD it converts the surrogate to.
 */
function storable(s: string): boolean {
  return typeof s === 'string' && s.isWellFormed()
}

/** Merges two key-sorted lists; on equal keys the staged entry wins. */
function mergeByKey<T extends StoredDigest>(committed: readonly T[], staged: readonly T[], limit: number): T[] {
  const out: T[] = []
  let i = 0
  let j = 0
  while (out.length < limit && (i < committed.length || j < staged.length)) {
    const c = committed[i]
    const s = staged[j]
    if (c === undefined) {
      out.push(s as T)
      j++
    } else if (s === undefined) {
      out.push(c)
      i++
    } else {
      const order = compareKeys(c.key, s.key)
      if (order < 0) {
        out.push(c)
        i++
      } else {
        out.push(s)
        j++
        if (order === 0) i++
      }
    }
  }
  return out
}

/** Aside names become file name suffixes: lower-case letters, digits and dashes only. */
function asideName(name: string): string {
  if (!/^[a-z0-9-]{1,64}$/.test(name)) throw new InvalidStoreArgumentError(`aside name must be 1-64 of [a-z0-9-], got ${JSON.stringify(name)}`)
  return name
}
