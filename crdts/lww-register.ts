// Last-writer-wins register ordered by hybrid logical clock timestamps. The (timestamp, actor)
// pair identifies a write, because each actor's clock is strictly increasing; ties between
// actors go to the greater actor id, never to the greater value, so the winner does not
// depend on what was written.
import {
  assertActor,
  createEncoder,
  decodeStrict,
  readActor,
  readHeader,
  readRawBytes,
  readString,
  readUint8,
  toUint8Array,
  writeHeader,
  writeRawBytes,
  writeString,
  writeUint8,
  type Decoder,
  type Encoder,
} from './codec.js'
import { canonicalJson, MAX_JSON_BYTES, ownedJsonCopy, parseCanonicalJson } from './canonical-json.js'
import { CrdtDecodeError, InvalidValueError } from './errors.js'
import { assertTimestamp, compareTimestamps, readTimestampAt, TIMESTAMP_BYTES, writeTimestampInto, type Timestamp } from './hlc.js'
import type { Crdt, JsonValue, Witnessing } from './types.js'

/** One write. `json` is the canonical text of `value` (deeply frozen). */
export interface LWWWrite {
  readonly timestamp: Timestamp
  readonly actor: string
  readonly value: JsonValue
  readonly json: string
}

/** The winning write, or null for a register that was never set. */
export type LWWRegisterState = LWWWrite | null

export interface LWWRegisterType extends Crdt<LWWRegisterState, JsonValue | undefined>, Witnessing<LWWRegisterState> {
  readonly name: 'lww'
  readonly tag: 4
  /**
   * Delta writing `value` at `timestamp` (from the actor's HybridLogicalClock). The caller
   * must not reuse a (timestamp, actor) pair for a different value.
   */
  set(s: LWWRegisterState, actor: string, value: JsonValue, timestamp: Timestamp): LWWRegisterState
}

const TAG = 4

/** Orders writes by timestamp, then actor id (UTF-16 code-unit order). */
export function compareWrites(a: Pick<LWWWrite, 'timestamp' | 'actor'>, b: Pick<LWWWrite, 'timestamp' | 'actor'>): number {
  const t = compareTimestamps(a.timestamp, b.timestamp)
  if (t !== 0) return t
  return a.actor === b.actor ? 0 : a.actor < b.actor ? -1 : 1
}

function merge(a: LWWRegisterState, b: LWWRegisterState): LWWRegisterState {
  if (a === null || a === b) return b
  if (b === null) return a
  const order = compareWrites(a, b)
  if (order !== 0) return order > 0 ? a : b
  // Only reachable with invariant-violating input (one actor wrote two values at the same
  // timestamp): pick by the canonical encoding so the join stays commutative and associative.
  return a.json >= b.json ? a : b
}

function set(_s: LWWRegisterState, actor: string, value: JsonValue, timestamp: Timestamp): LWWRegisterState {
  assertActor(actor)
  assertTimestamp(timestamp)
  const json = canonicalJson(value)
  return {
    timestamp: { wallMs: timestamp.wallMs, logical: timestamp.logical },
    actor,
    value: ownedJsonCopy(value, json),
    json,
  }
}

function equals(a: LWWRegisterState, b: LWWRegisterState): boolean {
  if (a === b) return true
  if (a === null || b === null) return false
  return compareWrites(a, b) === 0 && a.json === b.json
}

function writeStamp(enc: Encoder, w: Pick<LWWWrite, 'timestamp' | 'actor'>): void {
  const bytes = new Uint8Array(TIMESTAMP_BYTES)
  writeTimestampInto(bytes, 0, w.timestamp)
  writeRawBytes(enc, bytes)
  writeString(enc, w.actor)
}

function readStamp(dec: Decoder): { timestamp: Timestamp; actor: string } {
  const timestamp = readTimestampAt(readRawBytes(dec, TIMESTAMP_BYTES), 0)
  return { timestamp, actor: readActor(dec) }
}

/** Layout: tag, version, 0 for never set, or 1, timestamp (8 bytes), actor, canonical JSON. */
function encode(s: LWWRegisterState): Uint8Array {
  const enc = createEncoder(s === null ? 3 : 16 + s.actor.length + s.json.length)
  writeHeader(enc, TAG)
  writeUint8(enc, s === null ? 0 : 1)
  if (s !== null) {
    writeStamp(enc, s)
    writeString(enc, s.json)
  }
  return toUint8Array(enc)
}

/** Reads the 0/1 presence byte that starts both the state and the witness payload. */
function readPresent(dec: Decoder): boolean {
  const flag = readUint8(dec)
  if (flag > 1) throw new CrdtDecodeError(`bad presence flag ${flag}`)
  return flag === 1
}

function readState(dec: Decoder): LWWRegisterState {
  readHeader(dec, TAG, 'lww')
  if (!readPresent(dec)) return null
  const { timestamp, actor } = readStamp(dec)
  const json = readString(dec, MAX_JSON_BYTES)
  try {
    return { timestamp, actor, value: parseCanonicalJson(json), json }
  } catch (cause) {
    if (cause instanceof InvalidValueError) throw new CrdtDecodeError(`bad register value: ${cause.message}`, { cause })
    throw cause
  }
}

/** The witness names the write by (timestamp, actor); a never-set delta witnesses nothing. */
function witness(delta: LWWRegisterState): Uint8Array {
  const enc = createEncoder(16 + (delta?.actor.length ?? 0))
  writeHeader(enc, TAG)
  writeUint8(enc, delta === null ? 0 : 1)
  if (delta !== null) writeStamp(enc, delta)
  return toUint8Array(enc)
}

function covers(s: LWWRegisterState, w: Uint8Array): boolean {
  const stamp = decodeStrict(w, (dec) => {
    readHeader(dec, TAG, 'lww witness')
    return readPresent(dec) ? readStamp(dec) : null
  })
  if (stamp === null) return true
  return s !== null && compareWrites(s, stamp) >= 0
}

export const LWWRegister: LWWRegisterType = Object.freeze({
  name: 'lww',
  tag: TAG,
  empty: () => null,
  set,
  merge,
  value: (s: LWWRegisterState) => (s === null ? undefined : s.value),
  equals,
  encode,
  decode: (bytes: Uint8Array) => decodeStrict(bytes, readState),
  witness,
  covers,
} as const)
