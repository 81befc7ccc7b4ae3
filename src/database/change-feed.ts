// The change feed (Database.watch): every key under a prefix that changed after a cursor,
// then every change as it commits, in commit order, at least once. It reads the store's
// keys in the order of their last change (Store.scanChanges: keys.hlc, this node's hybrid
// logical clock at each write or merge, strictly increasing and kept across restarts), so
// a consumer that resumes with the last cursor it saw misses nothing committed after it,
// and keeps nothing but the keys themselves: a consumer that is slow or away costs no
// memory or disk. What it does not promise: a key changed several times while the feed was
// catching up shows once, with its state as read then (which includes every one of those
// changes). Live changes wait in a buffer of at most MAX_BUFFERED; past that the feed drops
// them and reads the store again from its last cursor.
import { createHash } from 'node:crypto'
import type { CrdtTypeName } from '../../crdts/types.js'
import { decodeTimestamp } from '../../crdts/index.js'
import { CursorTooOldError, InvalidCursorError } from '../base/errors.js'
import type { ChangeOrigin, CommittedChange, KeyState } from '../replica/replica.js'
import type { Store } from '../store/store.js'

/** Keys read from the store per page while catching up. */
const PAGE = 256
/** Live changes a feed holds for a consumer that has not taken them yet. */
export const MAX_BUFFERED = 10_000
const CURSOR_VERSION = 1
const HLC_BYTES = 8
const TAG_BYTES = 4

/** One change as the feed gives it. */
export interface FeedEvent {
  readonly key: string
  /** Undefined once the key is deleted. */
  readonly type: CrdtTypeName | undefined
  /** The key's value after the change (built when first read); undefined once deleted. */
  readonly value: unknown
  /** A set's size (sets only). */
  readonly size?: number
  /** Set when nothing of the key is visible: it was deleted (or expired). */
  readonly deleted?: true
  /** Set with `deleted` when the key's time to live ran out (the node's expiry sweep removed it). */
  readonly expired?: true
  /** Where the change came from, for a change seen as it committed; absent for one read from the store (catching up, resuming). */
  readonly origin?: ChangeOrigin
  /** Pass to watch({ since }) to resume after this change. */
  readonly cursor: string
}

export interface FeedSource {
  readonly store: Store
  /** This database's identity: a cursor names the database that issued it. */
  readonly actor: string
  /** The latest change time (ms) of a tombstone purged on this node (0: none): older cursors cannot resume. */
  purgedThrough(): number
  /** Calls `fn` after every committed key change; returns `off()`. */
  onCommitted(fn: (change: CommittedChange) => void): () => void
  /** The key's state now (undefined when the store no longer holds it); `expired` when it is gone with its expiry passed. */
  read(key: string): (KeyState & { readonly expired?: true }) | undefined
  /** An event of `key` in state `state`. */
  event(key: string, state: Pick<KeyState, 'type' | 'state' | 'deleted'> | { readonly deleted: true; readonly expired?: true }, cursor: string, origin?: ChangeOrigin): FeedEvent
}

export class ChangeFeed implements AsyncIterableIterator<FeedEvent> {
  private readonly tag: Uint8Array
  private readonly off: () => void
  /** Encoded HLC of the last change given out (or of `since`). */
  private last: Uint8Array | undefined
  private catchingUp = true
  /** Keys read from the store, not given out yet. */
  private page: { key: string; hlc: Uint8Array }[] = []
  private buffer: CommittedChange[] = []
  /** Live changes were dropped: the store must be read again. */
  private dropped = false
  private wake: (() => void) | undefined
  private done = false

  constructor(
    private readonly source: FeedSource,
    private readonly prefix: string,
    since: string | undefined,
  ) {
    this.tag = cursorTag(source.actor)
    this.last = since === undefined ? undefined : this.decodeCursor(since)
    const through = this.purgedAfterCursor()
    if (through !== undefined) throw new CursorTooOldError(through)
    // From the start: what commits while the store is read waits here.
    this.off = source.onCommitted((change) => {
      if (this.done || !change.key.startsWith(prefix)) return
      if (this.buffer.length >= MAX_BUFFERED) {
        this.buffer = []
        this.dropped = true
      } else {
        this.buffer.push(change)
      }
      this.wake?.()
    })
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<FeedEvent> {
    return this
  }

  async next(): Promise<IteratorResult<FeedEvent>> {
    for (;;) {
      if (this.done) return { done: true, value: undefined }
      const stored = this.page.shift()
      if (stored !== undefined) return { done: false, value: this.give(stored.key, stored.hlc, this.source.read(stored.key)) }
      if (this.dropped) {
        this.dropped = false
        this.catchingUp = true
      }
      if (this.catchingUp) {
        // A purge since the last read may have taken deletes after the cursor with it.
        const through = this.purgedAfterCursor()
        if (through !== undefined) {
          await this.return()
          throw new CursorTooOldError(through)
        }
        this.page = this.source.store.scanChanges({ after: this.last, prefix: this.prefix, limit: PAGE })
        if (this.page.length === 0) this.catchingUp = false
        continue
      }
      const change = this.buffer.shift()
      if (change !== undefined) {
        // Already given out while catching up (the store had it, or a later change of the key).
        if (this.last !== undefined && Buffer.compare(change.cursor, this.last) <= 0) continue
        return { done: false, value: this.give(change.key, change.cursor, change, change.origin) }
      }
      await new Promise<void>((resolve) => (this.wake = resolve))
      this.wake = undefined
    }
  }

  /** Ends the feed: next() answers done from now on. */
  async return(): Promise<IteratorResult<FeedEvent>> {
    this.done = true
    this.off()
    this.buffer = []
    this.page = []
    this.wake?.()
    return { done: true, value: undefined }
  }

  private give(key: string, hlc: Uint8Array, state: (KeyState & { readonly expired?: true }) | CommittedChange | undefined, origin?: ChangeOrigin): FeedEvent {
    this.last = hlc
    const cursor = Buffer.concat([Uint8Array.of(CURSOR_VERSION), hlc, this.tag]).toString('base64url')
    const gone = state?.deleted === true || state === undefined
    const expiry = state !== undefined && 'expired' in state && state.expired === true ? { expired: true as const } : {}
    return this.source.event(key, gone ? { deleted: true, ...expiry } : state, cursor, origin)
  }

  /** How far this node purged, when a tombstone purged here may have changed after the feed's cursor (its delete would be missed). */
  private purgedAfterCursor(): number | undefined {
    if (this.last === undefined) return undefined
    const through = this.source.purgedThrough()
    return through > 0 && decodeTimestamp(this.last).wallMs <= through ? through : undefined
  }

  private decodeCursor(cursor: string): Uint8Array {
    if (typeof cursor !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(cursor)) throw new InvalidCursorError('not a base64url string of a cursor')
    const bytes = Buffer.from(cursor, 'base64url')
    if (bytes.length !== 1 + HLC_BYTES + TAG_BYTES || bytes[0] !== CURSOR_VERSION) throw new InvalidCursorError('it is truncated, or of another version')
    if (!bytes.subarray(1 + HLC_BYTES).equals(this.tag)) throw new InvalidCursorError('it was issued by another database')
    return new Uint8Array(bytes.subarray(1, 1 + HLC_BYTES))
  }
}

/** 4 bytes naming the database that issues a cursor (its actor id): a cursor of another database is refused. */
function cursorTag(actor: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(actor, 'utf8').digest().subarray(0, TAG_BYTES))
}
