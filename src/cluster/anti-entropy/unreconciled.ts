// Keys anti-entropy could not reconcile with a peer: a state that does not merge (another
// type, bad bytes, a register from a clock too far ahead) or that is too large to send.
// Counting them is not enough (issue 10, item 5c): an operator must see which key, with
// whom and why, so they are kept here, reported by the sync status and logged once at warn.
//
// An entry is per (key, peer): one peer's bad clock says nothing about the key's other
// replicas. It is cleared when the cause is shown to be gone with that peer: a later merge
// of the key from it succeeds, or an exchange with it finds the key's digests equal
// (directly, or because every shared arc was equal). A peer that no longer shares ranges
// with this node takes its entries with it. At most `limit` entries are kept, the newest.
import type { Logger } from '../../base/logger.js'

export const MAX_UNRECONCILED_KEYS = 100

export interface UnreconciledKey {
  readonly key: string
  /** Why it could not be reconciled, e.g. the merge error's message. */
  readonly reason: string
  /** The peer whose state (or ours, for it) could not be reconciled. */
  readonly peer: string
  /** Clock time of the first failure since the entry was last cleared. */
  readonly since: number
}

export interface UnreconciledKeysInit {
  readonly now: () => number
  readonly logger: Logger
  readonly limit?: number
  /** Told the number of entries after every change (the engine's status shows it). */
  readonly onSize?: (size: number) => void
}

export class UnreconciledKeys {
  /** By `${peer}\n${key}`, oldest first (a Map keeps insertion order). */
  private readonly entries = new Map<string, UnreconciledKey>()
  private readonly limit: number

  constructor(private readonly init: UnreconciledKeysInit) {
    this.limit = init.limit ?? MAX_UNRECONCILED_KEYS
  }

  get size(): number {
    return this.entries.size
  }

  /** Records a failure; a new entry is logged at warn, a repeated one only at debug. */
  add(key: string, peer: string, reason: string): void {
    const id = entryId(key, peer)
    const known = this.entries.get(id)
    if (known !== undefined) {
      // Refreshed, so the entries that stay past the limit are the ones still failing.
      this.entries.delete(id)
      this.entries.set(id, { ...known, reason })
      this.init.logger.debug({ key, peer, reason }, 'anti-entropy: still cannot reconcile a key')
      return
    }
    this.entries.set(id, { key, peer, reason, since: this.init.now() })
    if (this.entries.size > this.limit) this.entries.delete(this.entries.keys().next().value as string)
    this.init.onSize?.(this.entries.size)
    this.init.logger.warn(
      { key, peer, reason },
      `anti-entropy cannot reconcile key ${JSON.stringify(key)} with ${peer}: ${reason}; the sync status reports it until a merge or an exchange settles it`,
    )
  }

  /** The key is settled with `peer` (merged, or found equal). */
  clear(key: string, peer: string): void {
    const id = entryId(key, peer)
    if (this.entries.size === 0 || !this.entries.delete(id)) return
    this.init.onSize?.(this.entries.size)
    this.init.logger.info({ key, peer }, `anti-entropy reconciled key ${JSON.stringify(key)} with ${peer}`)
  }

  /** Clears every entry with `peer` whose key `covered` says an exchange found equal. */
  clearWhere(peer: string, covered: (key: string) => boolean): void {
    if (this.entries.size === 0) return
    for (const entry of [...this.entries.values()]) {
      if (entry.peer === peer && covered(entry.key)) this.clear(entry.key, peer)
    }
  }

  /** Drops the entries of peers that no longer share ranges with this node. */
  retainPeers(peers: ReadonlySet<string> | ReadonlyMap<string, unknown>): void {
    if (this.entries.size === 0) return
    for (const [id, entry] of [...this.entries]) if (!peers.has(entry.peer)) this.entries.delete(id)
    this.init.onSize?.(this.entries.size)
  }

  /** Oldest first. */
  list(): UnreconciledKey[] {
    return [...this.entries.values()]
  }
}

function entryId(key: string, peer: string): string {
  // Peer ids hold no newline; keys may, so the key goes last.
  return `${peer}\n${key}`
}
