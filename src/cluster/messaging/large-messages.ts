// Messages above one frame (a state of many large elements, or any batch or answer that
// carries one): the messenger sends them in parts of at most LARGE_PART_BYTES and the
// receiver puts them back together, so the engine sees no size limit below
// MAX_MESSAGE_BYTES. Each step is an ordinary request and response, so every transport
// carries it unchanged, within its frame limit.
//
//   a large request    A → large-part 0 … k-2   B stores each part, answers large-stored
//                      A → large-part k-1       B completes the message, handles it and
//                                               answers with its response
//   a large response   B → large-ready          B keeps the encoded response for A
//                      A → large-pull 0 … k-1   B answers each with large-data
//
// Parts carry the whole message's size and SHA-256, so they are placed by index and may
// arrive in any order or twice; a message is handled only if its parts add up to its
// digest. A copy of a request can arrive after the original and be answered first (the
// simulator duplicates frames), so a copy of the part that completed a message gets the
// original's answer, and a response pulled whole stays a moment for copies of its pulls.
// This file holds the limits and the sending side; ./large-message-buffers.ts the side
// that holds bytes (and bounds them).
import { createHash } from 'node:crypto'
import { concat } from 'uint8arrays/concat'
import { equals } from 'uint8arrays/equals'
import { TransportError } from '../../transport/transport.js'
import { LARGE_PART_BYTES, MAX_FRAME_BYTES, MAX_LARGE_PARTS, MAX_MESSAGE_BYTES } from '../../wire/limits.js'
import type { ErrorResponse, LargePartRequest, LargePullRequest, LargeReadyResponse, Response } from '../../wire/messages.js'
import { LARGE_PARTS_IN_FLIGHT, LARGE_PULLED_GRACE_MS, LARGE_TRANSFER_IDLE_TIMEOUT_MS, MAX_LARGE_BYTES_PER_PEER, MAX_LARGE_BYTES_TOTAL, MAX_LARGE_TRANSFERS_PER_PEER, MIN_LARGE_PART_TIMEOUT_MS } from './constants.js'

export interface LargeMessageLimits {
  /** Messages whose frame is above this travel in parts (MAX_FRAME_BYTES). */
  readonly frameBytes: number
  /** Bytes of every part but the last, which holds the rest (LARGE_PART_BYTES). */
  readonly partBytes: number
  /** Largest message sent or received (MAX_MESSAGE_BYTES). */
  readonly maxMessageBytes: number
  /** Half-received requests from one peer, and responses kept for one peer (each). */
  readonly maxTransfersPerPeer: number
  /** Bytes held for one peer: its half-received requests (their whole size) and responses kept for it. */
  readonly maxBytesPerPeer: number
  readonly maxBytesTotal: number
  /** A transfer without a part or pull for this long is dropped. */
  readonly idleTimeoutMs: number
  /** A response pulled whole is kept this long more, for late copies of its pulls. */
  readonly pulledGraceMs: number
  /** Parts of one message a sender has in flight at once. */
  readonly partsInFlight: number
  /** Floor of each part's request timeout. */
  readonly minPartTimeoutMs: number
}

export const DEFAULT_LARGE_MESSAGE_LIMITS: LargeMessageLimits = {
  frameBytes: MAX_FRAME_BYTES,
  partBytes: LARGE_PART_BYTES,
  maxMessageBytes: MAX_MESSAGE_BYTES,
  maxTransfersPerPeer: MAX_LARGE_TRANSFERS_PER_PEER,
  maxBytesPerPeer: MAX_LARGE_BYTES_PER_PEER,
  maxBytesTotal: MAX_LARGE_BYTES_TOTAL,
  idleTimeoutMs: LARGE_TRANSFER_IDLE_TIMEOUT_MS,
  pulledGraceMs: LARGE_PULLED_GRACE_MS,
  partsInFlight: LARGE_PARTS_IN_FLIGHT,
  minPartTimeoutMs: MIN_LARGE_PART_TIMEOUT_MS,
}

/** The defaults with `overrides` applied, checked against what the wire format allows. */
export function largeMessageLimits(overrides: Partial<LargeMessageLimits> = {}): LargeMessageLimits {
  const limits = { ...DEFAULT_LARGE_MESSAGE_LIMITS, ...withoutUndefined(overrides) }
  const check = (name: keyof LargeMessageLimits, min: number, max = Number.MAX_SAFE_INTEGER): void => {
    const v = limits[name]
    if (!(Number.isSafeInteger(v) && v >= min && v <= max)) throw new RangeError(`large-message limit ${name} must be an integer in ${min}..${max}, got ${v}`)
  }
  check('frameBytes', 64, MAX_FRAME_BYTES)
  check('partBytes', 1, Math.min(LARGE_PART_BYTES, limits.frameBytes - 128))
  check('maxMessageBytes', 1, Math.min(MAX_MESSAGE_BYTES, limits.partBytes * MAX_LARGE_PARTS))
  check('maxTransfersPerPeer', 1)
  check('maxBytesPerPeer', limits.maxMessageBytes)
  check('maxBytesTotal', limits.maxBytesPerPeer)
  check('idleTimeoutMs', 1)
  check('pulledGraceMs', 0, limits.idleTimeoutMs)
  check('partsInFlight', 1)
  check('minPartTimeoutMs', 0)
  return limits
}

/** Parts of a message of `size` bytes. */
export function partCount(size: number, partBytes: number): number {
  return Math.ceil(size / partBytes)
}

/** Bytes of part `index` of a message of `size` bytes. */
export function partLength(size: number, index: number, partBytes: number): number {
  return Math.min(partBytes, size - index * partBytes)
}

export function messageDigest(message: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(message).digest())
}

/**
 * A large message could not be sent or fetched whole: a part was refused or lost, or the
 * parts did not add up. Nothing was handled when it comes from sending a request's parts,
 * except when the last part's answer was lost; the caller retries as after a lost answer.
 */
export class LargeMessageError extends TransportError {
  constructor(readonly peer: string, reason: string) {
    super(`large message with ${peer}: ${reason}`)
  }
}

// ---- the sending and pulling side ---------------------------------------------------------

/** Sends one request frame and resolves with the decoded answer. */
export type PartExchange<R> = (request: R) => Promise<Response>

/**
 * Sends `message` (an encoded request) as parts over `exchange`, all but the last with up to
 * `partsInFlight` at once, then the last alone, and resolves with the answer to the last:
 * the message's response, or an error that refused a part (the message was not handled).
 * Throws LargeMessageError when the receiver lost parts or answered out of protocol.
 */
export async function sendInParts(
  peer: string,
  message: Uint8Array,
  transfer: number,
  limits: LargeMessageLimits,
  exchange: PartExchange<LargePartRequest>,
): Promise<Response> {
  const size = message.length
  const count = partCount(size, limits.partBytes)
  const digest = messageDigest(message)
  const part = (index: number): LargePartRequest => {
    const start = index * limits.partBytes
    return { type: 'large-part', transfer, index, size, digest, data: message.subarray(start, start + partLength(size, index, limits.partBytes)) }
  }
  let refusal: ErrorResponse | undefined
  await inWindow(count - 1, limits.partsInFlight, async (index) => {
    const answer = await exchange(part(index))
    if (answer.type === 'large-stored') return true
    if (answer.type === 'error') {
      refusal ??= answer
      return false
    }
    throw new LargeMessageError(peer, `part ${index} of ${count} was answered with ${answer.type}, not large-stored; the peer may run an incompatible rumordb version`)
  })
  if (refusal !== undefined) return refusal
  const answer = await exchange(part(count - 1))
  if (answer.type === 'large-stored') {
    throw new LargeMessageError(peer, `it lacks parts of the ${count} it acknowledged (it may have restarted, or dropped them as idle); the request was not handled, send it again`)
  }
  if (answer.type === 'large-data') throw new LargeMessageError(peer, `the last part was answered with ${answer.type}; the peer may run an incompatible rumordb version`)
  return answer
}

/**
 * Fetches the response `ready` announces, part by part over `exchange` (up to
 * `partsInFlight` at once), and returns its encoding after checking its digest. Throws
 * LargeMessageError if a part is refused, missing or wrong: the request was handled, its
 * response is lost.
 */
export async function pullParts(
  peer: string,
  ready: LargeReadyResponse,
  limits: LargeMessageLimits,
  exchange: PartExchange<LargePullRequest>,
): Promise<Uint8Array> {
  const { size, transfer } = ready
  if (size > limits.maxMessageBytes) {
    throw new LargeMessageError(peer, `its response is ${size} bytes, above the largest this node takes (${limits.maxMessageBytes})`)
  }
  const count = partCount(size, limits.partBytes)
  const parts = new Array<Uint8Array>(count)
  const lost = `the request was handled but its response is lost`
  await inWindow(count, limits.partsInFlight, async (index) => {
    const answer = await exchange({ type: 'large-pull', transfer, index })
    const expected = partLength(size, index, limits.partBytes)
    if (answer.type === 'large-data' && answer.data.length === expected) {
      parts[index] = answer.data
      return true
    }
    const got = answer.type === 'error' ? `${answer.code} ${answer.message}` : answer.type === 'large-data' ? `${answer.data.length} bytes, not ${expected}` : answer.type
    throw new LargeMessageError(peer, `pulling part ${index} of ${count} of response ${transfer} got ${got}; ${lost}`)
  })
  const message = concat(parts, size)
  if (!equals(messageDigest(message), ready.digest)) {
    throw new LargeMessageError(peer, `the ${count} parts of response ${transfer} do not match its digest; ${lost}`)
  }
  return message
}

/**
 * Runs `task(0)` … `task(count - 1)`, at most `width` at once, in index order. Stops
 * starting tasks once one returns false or throws; waits for those running; rethrows the
 * first error.
 */
async function inWindow(count: number, width: number, task: (index: number) => Promise<boolean>): Promise<void> {
  let next = 0
  let stop = false
  let failure: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (!stop && next < count) {
      const index = next++
      try {
        if (!(await task(index))) stop = true
      } catch (error) {
        stop = true
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker))
  if (failure !== undefined) throw failure.error
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
