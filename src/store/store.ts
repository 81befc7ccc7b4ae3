// The engine reaches disk only through this interface. Reads are synchronous and see the
// writes this process has staged; writes are asynchronous and group-committed: every
// write issued in one event-loop turn lands in one transaction, and its promise resolves
// only after that transaction committed. States, clocks and records are opaque bytes:
// the store never decodes them.
import type { CrdtTypeName } from '../../crdts/types.js'

/** One key as stored. Returned byte arrays are shared: treat them as read-only. */
export interface StoredKey {
  key: string
  type: CrdtTypeName
  /** The encoded CRDT state. */
  state: Uint8Array
  /** Encoded HLC (8 bytes) of the key's last change. */
  hlc: Uint8Array
  /** `stateDigest(state)`: 16 bytes, computed by the store on write. */
  digest: Uint8Array
  /** A state the store keeps in pages (KeyWrite.pages): its prefix and pages; `state` is their concatenation. */
  paged?: PagedState
  /** KeyWrite.expiresAt, on keys this process staged (stored rows keep it for scanExpiring only). */
  expiresAt?: number
  /** KeyWrite.deletedAt, on keys this process staged (stored rows keep it for scanDeleted and StoredDigest.deleted). */
  deletedAt?: number
}

/** One page of a state kept in pages (an OR-set, crdts/orset-pages.ts). */
export interface StatePage {
  /** `pageDigest(bytes)`: 16 bytes. */
  readonly digest: Uint8Array
  readonly bytes: Uint8Array
}

export interface PagedState {
  readonly prefix: Uint8Array
  readonly pages: readonly StatePage[]
}

/** A key and its state digest: what an index of the store's contents reads. */
export interface StoredDigest {
  key: string
  /** `stateDigest(state)`, as in StoredKey. */
  digest: Uint8Array
  /** Set when the key shows nothing (KeyWrite.deletedAt): the anti-entropy index leaves it out. */
  deleted?: true
  /**
   * `indexEntryOf(key, digest)`, when the store keeps it (a committed row of SqliteStore):
   * an index reads it instead of hashing.
   */
  indexEntry?: Uint8Array
}

/** A page of Store.scanIndexEntries. */
export interface IndexEntryPage {
  /** The page's keys, each once (in key order, but rely only on `last`). */
  readonly keys: readonly string[]
  /** The greatest of `keys`: the next page starts after it. Undefined when the page is empty. */
  readonly last: string | undefined
  /**
   * Per key, in order, 40 bytes: its digest (DIGEST_BYTES), then its ring position
   * (8 bytes, big-endian) and fingerprint (16): `indexEntryOf(key, digest)`.
   */
  readonly records: Uint8Array
}

/** A key that shows nothing (a tombstone), as the purge reads it. */
export interface DeletedKey {
  key: string
  digest: Uint8Array
  /** KeyWrite.deletedAt: when it last changed, showing nothing. */
  deletedAt: number
}

/** An upsert of one key. The store copies the bytes, so the caller may reuse its buffers. */
export interface KeyWrite {
  key: string
  type: CrdtTypeName
  state: Uint8Array
  hlc: Uint8Array
  /**
   * A state in pages: `state` is then its prefix, and the whole state is `state` followed by
   * every page's bytes. The store keeps one row per page and writes only the pages it does
   * not hold yet, so a write that changed one page of a big set writes that page and the
   * list of page digests. Pages are not copied: the caller must never change one.
   */
  pages?: readonly StatePage[]
  /** `stateDigest` of the whole state, when the caller has it (a replica keeps it per set); else the store computes it. */
  digest?: Uint8Array
  /**
   * When the key must be looked at again to expire it (milliseconds of the replica's clock):
   * scanExpiring finds it from then on. Omitted: never (the key does not expire, or shows nothing).
   */
  expiresAt?: number
  /**
   * Set when the key shows nothing after this write (only tombstones, crdts/removal.ts): the
   * time of the write (milliseconds of the replica's clock). scanDeleted finds it, and
   * StoredDigest.deleted marks it. Omitted: the key shows something.
   */
  deletedAt?: number
}

export interface MetaWrite {
  name: string
  /** `null` deletes the entry. */
  value: Uint8Array | null
}

export interface IdempotencyWrite {
  id: string
  result: Uint8Array
  /** Milliseconds since the epoch; the entry is gone once `nowMs >= expiresAt`. */
  expiresAt: number
}

/** A delta kept for a replica that was unreachable (hinted handoff). */
export interface HintInput {
  /** Peer id of the intended owner. */
  target: string
  key: string
  type: CrdtTypeName
  state: Uint8Array
  /** Milliseconds since the epoch (from the engine's Clock). */
  createdAt: number
}

export interface StoredHint extends HintInput {
  /** Assigned by the store, strictly increasing, never reused while the hint exists. */
  id: number
}

export interface StoredMember {
  peerId: string
  /** Encoded member entry, opaque to the store. */
  record: Uint8Array
}

/**
 * One atomic unit of change. Within a batch the parts apply in the order listed here;
 * batches apply in the order `write()` was called.
 */
export interface WriteBatch {
  keys?: KeyWrite[]
  meta?: MetaWrite[]
  idempotency?: IdempotencyWrite[]
  hints?: { add?: HintInput[]; remove?: number[] }
  members?: { upsert?: StoredMember[]; remove?: string[] }
}

/** A key and the HLC of its last change, as the change feed reads them. */
export interface StoredChange {
  key: string
  hlc: Uint8Array
}

export interface ChangesOptions {
  /** Only keys whose last change is after this encoded HLC (8 bytes); every key when omitted. */
  after?: Uint8Array
  /** Only keys that start with this string. */
  prefix?: string
  /** At most this many (a positive integer). */
  limit: number
}

export interface ScanOptions {
  /** Only keys that start with this string. */
  prefix?: string
  /** Only keys strictly after this one (for paging: pass the last key of the previous page). */
  after?: string
  /** At most this many keys (a non-negative integer); all when omitted. */
  limit?: number
}

export interface Store {
  /** Staged (not yet committed) writes of this process are visible. */
  getKey(key: string): StoredKey | undefined
  /** Keys in byte order of their UTF-8 encoding (code point order), staged writes included. */
  scan(opts: ScanOptions): StoredKey[]
  /**
   * Committed keys in the order of their last change (StoredKey.hlc), after `after`: what
   * the change feed reads. Staged writes are left out: they show once committed.
   */
  scanChanges(opts: ChangesOptions): StoredChange[]
  /**
   * Committed keys whose KeyWrite.expiresAt is at or before `nowMs`, earliest first, at most
   * `limit`: what the expiry sweep reads (staged writes show once committed).
   */
  scanExpiring(nowMs: number, limit: number): string[]
  /**
   * Committed keys that show nothing (KeyWrite.deletedAt) and last changed at or before
   * `beforeMs`, by (deletedAt, key), after `after` when given, at most `limit`: what the
   * tombstone purge reads.
   */
  scanDeleted(beforeMs: number, limit: number, after?: DeletedKey): DeletedKey[]
  /**
   * Committed keys that show something (tombstones left out): the first `limit` (≥ 1) in
   * key order after `after` (from the first when undefined), each with its digest and its
   * index entry (base/key-hashes.ts indexEntryOf): what a first anti-entropy index build
   * reads, without hashing. Staged writes are left out: they show once committed.
   */
  scanIndexEntries(after: string | undefined, limit: number): IndexEntryPage
  countKeys(): number
  /** Keys that show something: countKeys less the tombstones (KeyWrite.deletedAt). */
  countShownKeys(): number
  /** The key's digest (StoredKey.digest) without reading its state; undefined when missing. */
  getDigest(key: string): Uint8Array | undefined
  /** The key's digest and whether it shows nothing, without reading its state; undefined when missing. */
  getDigestEntry(key: string): StoredDigest | undefined
  getMeta(name: string): Uint8Array | undefined
  /** `undefined` when missing or expired (`nowMs >= expiresAt`). */
  getIdempotency(id: string, nowMs: number): Uint8Array | undefined
  /** Hints in id order (oldest first), optionally only those for one target. */
  listHints(target?: string, limit?: number): StoredHint[]
  /** Members in peer id order. */
  listMembers(): StoredMember[]
  /**
   * Stages the batch at once (reads see it) and resolves after the transaction holding it
   * committed. If that commit fails the promise rejects and the batch is dropped: reads no
   * longer see it. An invalid batch rejects without staging anything.
   */
  write(batch: WriteBatch): Promise<void>
  /**
   * Gives up to `maxPages` free pages back to the file system (SQLite's incremental vacuum,
   * on files created with it; a no-op elsewhere), outside any write; returns how many went.
   * The purge calls it after deleting rows, so the file shrinks with them.
   */
  releaseFreePages(maxPages: number): number
  /** Deletes expired idempotency entries; resolves with how many were deleted. Group-committed too. */
  pruneIdempotency(nowMs: number): Promise<number>
  /**
   * Deletes each listed key's row (and pages) if it still has that digest and shows nothing,
   * with `meta` in the same transaction; resolves with how many rows were deleted.
   * Group-committed, applied after the writes of its transaction: a write staged meanwhile
   * changes the digest and keeps the key.
   */
  purge(keys: readonly { key: string; digest: Uint8Array }[], meta?: readonly MetaWrite[]): Promise<number>
  /**
   * Derived data kept beside the store, outside its transactions: a cache a later open may
   * use instead of recomputing it (the anti-entropy index). Written whole (a reader sees the
   * old bytes or the new), but never checked: callers tie its validity to a meta row.
   */
  readAside(name: string): Promise<Uint8Array | undefined>
  writeAside(name: string, bytes: Uint8Array): void
  removeAside(name: string): void
  /** Commits staged writes, then releases the data file. Idempotent. */
  close(): Promise<void>
}
