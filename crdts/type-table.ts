// The types a key content (key-content.ts) and a map's fields (ormap.ts) can hold, as the
// registry (registry.ts) installs them when it loads. Maps hold key contents, which hold
// every type, maps included: this table is how they reach the other types without an
// import cycle. Nothing here is used while modules load, only when called.
import type { CrdtTypeName } from './types.js'

/** What deleting a key leaves of each type's state (removal.ts has each type's rules). */
export interface Removal<S> {
  /** The tombstone of everything `s` holds. */
  tombstoneOf(s: S): S
  /** Whether `t` has the shape of a tombstone (strict decoding refuses any other). */
  isTombstone(t: S): boolean
  /** What of `s` the tombstone `t` did not remove: the stored form. */
  without(s: S, t: S): S
  /** Whether a stored form (`without`'s result) holds nothing. */
  isEmpty(s: S): boolean
  /** What readers see of a stored form `s` under `t` (counters count only what came after `t`). */
  visible(s: S, t: S): S
}

/** What a key content needs of a type, over unknown states. */
export interface ContentType {
  readonly tag: number
  merge(a: unknown, b: unknown): unknown
  equals(a: unknown, b: unknown): boolean
  encode(s: unknown): Uint8Array
  decode(b: Uint8Array): unknown
  empty(): unknown
  value(s: unknown): unknown
}

export interface TypeTable {
  /** Every type, in ascending tag order. */
  readonly names: readonly CrdtTypeName[]
  readonly types: { readonly [T in CrdtTypeName]: ContentType }
  readonly removals: { readonly [T in CrdtTypeName]: Removal<unknown> }
  /** The type of an encoded state, from its tag and version bytes (CrdtDecodeError otherwise). */
  typeOfEncoded(bytes: Uint8Array): CrdtTypeName
}

let table: TypeTable | undefined

/** Called once, by registry.ts. */
export function installTypeTable(t: TypeTable): void {
  table = t
}

export function typeTable(): TypeTable {
  if (table === undefined) throw new Error('rumordb/crdts: the type registry (crdts/registry.js) is not loaded; import from crdts/index.js')
  return table
}
