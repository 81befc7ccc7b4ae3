// Typed messaging over the byte Transport: encodes requests and broadcasts with the wire
// codec, decodes and type-checks answers, adapts request timeouts to each peer's observed
// latency, and counts messages and bytes for status and metrics. A request or response
// too large for one frame travels in parts (./large-messages.ts), so the engine sends and
// serves messages up to MAX_MESSAGE_BYTES without knowing about frames. What a peer can
// make go wrong (undecodable frames, refused or dropped large transfers) is counted and
// logged at warn, at most once a minute per peer and kind.
import { heldBack, LogThrottle } from '../../base/log-throttle.js'
import { silentLogger, type Logger } from '../../base/logger.js'
import type { Transport } from '../../transport/transport.js'
import { decodeBroadcast, decodeRequest, decodeResponse, encodeMessage, isTransferMessage } from '../../wire/codec.js'
import { WireDecodeError, WireEncodeError } from '../../wire/errors.js'
import type { Broadcast, EngineRequest, EngineResponse, LargePartRequest, LargeReadyResponse, Request, Response } from '../../wire/messages.js'
import { LargeMessageBuffers, MAX_REMEMBERED_ANSWER_BYTES } from './large-message-buffers.js'
import { LargeMessageError, largeMessageLimits, pullParts, sendInParts, type LargeMessageLimits } from './large-messages.js'
import { LatencyTracker } from './latency-tracker.js'

/** A messenger's counters before it has sent or received anything. */
export function zeroMessengerStats(): MessengerStats {
  return {
    requestsSent: 0,
    requestsFailed: 0,
    requestsReceived: 0,
    broadcastsSent: 0,
    broadcastsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    badFrames: 0,
    largeSent: 0,
    largeReceived: 0,
    largeRefused: 0,
    largeDropped: 0,
    largeBytesHeld: 0,
  }
}

export interface MessengerStats {
  requestsSent: number
  requestsFailed: number
  requestsReceived: number
  broadcastsSent: number
  broadcastsReceived: number
  bytesSent: number
  bytesReceived: number
  badFrames: number
  /** Messages above one frame sent in parts: requests split, and responses kept for their requester to pull. */
  largeSent: number
  /** Messages above one frame received whole: requests reassembled, and responses pulled. */
  largeReceived: number
  /** Parts and pulls this node refused (bounds, parts that do not fit, unknown transfers). */
  largeRefused: number
  /** Large transfers dropped unfinished (idle past the timeout, or broken by conflicting parts). */
  largeDropped: number
  /** Bytes held now for large messages: reserved for half-received requests, and kept responses. */
  largeBytesHeld: number
}

export interface SendOptions {
  /**
   * Overrides the adaptive timeout of each request frame. Each part of a large message
   * (and each pull of a large answer) still gets at least `minPartTimeoutMs`: a part
   * carries up to 1 MiB, far more than a small request.
   */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

export type IncomingRequestHandler = (from: string, request: EngineRequest) => Promise<Response>
export type IncomingBroadcastHandler = (from: string, message: Broadcast) => void

export interface Messenger {
  readonly self: string
  readonly stats: Readonly<MessengerStats>
  readonly latency: LatencyTracker
  /** Sends a request of any size up to MAX_MESSAGE_BYTES and resolves with its response. */
  send(peer: string, request: Request, options?: SendOptions): Promise<EngineResponse>
  broadcast(message: Broadcast): void
}

export interface MessengerInit {
  readonly transport: Transport
  readonly now: () => number
  readonly onRequest: IncomingRequestHandler
  readonly onBroadcast: IncomingBroadcastHandler
  /** Overrides of the large-message bounds (DEFAULT_LARGE_MESSAGE_LIMITS). */
  readonly largeMessages?: Partial<LargeMessageLimits>
  /** `rumordb:messenger`: bad frames, large transfers refused or dropped (warn, rate-limited). */
  readonly logger?: Logger
}

/**
 * A request from `peer` was handled but its answer cannot be sent (too large to encode, or
 * no room to keep it for pulling). Thrown from the request handler, so the requester's
 * transport reports a failed answer: the request may have been handled, retry it with the
 * same id rather than elsewhere.
 */
export class AnswerLostError extends Error {
  override readonly name = 'AnswerLostError'
  constructor(
    readonly peer: string,
    reason: string,
  ) {
    super(`handled a request from ${peer} but cannot send its answer (${reason}); the request was handled, its answer is lost: retry it with the same id`.slice(0, 1024))
  }
}

export function createMessenger(init: MessengerInit): Messenger {
  const { transport, now } = init
  const latency = new LatencyTracker()
  const limits = largeMessageLimits(init.largeMessages)
  const large = new LargeMessageBuffers(limits)
  const whole = { maxBytes: limits.maxMessageBytes }
  const logger = init.logger ?? silentLogger
  const throttle = new LogThrottle(now)
  let nextTransfer = 1
  const stats = zeroMessengerStats()

  /** A warning about what `peer` sent or did, at most once a minute per peer and kind. */
  const warn = (kind: string, peer: string | undefined, fields: Record<string, unknown>, message: string): void => {
    const held = throttle.admit(`${kind}\u0000${peer ?? ''}`)
    if (held !== undefined) logger.warn({ ...(peer === undefined ? {} : { peer }), ...fields }, message + heldBack(held))
  }

  /** Drops idle transfers (no timers: any traffic sweeps) and refreshes the large counters. */
  const tidy = (): void => {
    large.sweep(now())
    const dropped = large.stats.dropped - stats.largeDropped
    stats.largeRefused = large.stats.refused
    stats.largeDropped = large.stats.dropped
    stats.largeBytesHeld = large.bytesHeld
    if (dropped > 0) {
      warn('dropped', undefined, { dropped }, `dropped ${dropped} unfinished large transfer${dropped === 1 ? '' : 's'}: idle for ${limits.idleTimeoutMs} ms, or broken by conflicting parts; their senders retry`)
    }
  }

  /** Answers that refuse a part, a pull or a response to keep: the peer learns why; the operator too. */
  const refused = <T extends Response>(peer: string, what: string, answer: T): T => {
    if (answer.type === 'error') warn('refused', peer, { code: answer.code }, `refused ${what} from ${peer}: ${answer.code} ${answer.message}`)
    return answer
  }

  const frameOf = (response: Response): Uint8Array => {
    const frame = encodeMessage(response)
    stats.bytesSent += frame.length
    return frame
  }

  /**
   * The frame answering a request: the response itself, or, above `maxFrame`, where to pull
   * it. The request was handled by now, so an answer that cannot be sent throws
   * AnswerLostError (the transport tells the requester it failed to answer, which may have
   * been handled) instead of answering an error: a coordinator takes an error answer for a
   * refusal and would apply the write at another replica too.
   */
  const answer = (from: string, response: Response, maxFrame = limits.frameBytes): Uint8Array => {
    let encoded: Uint8Array
    try {
      encoded = encodeMessage(response, whole)
    } catch (err) {
      if (!(err instanceof WireEncodeError)) throw err
      throw new AnswerLostError(from, err.message)
    }
    if (encoded.length <= maxFrame) {
      stats.bytesSent += encoded.length
      return encoded
    }
    const kept = refused(from, `to keep a ${encoded.length}-byte answer for`, large.keep(from, encoded, now()))
    tidy()
    if (kept.type !== 'large-ready') throw new AnswerLostError(from, `${kept.code} ${kept.message}`)
    stats.largeSent++
    return frameOf(kept)
  }

  /**
   * A part of a large request. The one that completes it is handled as the request, and
   * its answer is remembered for copies of that part, which must get the same answer.
   */
  const receivePart = (from: string, part: LargePartRequest): Promise<Uint8Array> => {
    const outcome = large.receivePart(from, part, now())
    tidy()
    if (outcome.type === 'repeat') return outcome.answer ?? Promise.resolve(frameOf({ type: 'large-stored' }))
    if (outcome.type !== 'complete') return Promise.resolve(frameOf(refused(from, `a part of large request ${part.transfer}`, outcome)))
    const answering = handleLarge(from, outcome.message).then((response) => answer(from, response, Math.min(limits.frameBytes, MAX_REMEMBERED_ANSWER_BYTES)))
    large.answered(from, part.transfer, part.digest, answering)
    answering.catch(() => {}) // the transport sees the failure; copies may never ask
    return answering
  }

  const handleLarge = async (from: string, message: Uint8Array): Promise<Response> => {
    let request: Request
    try {
      request = decodeRequest(message, whole)
    } catch (err) {
      stats.badFrames++
      warn('bad-frame', from, { err }, `undecodable large request from ${from}: ${(err as Error).message}; it may run an incompatible rumordb version`)
      return { type: 'error', code: 'BAD_REQUEST', message: `undecodable large request: ${(err as Error).message}`.slice(0, 512) }
    }
    if (isTransferMessage(request)) {
      stats.badFrames++
      warn('bad-frame', from, {}, `a large message from ${from} holds a ${request.type}; it may run an incompatible rumordb version`)
      return { type: 'error', code: 'BAD_REQUEST', message: `a large message holds a ${request.type}, which must be sent on its own` }
    }
    stats.largeReceived++
    stats.requestsReceived++
    return init.onRequest(from, request)
  }

  transport.setRequestHandler(async (from, frame) => {
    stats.bytesReceived += frame.length
    tidy()
    let request: Request
    try {
      request = decodeRequest(frame)
    } catch (err) {
      stats.badFrames++
      warn('bad-frame', from, { err }, `undecodable request from ${from}: ${(err as Error).message}; it may run an incompatible rumordb version`)
      return frameOf({ type: 'error', code: 'BAD_REQUEST', message: `undecodable request: ${(err as Error).message}`.slice(0, 512) })
    }
    switch (request.type) {
      case 'large-part':
        return receivePart(from, request)
      case 'large-pull': {
        const data = refused(from, `a pull of large answer ${request.transfer}`, large.pull(from, request, now()))
        tidy()
        return frameOf(data)
      }
      default:
        stats.requestsReceived++
        return answer(from, await init.onRequest(from, request))
    }
  })

  transport.setBroadcastHandler((from, frame) => {
    stats.bytesReceived += frame.length
    tidy()
    let message: Broadcast
    try {
      message = decodeBroadcast(frame)
    } catch (err) {
      stats.badFrames++
      warn('bad-broadcast', from, { err }, `undecodable broadcast from ${from}: ${(err as Error).message}; it may run an incompatible rumordb version`)
      return
    }
    stats.broadcastsReceived++
    init.onBroadcast(from, message)
  })

  /** One request frame to `peer`, answered by one response frame. A send counts one failure at most. */
  const exchange = async (peer: string, frame: Uint8Array, timeoutMs: number, signal: AbortSignal | undefined, failed: { counted: boolean }): Promise<Response> => {
    stats.bytesSent += frame.length
    let reply: Uint8Array
    try {
      reply = await transport.request(peer, frame, { timeoutMs, signal })
    } catch (err) {
      if (!failed.counted) stats.requestsFailed++
      failed.counted = true
      throw err
    }
    stats.bytesReceived += reply.length
    try {
      return decodeResponse(reply)
    } catch (err) {
      stats.badFrames++
      throw err
    }
  }

  /** The response a `large-ready` announces, pulled whole. */
  const pull = async (peer: string, ready: LargeReadyResponse, timeoutMs: number, signal: AbortSignal | undefined, failed: { counted: boolean }): Promise<EngineResponse> => {
    const encoded = await pullParts(peer, ready, limits, (p) => exchange(peer, encodeMessage(p), timeoutMs, signal, failed))
    let response: Response
    try {
      response = decodeResponse(encoded, whole)
    } catch (err) {
      stats.badFrames++
      throw err
    }
    if (isTransferMessage(response)) {
      stats.badFrames++
      throw new WireDecodeError(`a large response from ${peer} holds a ${response.type}, which is never sent that way`)
    }
    stats.largeReceived++
    return response
  }

  /** A large transfer that broke (parts lost, refused or wrong) is worth a warning; a timeout or abort is not. */
  const inParts = async <T>(peer: string, what: string, transfer: () => Promise<T>): Promise<T> => {
    try {
      return await transfer()
    } catch (err) {
      if (err instanceof LargeMessageError) warn('large-failed', peer, { err }, `${what} ${peer} failed: ${err.message}`)
      throw err
    }
  }

  return {
    self: transport.localPeerId,
    stats,
    latency,
    async send(peer, request, options = {}) {
      if (isTransferMessage(request)) throw new TypeError(`${request.type} is the messenger's own message; send the request it would carry instead`)
      tidy()
      const frame = encodeMessage(request, whole)
      stats.requestsSent++
      const failed = { counted: false }
      const timeoutMs = options.timeoutMs ?? latency.timeoutFor(peer)
      const partTimeoutMs = Math.max(timeoutMs, limits.minPartTimeoutMs)
      let response: Response
      if (frame.length <= limits.frameBytes) {
        const started = now()
        response = await exchange(peer, frame, timeoutMs, options.signal, failed)
        // Large answers are pulled after this: the sample is one small round trip.
        latency.record(peer, now() - started)
      } else {
        stats.largeSent++
        const transfer = nextTransfer++
        response = await inParts(peer, `sending a ${frame.length}-byte ${request.type} to`, () =>
          sendInParts(peer, frame, transfer, limits, (p) => exchange(peer, encodeMessage(p), partTimeoutMs, options.signal, failed)),
        )
        if (response.type === 'error') warn('refused-by', peer, { code: response.code }, `${peer} refused a ${frame.length}-byte ${request.type} sent in parts: ${response.code} ${response.message}`)
      }
      if (response.type === 'large-ready') {
        const ready = response
        return inParts(peer, `pulling a ${ready.size}-byte answer to ${request.type} from`, () => pull(peer, ready, partTimeoutMs, options.signal, failed))
      }
      if (isTransferMessage(response)) {
        stats.badFrames++
        throw new LargeMessageError(peer, `it answered ${request.type} with ${response.type}; it may run an incompatible rumordb version`)
      }
      return response
    },
    broadcast(message) {
      const frame = encodeMessage(message)
      stats.broadcastsSent++
      stats.bytesSent += frame.length
      transport.broadcast(frame)
    },
  }
}
