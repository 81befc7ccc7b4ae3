// A map (a document) whose fields are CRDTs: counters, OR-sets, registers and nested maps.
// Each field holds a key content (key-content.ts), so a field behaves exactly as a key does:
// concurrent edits to different fields both survive, a field written with two types on two
// sides of a partition keeps both (a field conflict), and removing a field is
// observed-remove, like deleting a key: it removes what the remover had seen of the field,
// and a concurrent write to that field elsewhere survives. A removed field keeps a
// tombstone (small: as key-content.ts describes), and reads as absent.
//
// The join is per field, the field contents joined as keys are, so it inherits their laws.
// Encoding (canonical, strict):
//   [TAG 5][version 1][count][(field name, field content as key-content.ts encodes it)…]
// with fields in ascending UTF-16 order, each name 1 to MAX_FIELD_BYTES bytes of UTF-8,
// maps nested at most MAX_MAP_DEPTH deep.
import {
  createEncoder,
  decodeStrict,
  readBytes,
  readCount,
  readHeader,
  readString,
  remaining,
  toUint8Array,
  writeBytes,
  writeHeader,
  writeString,
  writeVarUint,
  type Decoder,
} from './codec.js'
import { CrdtDecodeError } from './errors.js'
import { contentEquals, decodeContent, deletionDelta, encodeContent, entryOf, everSeen, joinContent, singleContent, visibleEntries, type ContentEntry, type KeyContent } from './key-content.js'
import { compareWrites, type LWWRegisterState, type LWWWrite } from './lww-register.js'
import { typeTable, type ContentType } from './type-table.js'
import { utf8Length } from './text.js'
import type { Crdt, CrdtTypeName, JsonValue, Witnessing } from './types.js'

const TAG = 5
/** Longest field name, in UTF-8 bytes. */
export const MAX_FIELD_BYTES = 256
/** Deepest nesting of maps in maps (a field path is at most this long). */
export const MAX_MAP_DEPTH = 8

/** Fields in ascending UTF-16 order, each with what it holds (at least one entry). */
export interface ORMapState {
  readonly fields: readonly ORMapField[]
}

export interface ORMapField {
  readonly name: string
  readonly content: KeyContent
}

/** A field written with two types on two sides of a partition reads as every side. */
export interface FieldConflict {
  readonly $conflict: { type: CrdtTypeName; value: unknown }[]
}

export interface ORMapType extends Crdt<ORMapState, { [field: string]: JsonValue }>, Witnessing<ORMapState> {
  readonly name: 'map'
  readonly tag: 5
  /** What the field holds, or undefined when it was never written. */
  field(s: ORMapState, name: string): KeyContent | undefined
  /** The delta that joins `content` into field `name` (a write to the field, or its removal). */
  fieldDelta(name: string, content: KeyContent): ORMapState
  /** The delta removing field `name` as `s` holds it (observed-remove); the empty map when it holds nothing there. */
  removeField(s: ORMapState, name: string): ORMapState
  /**
   * The delta of a write to the field at `path` (nested maps are created on the way): `write`
   * gets the field's current state of `type` (its empty state for a new field) and returns
   * the type's delta. Throws FieldTypeError when the field, or a map on the way, holds another type.
   */
  update(s: ORMapState, path: readonly string[], type: CrdtTypeName, write: (current: unknown) => unknown): ORMapState
  /** The delta removing the field at `path` as `s` holds it (observed-remove). */
  remove(s: ORMapState, path: readonly string[]): ORMapState
  /** What the field at `path` holds; undefined when nothing was ever written there. */
  at(s: ORMapState, path: readonly string[]): KeyContent | undefined
}

/** A write to a map field that holds another type (or a path through a field that is not a map). */
export class FieldTypeError extends TypeError {
  override readonly name = 'FieldTypeError'
  constructor(
    readonly path: readonly string[],
    readonly holds: CrdtTypeName,
    readonly wanted: CrdtTypeName,
  ) {
    super(`map field ${JSON.stringify(path.join('.'))} holds a ${holds}, not a ${wanted}; remove the field first to change its type`)
  }
}

const EMPTY: ORMapState = Object.freeze({ fields: Object.freeze([]) as readonly ORMapField[] })

function empty(): ORMapState {
  return EMPTY
}

function field(s: ORMapState, name: string): KeyContent | undefined {
  // Fields are sorted: binary search.
  let lo = 0
  let hi = s.fields.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const f = s.fields[mid] as ORMapField
    if (f.name === name) return f.content
    if (f.name < name) lo = mid + 1
    else hi = mid - 1
  }
  return undefined
}

const merge = mergeMaps

/** The join (a function declaration, so removal.ts can use it while this module loads). */
export function mergeMaps(a: ORMapState, b: ORMapState): ORMapState {
  if (a.fields.length === 0) return b
  if (b.fields.length === 0 || a === b) return a
  const out: ORMapField[] = []
  let i = 0
  let j = 0
  while (i < a.fields.length || j < b.fields.length) {
    const x = a.fields[i]
    const y = b.fields[j]
    if (y === undefined || (x !== undefined && x.name < y.name)) {
      out.push(x as ORMapField)
      i++
    } else if (x === undefined || y.name < x.name) {
      out.push(y)
      j++
    } else {
      out.push({ name: x.name, content: joinContent(x.content, y.content) })
      i++
      j++
    }
  }
  return { fields: out }
}

/** The document: every field with something visible, a nested map as an object, a field conflict as `{ $conflict: [{ type, value }] }`. */
function value(s: ORMapState): { [field: string]: JsonValue } {
  const out: { [field: string]: JsonValue } = {}
  for (const f of s.fields) {
    const visible = visibleEntries(f.content)
    if (visible.length === 0) continue
    const values = visible.map((e) => ({ type: e.type, value: valueOf(e.type, e.state) }))
    const only = values[0] as { type: CrdtTypeName; value: unknown }
    // A register never set reads as undefined: the field is absent then.
    if (values.length === 1 && only.value === undefined) continue
    out[f.name] = (values.length === 1 ? only.value : ({ $conflict: values } satisfies FieldConflict)) as JsonValue
  }
  return out
}

function encode(s: ORMapState): Uint8Array {
  const enc = createEncoder()
  writeHeader(enc, TAG)
  writeVarUint(enc, s.fields.length)
  for (const f of s.fields) {
    writeString(enc, f.name)
    writeBytes(enc, encodeContent(f.content))
  }
  return toUint8Array(enc)
}

let depth = 0

function decode(bytes: Uint8Array): ORMapState {
  if (depth >= MAX_MAP_DEPTH) throw new CrdtDecodeError(`maps nested more than ${MAX_MAP_DEPTH} deep`)
  depth++
  try {
    return decodeStrict(bytes, readMap)
  } finally {
    depth--
  }
}

function readMap(dec: Decoder): ORMapState {
  readHeader(dec, TAG, 'map')
  // Each field takes at least a name length, one name byte, a content length and a 2-byte header.
  const count = readCount(dec, 5, 'map field')
  const fields: ORMapField[] = []
  let last: string | undefined
  for (let i = 0; i < count; i++) {
    const name = readString(dec, MAX_FIELD_BYTES)
    if (name.length === 0) throw new CrdtDecodeError('map field with an empty name')
    if (last !== undefined && !(last < name)) throw new CrdtDecodeError('map fields out of order or repeated')
    last = name
    const content = decodeContent(readBytes(dec, remaining(dec)))
    fields.push({ name, content })
  }
  return { fields }
}

function equals(a: ORMapState, b: ORMapState): boolean {
  if (a === b) return true
  if (a.fields.length !== b.fields.length) return false
  return a.fields.every((f, i) => {
    const g = b.fields[i] as ORMapField
    return f.name === g.name && contentEquals(f.content, g.content)
  })
}

function fieldDelta(name: string, content: KeyContent): ORMapState {
  assertFieldName(name)
  return { fields: [{ name, content }] }
}

function removeField(s: ORMapState, name: string): ORMapState {
  assertFieldName(name)
  const content = field(s, name)
  return content === undefined ? EMPTY : { fields: [{ name, content: deletionDelta(content) }] }
}

function assertPath(path: readonly string[]): void {
  if (!Array.isArray(path) || path.length === 0) throw new RangeError('a map field path must name at least one field')
  if (path.length > MAX_MAP_DEPTH) throw new RangeError(`a map field path of ${path.length} fields is deeper than ${MAX_MAP_DEPTH}`)
  for (const name of path) assertFieldName(name)
}

/**
 * The state of `type` a write to the field starts from: everything the field has held of
 * that type, removed or not (a counter's next total must be above what its removal saw, or
 * the removal would cover the write). Throws FieldTypeError when the field shows another type.
 */
function startOf(content: KeyContent | undefined, type: CrdtTypeName, path: readonly string[]): unknown {
  const visible = content === undefined ? [] : visibleEntries(content)
  const other = visible.find((e) => e.type !== type)
  if (other !== undefined && !visible.some((e) => e.type === type)) throw new FieldTypeError(path, other.type, type)
  return content === undefined || entryOf(content, type) === undefined ? emptyOf(type) : everSeen(content, type)
}

function update(s: ORMapState, path: readonly string[], type: CrdtTypeName, write: (current: unknown) => unknown): ORMapState {
  assertPath(path)
  return updateAt(s, path, 0, type, write)
}

function updateAt(s: ORMapState, path: readonly string[], at: number, type: CrdtTypeName, write: (current: unknown) => unknown): ORMapState {
  const name = path[at] as string
  const content = field(s, name)
  if (at === path.length - 1) return fieldDelta(name, singleContent(type, write(startOf(content, type, path))))
  const inner = startOf(content, 'map', path.slice(0, at + 1)) as ORMapState
  return fieldDelta(name, singleContent('map', updateAt(inner, path, at + 1, type, write)))
}

function remove(s: ORMapState, path: readonly string[]): ORMapState {
  assertPath(path)
  return removeAt(s, path, 0)
}

function removeAt(s: ORMapState, path: readonly string[], at: number): ORMapState {
  const name = path[at] as string
  if (at === path.length - 1) return removeField(s, name)
  const content = field(s, name)
  const inner = content === undefined ? undefined : entryOf(content, 'map')
  if (inner === undefined) return EMPTY
  const delta = removeAt(inner.state as ORMapState, path, at + 1)
  return delta.fields.length === 0 ? EMPTY : fieldDelta(name, singleContent('map', delta))
}

function at(s: ORMapState, path: readonly string[]): KeyContent | undefined {
  assertPath(path)
  let map = s
  for (let i = 0; i < path.length - 1; i++) {
    const content = field(map, path[i] as string)
    const inner = content === undefined ? undefined : visibleEntries(content).find((e) => e.type === 'map')
    if (inner === undefined) return undefined
    map = inner.state as ORMapState
  }
  return field(map, path[path.length - 1] as string)
}

/** Every field removed as `s` holds it: what deleting a map leaves (removal.ts). */
export function mapTombstoneOf(s: ORMapState): ORMapState {
  return { fields: s.fields.map((f) => ({ name: f.name, content: deletionDelta(f.content) })) }
}

/** Whether every field holds only what a removal leaves. */
export function isMapTombstone(t: ORMapState): boolean {
  return t.fields.every((f) => contentEquals(deletionDelta(f.content), f.content))
}

export function mapHasVisibleFields(s: ORMapState): boolean {
  return s.fields.some((f) => visibleEntries(f.content).length > 0)
}

/** A field name: a non-empty, well-formed string of at most MAX_FIELD_BYTES UTF-8 bytes. */
export function assertFieldName(name: unknown): asserts name is string {
  if (typeof name !== 'string') throw new TypeError(`a map field name must be a string, got ${typeof name}`)
  if (name.length === 0) throw new RangeError('a map field name must not be empty')
  if (!name.isWellFormed()) throw new RangeError('a map field name contains a lone UTF-16 surrogate, which UTF-8 cannot carry')
  if (utf8Length(name) > MAX_FIELD_BYTES) throw new RangeError(`a map field name is longer than ${MAX_FIELD_BYTES} UTF-8 bytes`)
}

/**
 * A witness is the delta with every register's value dropped (its timestamp and actor name
 * the write), so a write of a big value to a register field answers a short token.
 */
function witness(delta: ORMapState): Uint8Array {
  return encode(withoutValues(delta))
}

function withoutValues(s: ORMapState): ORMapState {
  return { fields: s.fields.map((f) => ({ name: f.name, content: f.content.map(stripEntry) })) }
}

function stripEntry(e: ContentEntry): ContentEntry {
  if (e.type === 'map') {
    const state = withoutValues(e.state as ORMapState)
    return e.tombstone === undefined ? { type: 'map', state } : { type: 'map', state, tombstone: withoutValues(e.tombstone as ORMapState) }
  }
  if (e.type !== 'lww') return e
  const stamp = (r: unknown): LWWRegisterState => (r === null ? null : { ...(r as LWWWrite), value: null, json: 'null' })
  return e.tombstone === undefined ? { type: 'lww', state: stamp(e.state) } : { type: 'lww', state: stamp(e.state), tombstone: e.tombstone }
}

/**
 * Whether `s` includes every write the witness names: per field, what it held of each type
 * (registers: a write stamped at least as late; removals: its tombstone at least the
 * witness's) joined with the witness's part changes nothing.
 */
function covers(s: ORMapState, w: Uint8Array): boolean {
  return mapCovers(s, decode(w))
}

function mapCovers(s: ORMapState, w: ORMapState): boolean {
  return w.fields.every((f) => {
    const held = field(s, f.name)
    return f.content.every((e) => entryCovered(held === undefined ? undefined : entryOf(held, e.type), e))
  })
}

function entryCovered(held: ContentEntry | undefined, e: ContentEntry): boolean {
  // The write made the field hold this type (an empty set shows as []): a state without it has not seen the write.
  if (held === undefined) return false
  // A removal hides the field even when it removed nothing: a state without a tombstone has not seen it.
  if (e.tombstone !== undefined && held.tombstone === undefined) return false
  const t = typeTable().types[e.type]
  const seen = held.tombstone === undefined ? held.state : t.merge(held.state, held.tombstone)
  const heldTombstone = held.tombstone ?? t.empty()
  if (e.type === 'lww') {
    const later = (mine: unknown, theirs: unknown): boolean => theirs === null || (mine !== null && compareWrites(mine as LWWWrite, theirs as LWWWrite) >= 0)
    return later(seen, e.state) && (e.tombstone === undefined || later(heldTombstone, e.tombstone))
  }
  if (e.type === 'map') {
    return mapCovers(seen as ORMapState, e.state as ORMapState) && (e.tombstone === undefined || mapCovers(heldTombstone as ORMapState, e.tombstone as ORMapState))
  }
  const joinedBy = (mine: unknown, theirs: unknown): boolean => t.equals(t.merge(mine, theirs), mine)
  return joinedBy(seen, e.state) && (e.tombstone === undefined || joinedBy(heldTombstone, e.tombstone))
}

// The types of the fields come from the registry's table (type-table.ts), read when called.
function typeNamed(type: CrdtTypeName): ContentType {
  return typeTable().types[type]
}

function valueOf(type: CrdtTypeName, state: unknown): unknown {
  return typeNamed(type).value(state)
}

function emptyOf(type: CrdtTypeName): unknown {
  return typeNamed(type).empty()
}

export const ORMap: ORMapType = Object.freeze({
  name: 'map' as const,
  tag: TAG as 5,
  empty,
  merge,
  value,
  encode,
  decode,
  equals,
  witness,
  covers,
  field,
  fieldDelta,
  removeField,
  update,
  remove,
  at,
})
