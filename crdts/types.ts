// The one small behaviour every CRDT in rumordb answers (riak_dt style). The engine only
// ever talks to states through this interface plus the type-specific mutators.

/** A JSON value as stored in OR-set elements and LWW registers. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }

/** Names of the replicated types; also the `type` column in storage and on the wire. */
export type CrdtTypeName = 'gcounter' | 'pncounter' | 'orset' | 'lww' | 'map'

export interface Crdt<S, V> {
  readonly name: CrdtTypeName
  /** One-byte tag written first by `encode`. */
  readonly tag: number
  empty(): S
  /** The join: pure, commutative, associative, idempotent. */
  merge(a: S, b: S): S
  value(s: S): V
  /** Canonical: equal states give equal bytes. Starts with [tag, version]. */
  encode(s: S): Uint8Array
  /** Strict: throws CrdtDecodeError (only) on anything but a well-formed encoding of this type. */
  decode(bytes: Uint8Array): S
  equals(a: S, b: S): boolean
}

/**
 * Read-your-writes support: a compact, canonical proof that a state includes a write.
 * `witness(delta)` is computed from the delta a mutator returned; `covers(s, w)` says
 * whether state `s` already includes that write (or a newer one, for registers).
 */
export interface Witnessing<S> {
  witness(delta: S): Uint8Array
  /** Throws CrdtDecodeError on a malformed witness. */
  covers(s: S, witness: Uint8Array): boolean
}
