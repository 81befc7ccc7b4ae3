// What one key holds, as a join-semilattice over every type: normally a single CRDT state
// (encoded exactly as that type encodes it), but two sides of a partition may each create
// the key with another type, and a delete removes what it saw. Then the key holds one entry
// per type, each a state and, once something of that type was removed, a tombstone
// (crdts/removal.ts: small, the same for every delete of the same observation). A type's
// state keeps only what its tombstone does not cover, so a write the remover had not seen
// survives and shows; a type whose state is empty under its tombstone is invisible, and a
// key with no visible type reads as missing. Deleting a key removes every type; resolving
// a type conflict removes every type but one.
//
// Merging is per type, state with state and tombstone with tombstone, then the state
// without its tombstone; it is commutative, associative and idempotent because each type's
// merge is and `without` commutes with joins (removal.ts). A content of one type without a
// tombstone encodes as that type's own encoding, so keys never deleted or in conflict keep
// their bytes; anything else encodes as
//   [TAG 0x10][version 2][count][(type tag, flags: 1 = has tombstone, state, tombstone?)…]
// with entries in type-tag order, each state a length-prefixed encoding of its own type.
// Version 1 (before deletes) kept a whole state as tombstone; it still decodes, into the
// tombstone of that state.
import {
  createDecoder,
  createEncoder,
  expectEnd,
  FORMAT_VERSION,
  readBytes,
  readUint8,
  readVarUint,
  remaining,
  toUint8Array,
  writeBytes,
  writeUint8,
  writeVarUint,
} from './codec.js'
import { CrdtDecodeError } from './errors.js'
import { typeTable, type ContentType } from './type-table.js'
import type { CrdtTypeName } from './types.js'

export const KEY_CONTENT_TAG = 0x10
/** Version 2: tombstones in removal.ts's form and states without what they cover. */
const CONTENT_VERSION = 2
const CONTENT_VERSION_WHOLE_TOMBSTONES = 1

/** One type's part of a key. */
export interface ContentEntry {
  readonly type: CrdtTypeName
  readonly state: unknown
  /** What a resolution removed (the state it had observed); absent when never removed. */
  readonly tombstone?: unknown
}

/** Entries in type-tag order, at least one. */
export type KeyContent = readonly ContentEntry[]

const typeOf = (name: CrdtTypeName): ContentType => typeTable().types[name]
const removalOf = (name: CrdtTypeName) => typeTable().removals[name]
const typeOfEncoded = (bytes: Uint8Array): CrdtTypeName => typeTable().typeOfEncoded(bytes)
// The types come from the registry's table (type-table.ts), read when called: maps
// (ormap.ts) hold key contents, so this module cannot import the registry.
let tags: Map<number, CrdtTypeName> | undefined
const ORDER_OF = (): readonly CrdtTypeName[] => typeTable().names
const typeByTag = (tag: number): CrdtTypeName | undefined => (tags ??= new Map(ORDER_OF().map((name) => [typeOf(name).tag, name]))).get(tag)

/** Whether the bytes are a multi-type content rather than one type's own encoding. */
export function isMultiTypeEncoding(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === KEY_CONTENT_TAG
}

/** The content of a single state. */
export function singleContent(type: CrdtTypeName, state: unknown): KeyContent {
  return [{ type, state }]
}

/** Any key's bytes (one type's encoding, or a multi-type content) as a content. Strict. */
export function decodeContent(bytes: Uint8Array): KeyContent {
  if (!isMultiTypeEncoding(bytes)) {
    const type = typeOfEncoded(bytes)
    return singleContent(type, typeOf(type).decode(bytes))
  }
  const dec = createDecoder(bytes)
  if (readUint8(dec) !== KEY_CONTENT_TAG) throw new CrdtDecodeError('not a key content')
  const version = readUint8(dec)
  if (version !== CONTENT_VERSION && version !== CONTENT_VERSION_WHOLE_TOMBSTONES) throw new CrdtDecodeError(`unsupported key content format version ${version}`)
  const count = readVarUint(dec)
  if (count < 1 || count > ORDER_OF().length) throw new CrdtDecodeError(`key content with ${count} types`)
  const entries: ContentEntry[] = []
  let lastTag = -1
  for (let i = 0; i < count; i++) {
    const tag = readUint8(dec)
    const type = typeByTag(tag)
    if (type === undefined) throw new CrdtDecodeError(`key content names unknown type tag ${tag}`)
    if (tag <= lastTag) throw new CrdtDecodeError('key content types out of order or repeated')
    lastTag = tag
    const flags = readUint8(dec)
    if (flags > 1) throw new CrdtDecodeError(`key content flags ${flags}`)
    const state = decodeAs(type, readBytes(dec, remaining(dec)))
    if (flags === 0) {
      entries.push({ type, state })
      continue
    }
    const tombstone = decodeAs(type, readBytes(dec, remaining(dec)))
    if (version === CONTENT_VERSION_WHOLE_TOMBSTONES) {
      entries.push(removedEntry(type, state, removalOf(type).tombstoneOf(tombstone)))
      continue
    }
    const removal = removalOf(type)
    if (!removal.isTombstone(tombstone)) throw new CrdtDecodeError(`key content: the ${type} tombstone holds more than a tombstone does`)
    if (!typeOf(type).equals(removal.without(state, tombstone), state)) throw new CrdtDecodeError(`key content: the ${type} state holds what its tombstone removed`)
    entries.push({ type, state, tombstone })
  }
  expectEnd(dec)
  if (entries.length === 1 && entries[0]?.tombstone === undefined) throw new CrdtDecodeError('a single type without tombstone must use its own encoding')
  return entries
}

/** An entry whose state keeps only what `tombstone` did not remove. */
function removedEntry(type: CrdtTypeName, state: unknown, tombstone: unknown): ContentEntry {
  return { type, state: removalOf(type).without(state, tombstone), tombstone }
}

function decodeAs(type: CrdtTypeName, bytes: Uint8Array): unknown {
  if (isMultiTypeEncoding(bytes) || typeOfEncoded(bytes) !== type) throw new CrdtDecodeError(`key content entry is not a ${type}`)
  return typeOf(type).decode(bytes)
}

/** Canonical: equal contents give equal bytes. */
export function encodeContent(content: KeyContent): Uint8Array {
  const only = content[0]
  if (content.length === 1 && only !== undefined && only.tombstone === undefined) return typeOf(only.type).encode(only.state)
  const enc = createEncoder()
  writeUint8(enc, KEY_CONTENT_TAG)
  writeUint8(enc, CONTENT_VERSION)
  writeVarUint(enc, content.length)
  for (const entry of content) {
    const t = typeOf(entry.type)
    writeUint8(enc, t.tag)
    writeUint8(enc, entry.tombstone === undefined ? 0 : 1)
    writeBytes(enc, t.encode(entry.state))
    if (entry.tombstone !== undefined) writeBytes(enc, t.encode(entry.tombstone))
  }
  return toUint8Array(enc)
}

/** The join: per type, states merged with states and tombstones with tombstones. */
export function joinContent(a: KeyContent, b: KeyContent): KeyContent {
  const out: ContentEntry[] = []
  for (const type of ORDER_OF()) {
    const x = a.find((e) => e.type === type)
    const y = b.find((e) => e.type === type)
    if (x === undefined && y === undefined) continue
    if (x === undefined || y === undefined) {
      out.push((x ?? y) as ContentEntry)
      continue
    }
    const t = typeOf(type)
    const tombstone =
      x.tombstone === undefined ? y.tombstone : y.tombstone === undefined ? x.tombstone : t.merge(x.tombstone, y.tombstone)
    const state = t.merge(x.state, y.state)
    out.push(tombstone === undefined ? { type, state } : removedEntry(type, state, tombstone))
  }
  return out
}

export function contentEquals(a: KeyContent, b: KeyContent): boolean {
  if (a.length !== b.length) return false
  return a.every((x, i) => {
    const y = b[i] as ContentEntry
    if (x.type !== y.type || (x.tombstone === undefined) !== (y.tombstone === undefined)) return false
    const t = typeOf(x.type)
    return t.equals(x.state, y.state) && (x.tombstone === undefined || t.equals(x.tombstone, y.tombstone))
  })
}

/** Whether the entry holds a write its tombstone has not seen. */
function isVisible(entry: ContentEntry): boolean {
  return entry.tombstone === undefined || !removalOf(entry.type).isEmpty(entry.state)
}

/**
 * The entries a reader sees, in type-tag order: one normally, several in a conflict, none
 * once the key was deleted. Each with the state a reader sees (counters count only what
 * came after their tombstone); a write must start from entryOf's state instead.
 */
export function visibleEntries(content: KeyContent): ContentEntry[] {
  const out: ContentEntry[] = []
  for (const entry of content) {
    if (!isVisible(entry)) continue
    out.push(entry.tombstone === undefined ? entry : { type: entry.type, state: removalOf(entry.type).visible(entry.state, entry.tombstone), tombstone: entry.tombstone })
  }
  return out
}

/** The entry of `type`, visible or not, as stored (a write joins into its state). */
export function entryOf(content: KeyContent, type: CrdtTypeName): ContentEntry | undefined {
  return content.find((e) => e.type === type)
}

/**
 * Everything the entry of `type` has held, removed or not: what a session token's write is
 * looked for in (a write that was deleted since was still seen). The type's empty state when
 * the key never held the type.
 */
export function everSeen(content: KeyContent | undefined, type: CrdtTypeName): unknown {
  const entry = content === undefined ? undefined : entryOf(content, type)
  if (entry === undefined) return typeOf(type).empty()
  return entry.tombstone === undefined ? entry.state : typeOf(type).merge(entry.state, entry.tombstone)
}

/** `entry` with everything it holds removed (its tombstone joined with that of its state). */
function removeAll(entry: ContentEntry): ContentEntry {
  const removal = removalOf(entry.type)
  if (entry.tombstone !== undefined && removal.isEmpty(entry.state)) return entry
  const seen = removal.tombstoneOf(entry.state)
  const tombstone = entry.tombstone === undefined ? seen : typeOf(entry.type).merge(entry.tombstone, seen)
  return removedEntry(entry.type, entry.state, tombstone)
}

/**
 * Keeps `keep` and removes every other type as observed in `content` (observed-remove: a
 * write of a removed type that the resolver had not seen makes it visible again). Throws
 * RangeError when `keep` is not a visible type of the content.
 */
export function resolveContent(content: KeyContent, keep: CrdtTypeName): KeyContent {
  if (!visibleEntries(content).some((e) => e.type === keep)) throw new RangeError(`cannot keep ${keep}: the key holds no visible ${keep}`)
  return content.map((e) => (e.type === keep ? e : removeAll(e)))
}

/** The key with everything in `content` removed: every type invisible until written again. */
export function deleteContent(content: KeyContent): KeyContent {
  return content.map(removeAll)
}

/**
 * What a delete of `content` sends to other replicas: per type, only the tombstone (and
 * the state that is left under it, empty but for an OR-set's causal context).
 */
export function deletionDelta(content: KeyContent): KeyContent {
  return deleteContent(content).map((e) => removedEntry(e.type, typeOf(e.type).empty(), e.tombstone))
}

/** Replaces (joins into) the state of `type`, keeping the other entries. */
export function withState(content: KeyContent, type: CrdtTypeName, state: unknown): KeyContent {
  return joinContent(content, singleContent(type, state))
}

/** Re-exported for callers that only see this module. */
export { FORMAT_VERSION }
