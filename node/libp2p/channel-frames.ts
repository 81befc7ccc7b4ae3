// Frames of a request channel (./channel.ts). Each is length-prefixed (./framing.ts):
//   request  [varint request id][request bytes]
//   response [varint request id][status byte][response bytes, or a UTF-8 reason when failed]
// Ids are chosen by the requester, one per request on its channel; answers may come in
// any order.
import { readVarint, varintLength, writeVarint } from './framing.js'

export const STATUS_OK = 0
/** The handler threw or missed its deadline: the payload says why. */
export const STATUS_FAILED = 1

/** Bytes a channel frame adds to the engine's frame: the id (at most 8) and the status. */
export const CHANNEL_FRAME_OVERHEAD = 16

/** A request, length prefix included, as one buffer. */
export function encodeRequest(id: number, payload: Uint8Array): Uint8Array {
  const body = varintLength(id) + payload.length
  const out = new Uint8Array(varintLength(body) + body)
  const offset = writeVarint(out, writeVarint(out, 0, body), id)
  out.set(payload, offset)
  return out
}

export function encodeResponse(id: number, status: number, payload: Uint8Array): Uint8Array {
  const body = varintLength(id) + 1 + payload.length
  const out = new Uint8Array(varintLength(body) + body)
  let offset = writeVarint(out, writeVarint(out, 0, body), id)
  out[offset++] = status
  out.set(payload, offset)
  return out
}

/** A request frame (without its length prefix); undefined when the id is malformed. */
export function parseRequest(frame: Uint8Array): { id: number; payload: Uint8Array } | undefined {
  const id = readVarint(frame, 0)
  if (id === undefined) return undefined
  return { id: id[0], payload: frame.subarray(id[1]) }
}

export function parseResponse(frame: Uint8Array): { id: number; status: number; payload: Uint8Array } | undefined {
  const id = readVarint(frame, 0)
  if (id === undefined) return undefined
  const status = frame[id[1]]
  if (status !== STATUS_OK && status !== STATUS_FAILED) return undefined
  return { id: id[0], status, payload: frame.subarray(id[1] + 1) }
}
