// Public API of rumordb/crdts: pure replicated data types, their codecs and the hybrid
// logical clock. Nothing here performs I/O or reads the time by itself.
//
// Errors, by cause:
// - CrdtDecodeError: any malformed, truncated, non-canonical or foreign input to decode(),
//   covers(), typeOfEncoded() or decodeTimestamp(). Decoders throw nothing else.
// - RangeError: a bad amount (not a non-negative safe integer), a counter entry that would
//   pass Number.MAX_SAFE_INTEGER, an empty / over-256-byte / ill-formed actor id, a timestamp
//   out of range. TypeError: an actor id that is not a string.
// - InvalidValueError (a TypeError) and ValueTooLargeError (a RangeError): an OR-set element
//   or register value that is not plain JSON data or is over MAX_JSON_BYTES.
// - ClockDriftError: HybridLogicalClock.update() refused a timestamp from the future.
export type { Crdt, CrdtTypeName, JsonValue, Witnessing } from './types.js'
export { ClockDriftError, CrdtDecodeError, InvalidValueError, ValueTooLargeError } from './errors.js'
export { canonicalJson, MAX_JSON_BYTES, MAX_JSON_DEPTH, parseCanonicalJson } from './canonical-json.js'
export {
  assertActor,
  createDecoder,
  createEncoder,
  decodeStrict,
  expectEnd,
  FORMAT_VERSION,
  hasContent,
  MAX_ACTOR_BYTES,
  readBytes,
  readCount,
  readRawBytes,
  readString,
  readUint8,
  readVarUint,
  remaining,
  toUint8Array,
  writeBytes,
  writeRawBytes,
  writeString,
  writeUint8,
  writeVarUint,
  type Decoder,
  type Encoder,
} from './codec.js'
export { compareCodePoints, utf8Length } from './text.js'
export {
  assertTimestamp,
  compareTimestamps,
  decodeTimestamp,
  DEFAULT_MAX_OFFSET_MS,
  encodeTimestamp,
  HybridLogicalClock,
  isTimestamp,
  MAX_LOGICAL,
  MAX_WALL_MS,
  ZERO_TIMESTAMP,
  type HybridLogicalClockInit,
  type Timestamp,
} from './hlc.js'
export type { ActorDots, CausalContext, Dot } from './causal-context.js'
export { contextMax } from './causal-context.js'
export { GCounter, type GCounterState, type GCounterType } from './gcounter.js'
export { PNCounter, type PNCounterState, type PNCounterType } from './pncounter.js'
export { ORSet, type ORSetEntry, type ORSetState, type ORSetType } from './orset.js'
export { LWWRegister, type LWWRegisterState, type LWWRegisterType, type LWWWrite } from './lww-register.js'
export { FieldTypeError, MAX_FIELD_BYTES, MAX_MAP_DEPTH, ORMap, type FieldConflict, type ORMapField, type ORMapState, type ORMapType } from './ormap.js'
export {
  crdtTypeNames,
  crdtTypes,
  isCrdtTypeName,
  typeOfEncoded,
  type CrdtStates,
  type CrdtTypes,
  type CrdtValues,
} from './registry.js'
export {
  contentEquals,
  decodeContent,
  deleteContent,
  deletionDelta,
  encodeContent,
  entryOf,
  everSeen,
  isMultiTypeEncoding,
  joinContent,
  KEY_CONTENT_TAG,
  resolveContent,
  singleContent,
  visibleEntries,
  withState,
  type ContentEntry,
  type KeyContent,
} from './key-content.js'
export {
  decodeRecord,
  encodeRecord,
  expired,
  expiresAt,
  hasExpiry,
  isDue,
  joinRecords,
  recordEquals,
  setExpiry,
  sweepAt,
  type Expiry,
  type KeyRecord,
} from './key-record.js'
export { removalOf, removals, type Removal } from './removal.js'
