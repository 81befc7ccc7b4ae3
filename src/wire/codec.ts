// The binary frame of every message: [version = 1][type tag][protobuf payload (protons)].
//
// Canonical: a message has exactly one frame. Encoding writes fields in field order and
// leaves defaults out; decoding accepts a frame only if re-encoding what it decoded gives
// the same bytes, which refuses unknown, repeated or reordered fields, non-minimal
// varints, wrong wire types and trailing bytes without a rule for each. Decoding is
// bounded: the frame size is checked first, lists are capped while protons reads them,
// and the cost is linear in the frame. Whatever the bytes, it throws only WireDecodeError.
//
// A frame is at most MAX_FRAME_BYTES. The same encoding of a larger message (up to
// MAX_MESSAGE_BYTES, `{ maxBytes }`) is what the messenger splits into parts and
// reassembles (src/cluster/large-messages.ts), and what storage keeps of a response.
import { decodeMessage as decodeProtobuf, writer as createWriter, type DecodeOptions } from 'protons-runtime'
import { WireDecodeError, WireEncodeError } from './errors.js'
import { describe, type Fail } from './fields.js'
import { MAX_FRAME_BYTES, MAX_MESSAGE_BYTES, WIRE_VERSION } from './limits.js'
import type { Broadcast, Message, MessageType, Request, Response, TransferRequest, TransferResponse } from './messages.js'
import { PAYLOADS, type PayloadCodec } from './payloads.js'

type AnyPayloadCodec = PayloadCodec<MessageType, never>

const REQUEST_TYPES: ReadonlySet<MessageType> = new Set<Request['type']>([
  'apply',
  'replicate',
  'replicate-batch',
  'read',
  'join',
  'claim',
  'sync-root',
  'sync-keys',
  'sync-ranges',
  'sync-push',
  'sync-pages',
  'large-part',
  'large-pull',
])
const RESPONSE_TYPES: ReadonlySet<MessageType> = new Set<Response['type']>([
  'applied',
  'ack',
  'replicated',
  'replayed',
  'claimed',
  'state',
  'members',
  'sync-equal',
  'sync-arcs',
  'sync-differ',
  'sync-states',
  'sync-page-data',
  'error',
  'large-stored',
  'large-ready',
  'large-data',
])
const TRANSFER_TYPES: ReadonlySet<MessageType> = new Set<(TransferRequest | TransferResponse)['type']>([
  'large-part',
  'large-pull',
  'large-stored',
  'large-ready',
  'large-data',
])
const BROADCAST_TYPES: ReadonlySet<MessageType> = new Set<Broadcast['type']>(['heartbeat', 'rumor'])

const TYPE_OF_TAG = new Map<number, MessageType>(
  (Object.entries(PAYLOADS) as [MessageType, AnyPayloadCodec][]).map(([type, c]) => [c.tag, type]),
)

/** The tag byte of each message type (second byte of its frames), e.g. for logs and tests. */
export const MESSAGE_TAGS: { readonly [T in MessageType]: number } = Object.fromEntries(
  (Object.entries(PAYLOADS) as [MessageType, AnyPayloadCodec][]).map(([type, c]) => [type, c.tag]),
) as { readonly [T in MessageType]: number }

export function isRequest(msg: Message): msg is Request {
  return REQUEST_TYPES.has(msg.type)
}

export function isResponse(msg: Message): msg is Response {
  return RESPONSE_TYPES.has(msg.type)
}

/** A part of the large-message transfer, which only messengers exchange. */
export function isTransferMessage(msg: Message): msg is TransferRequest | TransferResponse {
  return TRANSFER_TYPES.has(msg.type)
}

export function isBroadcast(msg: Message): msg is Broadcast {
  return BROADCAST_TYPES.has(msg.type)
}

export interface SizeOptions {
  /**
   * Largest encoding accepted, at most MAX_MESSAGE_BYTES. The default is one frame
   * (MAX_FRAME_BYTES); a larger message goes to a peer only in parts (the messenger's).
   */
  readonly maxBytes?: number
}

function sizeLimit(options: SizeOptions | undefined): number {
  const max = options?.maxBytes ?? MAX_FRAME_BYTES
  if (!(Number.isInteger(max) && max >= 2 && max <= MAX_MESSAGE_BYTES)) {
    throw new RangeError(`maxBytes must be an integer in 2..${MAX_MESSAGE_BYTES} (MAX_MESSAGE_BYTES), got ${String(max)}`)
  }
  return max
}

function limitName(max: number): string {
  return max === MAX_FRAME_BYTES ? `MAX_FRAME_BYTES (${max})` : max === MAX_MESSAGE_BYTES ? `MAX_MESSAGE_BYTES (${max})` : `the limit of ${max}`
}

/**
 * The frame of `msg`. Throws WireEncodeError when the message breaks a limit peers
 * enforce (an oversized batch or frame, a bad key, non-JSON element, …).
 */
export function encodeMessage(msg: Message, options?: SizeOptions): Uint8Array {
  const max = sizeLimit(options)
  const type = (msg as { type?: unknown } | null | undefined)?.type
  const codec = typeof type === 'string' ? (PAYLOADS as Record<string, AnyPayloadCodec | undefined>)[type] : undefined
  if (codec === undefined) throw new WireEncodeError(`not a message: unknown type ${describe(type)}`)
  const fail: Fail = (reason, cause) => {
    throw new WireEncodeError(`${String(type)}: ${reason}`, { cause })
  }
  const frame = writeFrame(codec, codec.toPb(msg as never, fail))
  if (frame.length > max) {
    throw new WireEncodeError(
      max === MAX_FRAME_BYTES
        ? `${String(type)} frame is ${frame.length} bytes, above MAX_FRAME_BYTES (${max}); split it into smaller batches`
        : `${String(type)} message is ${frame.length} bytes, above ${limitName(max)}; split it into smaller batches`,
    )
  }
  return frame
}

function writeFrame(codec: AnyPayloadCodec, payload: never): Uint8Array {
  const w = createWriter()
  // Both header bytes are below 0x80, where a varint is the byte itself.
  w.uint32(WIRE_VERSION)
  w.uint32(codec.tag)
  codec.codec().encode(payload, w, { lengthDelimited: false })
  const frame = w.finish()
  // Small frames come from Node's shared Buffer pool; give the caller its own memory, so
  // transferring or retaining the frame cannot touch other buffers.
  return frame.byteLength === frame.buffer.byteLength ? frame : frame.slice()
}

/** The message in `frame`. Throws WireDecodeError, and nothing else, unless it is a valid frame. */
export function decodeMessage(frame: Uint8Array, options?: SizeOptions): Message {
  const max = sizeLimit(options)
  try {
    return decodeFrame(frame, max)
  } catch (err) {
    if (err instanceof WireDecodeError) throw err
    // A bug or an engine limit (e.g. stack depth) on hostile input: still a refused frame.
    throw new WireDecodeError(`unreadable frame: ${(err as Error)?.message ?? String(err)}`, { cause: err })
  }
}

export function decodeRequest(frame: Uint8Array, options?: SizeOptions): Request {
  const msg = decodeMessage(frame, options)
  if (!isRequest(msg)) throw new WireDecodeError(`expected a request, got a ${msg.type} message`)
  return msg
}

export function decodeResponse(frame: Uint8Array, options?: SizeOptions): Response {
  const msg = decodeMessage(frame, options)
  if (!isResponse(msg)) throw new WireDecodeError(`expected a response, got a ${msg.type} message`)
  return msg
}

export function decodeBroadcast(frame: Uint8Array): Broadcast {
  const msg = decodeMessage(frame)
  if (!isBroadcast(msg)) throw new WireDecodeError(`expected a broadcast, got a ${msg.type} message`)
  return msg
}

function decodeFrame(frame: Uint8Array, max: number): Message {
  if (!(frame instanceof Uint8Array)) throw new WireDecodeError(`a frame must be a Uint8Array, got ${describe(frame)}`)
  if (frame.length > max) {
    throw new WireDecodeError(`${max === MAX_FRAME_BYTES ? 'frame' : 'message'} is ${frame.length} bytes, above ${limitName(max)}`)
  }
  if (frame.length < 2) throw new WireDecodeError(`frame is ${frame.length} bytes, shorter than its 2-byte header`)
  const version = frame[0] as number
  if (version !== WIRE_VERSION) {
    throw new WireDecodeError(`wire format version ${version} is not supported; this node speaks version ${WIRE_VERSION}`)
  }
  const tag = frame[1] as number
  const type = TYPE_OF_TAG.get(tag)
  if (type === undefined) throw new WireDecodeError(`message type tag 0x${tag.toString(16).padStart(2, '0')} is unknown`)
  const codec = PAYLOADS[type] as AnyPayloadCodec
  const fail: Fail = (reason, cause) => {
    throw new WireDecodeError(`${type}: ${reason}`, { cause })
  }

  const payload = frame.subarray(2)
  let decoded: never
  try {
    decoded = decodeProtobuf(payload, codec.codec(), { limits: codec.limits } as DecodeOptions<never>)
  } catch (err) {
    return fail(`payload is not valid protobuf for this type: ${(err as Error)?.message ?? String(err)}`, err)
  }
  const msg = codec.fromPb(decoded, fail)
  // toPb checks every limit; the comparison makes the frame the one encoding of `msg`.
  const again = writeFrame(codec, codec.toPb(msg as never, fail))
  if (!Buffer.from(again.buffer, again.byteOffset, again.length).equals(frame)) {
    fail('payload is not in canonical form (unknown, repeated or reordered fields, non-minimal varints, or trailing bytes)')
  }
  return msg
}
