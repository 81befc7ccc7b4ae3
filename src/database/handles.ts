// Typed handles per key: the embedded API. They only build operations and call the
// database's two entry points, so the same handles later go through the quorum
// coordinator unchanged.
import { ORSet, type ORSetState } from '../../crdts/index.js'
import type { CrdtTypeName, JsonValue } from '../../crdts/types.js'
import type { Operation, ValueOf } from '../base/operations.js'
import { crdtOf } from '../replica/replica.js'
import { checkOptions, optionKinds, type OptionSpec } from '../base/options.js'
import { validateAmount, validateKey } from '../base/validation.js'

export interface WriteOptions {
  /** A retry with the same key (within its expiry) returns the first result and applies nothing. */
  readonly idempotencyKey?: string
  /** Replicas that must acknowledge a durable commit before the call returns (cluster mode). */
  readonly w?: number
  /** Replicas per key (cluster mode; default min(3, members)). */
  readonly n?: number
  /** Throw QuorumNotMetError when fewer than w replicas acknowledged (the write still stays). */
  readonly requireQuorum?: boolean
  /**
   * Time to live in milliseconds (1 to 2^40): the key expires that long after the write and
   * then reads as missing everywhere (README, "Expiry"). Without it a write keeps the key's
   * expiry; a write to a key that reads as missing starts one that does not expire.
   */
  readonly ttl?: number
}

/** What a delete accepts: WriteOptions without a time to live. */
export type DeleteOptions = Omit<WriteOptions, 'ttl'>

export interface ReadOptions {
  /** A token from an earlier write: the read returns a state that includes that write. */
  readonly token?: string
  /** Replicas to ask (cluster mode; default 2). */
  readonly r?: number
  /**
   * Throw QuorumNotMetError (HTTP 503 QUORUM_NOT_MET) instead of answering from fewer than
   * `r` replicas. Without it a read answers from the replicas it reached (`replicas` says how many).
   */
  readonly requireQuorum?: boolean
}

/** What WriteOptions accept at run time: any other name, or another type, is refused (src/base/options.ts). */
export const DELETE_OPTIONS: OptionSpec = {
  idempotencyKey: optionKinds.string,
  w: optionKinds.positiveInteger,
  n: optionKinds.positiveInteger,
  requireQuorum: optionKinds.boolean,
}

export const WRITE_OPTIONS: OptionSpec = { ...DELETE_OPTIONS, ttl: optionKinds.ttl }

export const READ_OPTIONS: OptionSpec = { token: optionKinds.string, r: optionKinds.positiveInteger, requireQuorum: optionKinds.boolean }

/** A page of a set's elements: those that sort after `after` (by canonical JSON), at most `limit`. */
export interface SetPageOptions extends ReadOptions {
  /** An element (need not be in the set): the page starts after it. */
  readonly after?: JsonValue
  readonly limit?: number
}

export const SET_PAGE_OPTIONS: OptionSpec = { ...READ_OPTIONS, after: optionKinds.defined, limit: optionKinds.nonNegativeInteger }

/** Elements read per page by `set(key).elements()` unless `pageSize` says otherwise. */
export const DEFAULT_ELEMENTS_PAGE = 1000

export interface WriteResult<V> {
  readonly value: V
  /** Opaque session token for read-your-writes. */
  readonly token: string
  /** Replicas that acknowledged a durable commit (1 with the network off). */
  readonly acks?: number
  /** Whether w replicas acknowledged. */
  readonly quorum?: boolean
  /** True when an idempotency key matched an earlier write: this is that write's result, nothing was applied. */
  readonly replayed?: boolean
  /** A set's size after the write (sets only). */
  readonly size?: number
}

/** What a delete answers (db.delete and every handle's delete). */
export interface DeleteResult {
  readonly key: string
  /** Whether the replica that applied the delete held anything visible of the key. */
  readonly deleted: boolean
  /** Replicas that acknowledged a durable commit of the delete (absent on a replay). */
  readonly acks?: number
  /** Whether w replicas acknowledged (absent on a replay). */
  readonly quorum?: boolean
  /** An idempotency key matched an earlier delete: this is its result, nothing was applied. */
  readonly replayed?: boolean
  /**
   * Pass it to a read (`{ token }`) to read your delete: the read waits until the replicas it
   * joins include the delete. Absent only when the key's tombstones are too big for a token
   * (a key written by hundreds of nodes).
   */
  readonly token?: string
}

export interface KeyAccess {
  write(key: string, op: Operation, options?: WriteOptions): Promise<WriteResult<unknown>>
  delete(key: string, options?: WriteOptions): Promise<DeleteResult>
  /** The key's decoded CRDT state (the type's empty state when the key was never written). */
  readState(key: string, type: CrdtTypeName, options?: ReadOptions): Promise<unknown>
}

/** How messages name each handle: `counter("visits").increment`. */
const HANDLE_NAMES: { readonly [T in CrdtTypeName]: string } = { pncounter: 'counter', gcounter: 'gcounter', orset: 'set', lww: 'register', map: 'map' }

export abstract class Handle<T extends CrdtTypeName> {
  constructor(
    protected readonly access: KeyAccess,
    readonly key: string,
    private readonly type: T,
  ) {
    validateKey(key)
  }

  protected async write(op: Operation, options?: WriteOptions, method: string = op.op): Promise<WriteResult<ValueOf[T]>> {
    checkOptions(options, WRITE_OPTIONS, () => this.where(method))
    return (await this.access.write(this.key, op, options)) as WriteResult<ValueOf[T]>
  }

  /**
   * Deletes the key (db.delete): what the replica applying it holds is removed, whatever
   * its type; the key reads as never written until written again.
   */
  async delete(options?: DeleteOptions): Promise<DeleteResult> {
    checkOptions(options, DELETE_OPTIONS, () => this.where('delete'))
    return this.access.delete(this.key, options)
  }

  /** The key's current value (0, [] or undefined when it was never written or deleted). */
  async value(options?: ReadOptions): Promise<ValueOf[T]> {
    checkOptions(options, READ_OPTIONS, () => this.where('value'))
    return crdtOf(this.type).value(await this.access.readState(this.key, this.type, options)) as ValueOf[T]
  }

  /** How messages name a method of this handle: `counter("visits").increment`. */
  where(method: string): string {
    return `${HANDLE_NAMES[this.type]}(${JSON.stringify(this.key.length > 40 ? `${this.key.slice(0, 40)}…` : this.key)}).${method}`
  }
}

/** A PN-counter: increments and decrements from any node add up. */
export class CounterHandle extends Handle<'pncounter'> {
  constructor(access: KeyAccess, key: string) {
    super(access, key, 'pncounter')
  }
  async increment(amount = 1, options?: WriteOptions): Promise<WriteResult<number>> {
    validateAmount(amount)
    return this.write({ type: 'pncounter', op: 'increment', amount }, options)
  }
  async decrement(amount = 1, options?: WriteOptions): Promise<WriteResult<number>> {
    validateAmount(amount)
    return this.write({ type: 'pncounter', op: 'decrement', amount }, options)
  }
}

/** A grow-only counter. */
export class GCounterHandle extends Handle<'gcounter'> {
  constructor(access: KeyAccess, key: string) {
    super(access, key, 'gcounter')
  }
  async increment(amount = 1, options?: WriteOptions): Promise<WriteResult<number>> {
    validateAmount(amount)
    return this.write({ type: 'gcounter', op: 'increment', amount }, options)
  }
}

/** An add-wins observed-remove set of JSON values. */
export class SetHandle extends Handle<'orset'> {
  constructor(access: KeyAccess, key: string) {
    super(access, key, 'orset')
  }
  async add(element: JsonValue, options?: WriteOptions): Promise<WriteResult<JsonValue[]>> {
    return this.write({ type: 'orset', op: 'add', element }, options)
  }
  async remove(element: JsonValue, options?: WriteOptions): Promise<WriteResult<JsonValue[]>> {
    return this.write({ type: 'orset', op: 'remove', element }, options)
  }
  /**
   * The elements, sorted by canonical JSON; with `after` or `limit`, one page of them (the
   * elements after `after`, at most `limit`), found without a pass over the others.
   */
  async values(options?: SetPageOptions): Promise<JsonValue[]> {
    checkOptions(options, SET_PAGE_OPTIONS, () => this.where('values'))
    const { after, limit, ...read } = options ?? {}
    const state = (await this.access.readState(this.key, 'orset', read)) as ORSetState
    if (after === undefined && limit === undefined) return ORSet.value(state)
    return ORSet.valuesAfter(state, after, limit ?? Number.MAX_SAFE_INTEGER)
  }

  /** How many elements the set holds. */
  async size(options?: ReadOptions): Promise<number> {
    checkOptions(options, READ_OPTIONS, () => this.where('size'))
    return ORSet.size((await this.access.readState(this.key, 'orset', options)) as ORSetState)
  }

  /**
   * Every element in canonical-JSON order, read a page at a time (`pageSize`, default
   * 1,000): each page is a new read, so an element added or removed meanwhile may or may
   * not appear, but none appears twice and every element present throughout appears.
   */
  async *elements(options?: ReadOptions & { readonly pageSize?: number }): AsyncGenerator<JsonValue, void, undefined> {
    checkOptions(options, { ...READ_OPTIONS, pageSize: optionKinds.positiveInteger }, () => this.where('elements'))
    const { pageSize = DEFAULT_ELEMENTS_PAGE, ...read } = options ?? {}
    let after: JsonValue | undefined
    for (;;) {
      const page = await this.values({ ...read, ...(after === undefined ? {} : { after }), limit: pageSize })
      yield* page
      if (page.length < pageSize) return
      after = page[page.length - 1]
    }
  }
  async has(element: JsonValue, options?: ReadOptions): Promise<boolean> {
    checkOptions(options, READ_OPTIONS, () => this.where('has'))
    return ORSet.has((await this.access.readState(this.key, 'orset', options)) as ORSetState, element)
  }
}

/** A last-writer-wins register on the hybrid logical clock. */
export class RegisterHandle extends Handle<'lww'> {
  constructor(access: KeyAccess, key: string) {
    super(access, key, 'lww')
  }
  async set(value: JsonValue, options?: WriteOptions): Promise<WriteResult<JsonValue | undefined>> {
    return this.write({ type: 'lww', op: 'set', value }, options)
  }
}
