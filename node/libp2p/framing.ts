// One length-prefixed frame per direction of a stream: [unsigned varint length][bytes].
//
// Writing uses it-length-prefixed. Reading is done here because a stream carries exactly
// one frame and we must (a) deliver a zero-length frame, which it-length-prefixed's
// decoder only yields once more bytes follow, (b) refuse a length above the limit before
// buffering anything, and (c) stop reading as soon as the frame is complete, without
// waiting for the end of the stream.
import * as lp from 'it-length-prefixed'
import { FrameError } from './errors.js'

/** Bytes of a varint long enough for any length below 2^35: more is a malformed prefix. */
const MAX_PREFIX_BYTES = 5

type Chunk = Uint8Array | { subarray(): Uint8Array }

export function encodeFrame(frame: Uint8Array): ReturnType<typeof lp.encode.single> {
  return lp.encode.single(frame)
}

/**
 * Reads exactly one frame of at most `maxBytes` from `source`. Throws FrameError when the
 * prefix announces more, when the stream ends early, or when bytes follow the frame in
 * what was already received; rethrows the source's own errors (reset, abort).
 */
export async function readFrame(source: AsyncIterable<Chunk>, maxBytes: number): Promise<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]()
  let length = -1
  let lengthValue = 0
  let prefixBytes = 0
  let frame: Uint8Array | undefined
  let filled = 0

  for (;;) {
    if (frame !== undefined && filled === frame.length) return frame
    const next = await iterator.next()
    if (next.done === true) {
      if (length < 0) throw new FrameError(prefixBytes === 0 ? 'stream ended before a frame' : 'stream ended inside the length prefix')
      throw new FrameError(`stream ended after ${filled} of ${length} frame bytes`)
    }
    const chunk = next.value instanceof Uint8Array ? next.value : next.value.subarray()
    let offset = 0
    while (length < 0 && offset < chunk.length) {
      const byte = chunk[offset++] as number
      lengthValue += (byte & 0x7f) * 2 ** (7 * prefixBytes)
      prefixBytes++
      if (byte < 0x80) {
        if (lengthValue > maxBytes) throw new FrameError(`frame of ${lengthValue} bytes is above the limit of ${maxBytes}`)
        length = lengthValue
        frame = new Uint8Array(length)
      } else if (prefixBytes >= MAX_PREFIX_BYTES) {
        throw new FrameError(`length prefix is longer than ${MAX_PREFIX_BYTES} bytes`)
      }
    }
    if (frame === undefined) continue
    const take = Math.min(chunk.length - offset, frame.length - filled)
    frame.set(chunk.subarray(offset, offset + take), filled)
    filled += take
    if (offset + take < chunk.length) throw new FrameError('bytes follow the frame; a stream carries one frame')
  }
}
