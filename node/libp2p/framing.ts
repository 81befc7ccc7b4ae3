// Length-prefixed frames on a long-lived stream: [unsigned varint length][bytes], one after
// another in each direction.
//
// The reader is written here rather than taken from it-length-prefixed because it must
// (a) refuse a length above the limit before buffering anything, (b) tell its caller when
// a frame has begun and when it is complete, so a peer that stalls in the middle of a
// frame can be cut off while an idle stream stays open, and (c) deliver a zero-length
// frame at once.
import { FrameError } from './errors.js'

/** Bytes of a varint long enough for any length below 2^35: more is a malformed prefix. */
const MAX_PREFIX_BYTES = 5

type Chunk = Uint8Array | { subarray(): Uint8Array }

export function varintLength(n: number): number {
  let bytes = 1
  while (n >= 0x80) {
    n = Math.floor(n / 128)
    bytes++
  }
  return bytes
}

/** Writes `n` as an unsigned varint at `offset`; returns the offset after it. */
export function writeVarint(target: Uint8Array, offset: number, n: number): number {
  while (n >= 0x80) {
    target[offset++] = (n % 128) | 0x80
    n = Math.floor(n / 128)
  }
  target[offset++] = n
  return offset
}

/** Reads an unsigned varint at `offset`: [value, offset after it], or undefined if malformed. */
export function readVarint(bytes: Uint8Array, offset: number): [number, number] | undefined {
  let value = 0
  for (let i = 0; i < MAX_PREFIX_BYTES * 2; i++) {
    const byte = bytes[offset + i]
    if (byte === undefined) return undefined
    value += (byte & 0x7f) * 2 ** (7 * i)
    if (byte < 0x80) return Number.isSafeInteger(value) ? [value, offset + i + 1] : undefined
  }
  return undefined
}

/** One frame with its length prefix, as a single buffer. */
export function encodeFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(varintLength(frame.length) + frame.length)
  out.set(frame, writeVarint(out, 0, frame.length))
  return out
}

export interface FrameEvents {
  /** The first byte of a frame arrived. */
  frameStarted?(): void
  /** The frame begun is complete (called before it is yielded). */
  frameEnded?(): void
}

/**
 * The frames in `source`, each at most `maxBytes`. Ends when the source ends between
 * frames; throws FrameError when a prefix announces more than the limit, is malformed, or
 * the source ends inside a frame; rethrows the source's own errors (reset, abort).
 */
export async function* readFrames(source: AsyncIterable<Chunk>, maxBytes: number, events: FrameEvents = {}): AsyncGenerator<Uint8Array> {
  let length = -1
  let lengthValue = 0
  let prefixBytes = 0
  let frame: Uint8Array | undefined
  let filled = 0

  for await (const next of source) {
    const chunk = next instanceof Uint8Array ? next : next.subarray()
    let offset = 0
    while (offset < chunk.length) {
      if (length < 0) {
        if (prefixBytes === 0) events.frameStarted?.()
        const byte = chunk[offset++] as number
        lengthValue += (byte & 0x7f) * 2 ** (7 * prefixBytes)
        prefixBytes++
        if (byte < 0x80) {
          if (lengthValue > maxBytes) throw new FrameError(`frame of ${lengthValue} bytes is above the limit of ${maxBytes}`)
          length = lengthValue
          frame = new Uint8Array(length)
          filled = 0
        } else if (prefixBytes >= MAX_PREFIX_BYTES) {
          throw new FrameError(`length prefix is longer than ${MAX_PREFIX_BYTES} bytes`)
        }
      }
      if (frame !== undefined) {
        const take = Math.min(chunk.length - offset, frame.length - filled)
        frame.set(chunk.subarray(offset, offset + take), filled)
        filled += take
        offset += take
        if (filled === frame.length) {
          const done = frame
          frame = undefined
          length = -1
          lengthValue = 0
          prefixBytes = 0
          events.frameEnded?.()
          yield done
        }
      }
    }
  }
  if (prefixBytes > 0 && length < 0) throw new FrameError('stream ended inside the length prefix')
  if (frame !== undefined) throw new FrameError(`stream ended after ${filled} of ${length} frame bytes`)
}
