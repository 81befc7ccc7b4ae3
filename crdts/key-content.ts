// What one key holds, as a join-semilattice over every type: normally a single CRDT state
// (encoded exactly as that type encodes it), but two sides of a partition may each create
// the key with another type. Then the key holds one state per type, and every replica
// converges on all of them (nothing either side acknowledged is lost) until the conflict is
// resolved by keeping one type. Resolving is observed-remove: each other type gets a
// tombstone, the state it had when resolved; a type is visible while its state holds
// something its tombstone does not (a write the resolver had not seen keeps it visible).
//
// Merging is per type, state with state and tombstone with tombstone, so it is
// commutative, associative and idempotent when each type's merge is. A content of one type
// without a tombstone encodes as that type's own encoding, so keys that never conflicted
// keep their bytes; anything else encodes as
//   [TAG 0x10][version][count][(type tag, flags: 1 = has tombstone, state, tombstone?)…]
// with entries in type-tag order, each state a length-prefixed encoding of its own type.
import {
  createDecoder,
  createEncoder,
  expectEnd,
  FORMAT_VERSION,
  readBytes,
  readHeader,
  readUint8,
  readVarUint,
  remaining,
  toUint8Array,
  writeBytes,
  writeHeader,
  writeUint8,
  writeVarUint,
} from './codec.js'
import { CrdtDecodeError } from './errors.js'
import { crdtTypeNames, crdtTypes, typeOfEncoded } from './registry.js'
import type { CrdtTypeName } from './types.js'

export const KEY_CONTENT_TAG = 0x10

/** One type's part of a key. */
export interface ContentEntry {
  readonly type: CrdtTypeName
  readonly state: unknown
  /** What a resolution removed (the state it had observed); absent when never removed. */
  readonly tombstone?: unknown
}

/** Entries in type-tag order, at least one. */
export type KeyContent = readonly ContentEntry[]

interface AnyType {
  readonly tag: number
  merge(a: unknown, b: unknown): unknown
  equals(a: unknown, b: unknown): boolean
  encode(s: unknown): Uint8Array
  decode(b: Uint8Array): unknown
  empty(): unknown
}

const typeOf = (name: CrdtTypeName): AnyType => crdtTypes[name] as unknown as AnyType
const ORDER = [...crdtTypeNames].sort((a, b) => typeOf(a).tag - typeOf(b).tag)
const byTag = new Map(ORDER.map((name) => [typeOf(name).tag, name]))

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
  readHeader(dec, KEY_CONTENT_TAG, 'key content')
  const count = readVarUint(dec)
  if (count < 1 || count > ORDER.length) throw new CrdtDecodeError(`key content with ${count} types`)
  const entries: ContentEntry[] = []
  let lastTag = -1
  for (let i = 0; i < count; i++) {
    const tag = readUint8(dec)
    const type = byTag.get(tag)
    if (type === undefined) throw new CrdtDecodeError(`key content names unknown type tag ${tag}`)
    if (tag <= lastTag) throw new CrdtDecodeError('key content types out of order or repeated')
    lastTag = tag
    const flags = readUint8(dec)
    if (flags > 1) throw new CrdtDecodeError(`key content flags ${flags}`)
    const state = decodeAs(type, readBytes(dec, remaining(dec)))
    entries.push(flags === 1 ? { type, state, tombstone: decodeAs(type, readBytes(dec, remaining(dec))) } : { type, state })
  }
  expectEnd(dec)
  if (entries.length === 1 && entries[0]?.tombstone === undefined) throw new CrdtDecodeError('a single type without tombstone must use its own encoding')
  return entries
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
  writeHeader(enc, KEY_CONTENT_TAG)
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
  for (const type of ORDER) {
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
    out.push(tombstone === undefined ? { type, state: t.merge(x.state, y.state) } : { type, state: t.merge(x.state, y.state), tombstone })
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
  if (entry.tombstone === undefined) return true
  const t = typeOf(entry.type)
  return !t.equals(t.merge(entry.state, entry.tombstone), entry.tombstone)
}

/** The entries a reader sees, in type-tag order: one normally, several in a conflict, none once every type was removed. */
export function visibleEntries(content: KeyContent): ContentEntry[] {
  return content.filter(isVisible)
}

/** The entry of `type`, visible or not. */
export function entryOf(content: KeyContent, type: CrdtTypeName): ContentEntry | undefined {
  return content.find((e) => e.type === type)
}

/**
 * Keeps `keep` and removes every other type as observed in `content` (observed-remove: a
 * write of a removed type that the resolver had not seen makes it visible again). Throws
 * RangeError when `keep` is not a visible type of the content.
 */
export function resolveContent(content: KeyContent, keep: CrdtTypeName): KeyContent {
  if (!visibleEntries(content).some((e) => e.type === keep)) throw new RangeError(`cannot keep ${keep}: the key holds no visible ${keep}`)
  return content.map((e) => {
    if (e.type === keep) return e
    const t = typeOf(e.type)
    return { type: e.type, state: e.state, tombstone: e.tombstone === undefined ? e.state : t.merge(e.tombstone, e.state) }
  })
}

/** Replaces (joins into) the state of `type`, keeping the other entries. */
export function withState(content: KeyContent, type: CrdtTypeName, state: unknown): KeyContent {
  return joinContent(content, singleContent(type, state))
}

/** Re-exported for callers that only see this module. */
export { FORMAT_VERSION }
