// Binary codec as pairs of free functions (lib0 style). Decoders are strict: every read checks
// the remaining bytes before it allocates, varints must be minimal, and any violation throws
// CrdtDecodeError, so a decode either returns a whole value or nothing.
import { CrdtDecodeError } from './errors.js'
import { utf8Length } from './text.js'

/** Current format version written after the type tag of every state and witness. */
export const FORMAT_VERSION = 1

/** Actor ids are node identities; 256 UTF-8 bytes is far above any libp2p peer id. */
export const MAX_ACTOR_BYTES = 256

export interface Encoder {
  buf: Uint8Array
  pos: number
}

export interface Decoder {
  readonly bytes: Uint8Array
  pos: number
}

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

export function createEncoder(initialCapacity = 64): Encoder {
  return { buf: new Uint8Array(initialCapacity), pos: 0 }
}

/** The written bytes, as a fresh array the caller owns. */
export function toUint8Array(enc: Encoder): Uint8Array {
  return enc.buf.slice(0, enc.pos)
}

function ensureCapacity(enc: Encoder, extra: number): void {
  const needed = enc.pos + extra
  if (needed <= enc.buf.length) return
  let size = enc.buf.length * 2
  while (size < needed) size *= 2
  const next = new Uint8Array(size)
  next.set(enc.buf.subarray(0, enc.pos))
  enc.buf = next
}

export function writeUint8(enc: Encoder, n: number): void {
  ensureCapacity(enc, 1)
  enc.buf[enc.pos++] = n & 0xff
}

/** Unsigned LEB128 of a non-negative safe integer (at most 8 bytes). */
export function writeVarUint(enc: Encoder, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varuint must be a non-negative safe integer, got ${n}`)
  ensureCapacity(enc, 8)
  const buf = enc.buf
  let pos = enc.pos
  while (n >= 0x80) {
    // `& 0x7f` goes through ToInt32, which keeps the low bits even above 2^32.
    buf[pos++] = (n & 0x7f) | 0x80
    n = Math.floor(n / 128)
  }
  buf[pos++] = n
  enc.pos = pos
}

/** Length-prefixed raw bytes. */
export function writeBytes(enc: Encoder, bytes: Uint8Array): void {
  writeVarUint(enc, bytes.length)
  writeRawBytes(enc, bytes)
}

export function writeRawBytes(enc: Encoder, bytes: Uint8Array): void {
  ensureCapacity(enc, bytes.length)
  enc.buf.set(bytes, enc.pos)
  enc.pos += bytes.length
}

/** Length-prefixed UTF-8. ASCII, the common case for actors and JSON, skips TextEncoder. */
export function writeString(enc: Encoder, s: string): void {
  const len = s.length
  // Short ASCII (a one-byte length): copied in the same pass that checks it. A string that
  // turns out not to be ASCII is written again below, over the partial copy.
  if (len < 0x80) {
    ensureCapacity(enc, len + 1)
    const buf = enc.buf
    const start = enc.pos
    let i = 0
    for (; i < len; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80) break
      buf[start + 1 + i] = c
    }
    if (i === len) {
      buf[start] = len
      enc.pos = start + 1 + len
      return
    }
  }
  let ascii = true
  for (let i = 0; i < len; i++) {
    if (s.charCodeAt(i) >= 0x80) {
      ascii = false
      break
    }
  }
  if (ascii) {
    writeVarUint(enc, len)
    ensureCapacity(enc, len)
    const buf = enc.buf
    let pos = enc.pos
    for (let i = 0; i < len; i++) buf[pos++] = s.charCodeAt(i)
    enc.pos = pos
    return
  }
  const byteLength = utf8Length(s)
  writeVarUint(enc, byteLength)
  ensureCapacity(enc, byteLength)
  const { written } = utf8Encoder.encodeInto(s, enc.buf.subarray(enc.pos, enc.pos + byteLength))
  enc.pos += written
}

export function createDecoder(bytes: Uint8Array): Decoder {
  if (!(bytes instanceof Uint8Array)) throw new CrdtDecodeError(`expected a Uint8Array, got ${describe(bytes)}`)
  return { bytes, pos: 0 }
}

function describe(x: unknown): string {
  if (x === null) return 'null'
  if (typeof x === 'object') return (x as object).constructor?.name ?? 'object'
  return typeof x
}

export function remaining(dec: Decoder): number {
  return dec.bytes.length - dec.pos
}

export function hasContent(dec: Decoder): boolean {
  return dec.pos < dec.bytes.length
}

export function expectEnd(dec: Decoder): void {
  if (dec.pos !== dec.bytes.length) throw new CrdtDecodeError(`${dec.bytes.length - dec.pos} trailing byte(s)`)
}

export function readUint8(dec: Decoder): number {
  if (dec.pos >= dec.bytes.length) throw new CrdtDecodeError('unexpected end of input')
  return dec.bytes[dec.pos++] as number
}

/** Reads a minimal LEB128 varuint no larger than Number.MAX_SAFE_INTEGER. */
export function readVarUint(dec: Decoder): number {
  const bytes = dec.bytes
  let result = 0
  let scale = 1
  for (let i = 0; i < 8; i++) {
    if (dec.pos >= bytes.length) throw new CrdtDecodeError('unexpected end of input in varuint')
    const b = bytes[dec.pos++] as number
    result += (b & 0x7f) * scale
    if (b < 0x80) {
      if (b === 0 && i > 0) throw new CrdtDecodeError('non-minimal varuint')
      if (result > Number.MAX_SAFE_INTEGER) throw new CrdtDecodeError('varuint exceeds Number.MAX_SAFE_INTEGER')
      return result
    }
    scale *= 128
  }
  throw new CrdtDecodeError('varuint longer than 8 bytes')
}

/**
 * Reads a count of items that each take at least `minItemBytes`, so a hostile count can
 * never make the caller allocate or loop beyond what the input could hold.
 */
export function readCount(dec: Decoder, minItemBytes: number, what: string): number {
  const n = readVarUint(dec)
  if (n * minItemBytes > remaining(dec)) throw new CrdtDecodeError(`${what} count ${n} exceeds the remaining ${remaining(dec)} bytes`)
  return n
}

export function readRawBytes(dec: Decoder, n: number): Uint8Array {
  if (n > remaining(dec)) throw new CrdtDecodeError(`need ${n} bytes, only ${remaining(dec)} left`)
  const out = dec.bytes.subarray(dec.pos, dec.pos + n)
  dec.pos += n
  return out
}

export function readBytes(dec: Decoder, maxBytes: number): Uint8Array {
  const n = readVarUint(dec)
  if (n > maxBytes) throw new CrdtDecodeError(`byte string of ${n} bytes exceeds the limit of ${maxBytes}`)
  return readRawBytes(dec, n).slice()
}

/** Reads length-prefixed, valid UTF-8 of at most `maxBytes` bytes. */
export function readString(dec: Decoder, maxBytes: number): string {
  const n = readVarUint(dec)
  if (n > maxBytes) throw new CrdtDecodeError(`string of ${n} bytes exceeds the limit of ${maxBytes}`)
  const raw = readRawBytes(dec, n)
  let ascii = n <= 128
  if (ascii) {
    for (let i = 0; i < n; i++) {
      if ((raw[i] as number) >= 0x80) {
        ascii = false
        break
      }
    }
  }
  if (ascii) return String.fromCharCode.apply(null, raw as unknown as number[])
  try {
    return utf8Decoder.decode(raw)
  } catch (cause) {
    throw new CrdtDecodeError('invalid UTF-8', { cause })
  }
}

/** Writes the one-byte type tag and the format version. */
export function writeHeader(enc: Encoder, tag: number): void {
  writeUint8(enc, tag)
  writeUint8(enc, FORMAT_VERSION)
}

export function readHeader(dec: Decoder, tag: number, typeName: string): void {
  const got = readUint8(dec)
  if (got !== tag) throw new CrdtDecodeError(`expected type tag ${tag} (${typeName}), got ${got}`)
  const version = readUint8(dec)
  if (version !== FORMAT_VERSION) throw new CrdtDecodeError(`unsupported ${typeName} format version ${version}`)
}

/**
 * Runs a decoder and guarantees that nothing but CrdtDecodeError escapes, whatever the input
 * (a deep JSON value, an unexpected engine error). Also checks that all bytes were consumed.
 */
export function decodeStrict<T>(bytes: Uint8Array, read: (dec: Decoder) => T): T {
  const dec = createDecoder(bytes)
  try {
    const value = read(dec)
    expectEnd(dec)
    return value
  } catch (err) {
    if (err instanceof CrdtDecodeError) throw err
    throw new CrdtDecodeError(`malformed input: ${err instanceof Error ? err.message : String(err)}`, { cause: err })
  }
}

/** Validates an actor id, the identity of the replica making a change. */
export function assertActor(actor: unknown): asserts actor is string {
  if (typeof actor !== 'string') throw new TypeError(`actor id must be a string, got ${describe(actor)}`)
  if (actor.length === 0) throw new RangeError('actor id must not be empty; pass the node id')
  if (!actor.isWellFormed()) throw new RangeError('actor id contains a lone UTF-16 surrogate, which UTF-8 cannot carry')
  if (utf8Length(actor) > MAX_ACTOR_BYTES) throw new RangeError(`actor id longer than ${MAX_ACTOR_BYTES} UTF-8 bytes`)
}

export function readActor(dec: Decoder): string {
  const actor = readString(dec, MAX_ACTOR_BYTES)
  if (actor.length === 0) throw new CrdtDecodeError('empty actor id')
  return actor
}
