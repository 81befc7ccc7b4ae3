// Length-prefixed frames on a long-lived stream: [unsigned varint length][bytes], one after
// another in each direction.
//
// The reader is written here rather than taken from it-length-prefixed because it must
// (a) refuse a length above the limit before buffering anything, (b) tell its caller when
// a frame has begun and when it is complete, so a peer that stalls in the middle of a
// frame can be cut off while an idle stream stays open, and (c) deliver a zero-length
// frame at once. The varints themselves are uint8-varint's (as in libp2p's own framing).
import { decode as decodeVarint, encodeUint8Array, encodingLength } from 'uint8-varint'
import { FrameError } from './errors.js'

/** Bytes of a varint long enough for any length below 2^35: more is a malformed prefix. */
const MAX_PREFIX_BYTES = 5

type Chunk = Uint8Array | { subarray(): Uint8Array }

export { encodingLength as varintLength }

/** Writes `n` as an unsigned varint at `offset`; returns the offset after it. */
export function writeVarint(target: Uint8Array, offset: number, n: number): number {
  encodeUint8Array(n, target, offset)
  return offset + encodingLength(n)
}

/**
 * Reads an unsigned varint of at most 8 bytes at `offset`: [value, offset after it], or
 * undefined if it is truncated, above 2^53 - 1 or not minimal (one value, one encoding).
 */
export function readVarint(bytes: Uint8Array, offset: number): [number, number] | undefined {
  try {
    const value = decodeVarint(bytes, offset)
    // uint8-varint does not say how many bytes it read: a minimal encoding is exactly
    // encodingLength bytes, the last one without the continuation bit.
    const end = offset + encodingLength(value)
    const last = bytes[end - 1]
    return last !== undefined && last < 0x80 ? [value, end] : undefined
  } catch {
    // Truncated (uint8-varint reads past the end as zeros, then gives up) or too large.
    return undefined
  }
}

/** One frame with its length prefix, as a single buffer. */
export function encodeFrame(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(encodingLength(frame.length) + frame.length)
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
  const prefix = new Uint8Array(MAX_PREFIX_BYTES)
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
        prefix[prefixBytes++] = byte
        if (byte < 0x80) {
          const read = readVarint(prefix.subarray(0, prefixBytes), 0)
          if (read === undefined) throw new FrameError('length prefix is not a minimal varint')
          if (read[0] > maxBytes) throw new FrameError(`frame of ${read[0]} bytes is above the limit of ${maxBytes}`)
          length = read[0]
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
