// Change subscriptions by key prefix. Listeners run after the change committed; a listener
// that throws never breaks the write or the other listeners: its error goes to onError.
import type { CrdtTypeName } from '../../crdts/types.js'

export interface Change {
  readonly key: string
  /** Undefined when the change left nothing of the key (`deleted`). */
  readonly type: CrdtTypeName | undefined
  /** The key's value after the change, built when first read; undefined once deleted. */
  readonly value: unknown
  /** Set when nothing of the key is visible after the change: a delete here, or one merged from a peer. */
  readonly deleted?: true
  /** A set's size after the change (sets only). */
  readonly size?: number
  /** 'local' for writes through this database handle, 'remote' for states merged from peers. */
  readonly origin: 'local' | 'remote'
}

export type ChangeListener = (change: Change) => void

export class Subscriptions {
  private readonly listeners = new Set<{ prefix: string; fn: ChangeListener }>()

  constructor(private readonly onError: (err: unknown, change: Change) => void) {}

  add(prefix: string, fn: ChangeListener): () => void {
    if (typeof prefix !== 'string') throw new TypeError('subscribe(prefix, fn): prefix must be a string ("" for every key)')
    if (typeof fn !== 'function') throw new TypeError('subscribe(prefix, fn): fn must be a function')
    const entry = { prefix, fn }
    this.listeners.add(entry)
    return () => {
      this.listeners.delete(entry)
    }
  }

  get size(): number {
    return this.listeners.size
  }

  /** Whether a change of `key` would reach any listener: the caller builds the change only then. */
  wants(key: string): boolean {
    for (const { prefix } of this.listeners) if (key.startsWith(prefix)) return true
    return false
  }

  emit(change: Change): void {
    for (const { prefix, fn } of this.listeners) {
      if (!change.key.startsWith(prefix)) continue
      try {
        fn(change)
      } catch (err) {
        this.onError(err, change)
      }
    }
  }

  clear(): void {
    this.listeners.clear()
  }
}
