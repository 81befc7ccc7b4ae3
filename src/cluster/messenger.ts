// Typed messaging over the byte Transport: encodes requests and broadcasts with the wire
// codec, decodes and type-checks answers, adapts request timeouts to each peer's observed
// latency, and counts messages and bytes for status and metrics.
import type { Transport } from '../transport/transport.js'
import { decodeBroadcast, decodeRequest, decodeResponse, encodeMessage } from '../wire/codec.js'
import type { Broadcast, Request, Response } from '../wire/messages.js'
import { LatencyTracker } from './latency-tracker.js'

export interface MessengerStats {
  requestsSent: number
  requestsFailed: number
  requestsReceived: number
  broadcastsSent: number
  broadcastsReceived: number
  bytesSent: number
  bytesReceived: number
  badFrames: number
}

export interface SendOptions {
  /** Overrides the adaptive timeout. */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

export type IncomingRequestHandler = (from: string, request: Request) => Promise<Response>
export type IncomingBroadcastHandler = (from: string, message: Broadcast) => void

export interface Messenger {
  readonly self: string
  readonly stats: Readonly<MessengerStats>
  readonly latency: LatencyTracker
  send(peer: string, request: Request, options?: SendOptions): Promise<Response>
  broadcast(message: Broadcast): void
}

export interface MessengerInit {
  readonly transport: Transport
  readonly now: () => number
  readonly onRequest: IncomingRequestHandler
  readonly onBroadcast: IncomingBroadcastHandler
}

export function createMessenger(init: MessengerInit): Messenger {
  const { transport, now } = init
  const latency = new LatencyTracker()
  const stats: MessengerStats = {
    requestsSent: 0,
    requestsFailed: 0,
    requestsReceived: 0,
    broadcastsSent: 0,
    broadcastsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    badFrames: 0,
  }

  transport.setRequestHandler(async (from, frame) => {
    stats.bytesReceived += frame.length
    let request: Request
    try {
      request = decodeRequest(frame)
    } catch (err) {
      stats.badFrames++
      const reply = encodeMessage({ type: 'error', code: 'BAD_REQUEST', message: `undecodable request: ${(err as Error).message}`.slice(0, 512) })
      stats.bytesSent += reply.length
      return reply
    }
    stats.requestsReceived++
    const response = await init.onRequest(from, request)
    const reply = encodeMessage(response)
    stats.bytesSent += reply.length
    return reply
  })

  transport.setBroadcastHandler((from, frame) => {
    stats.bytesReceived += frame.length
    let message: Broadcast
    try {
      message = decodeBroadcast(frame)
    } catch {
      stats.badFrames++
      return
    }
    stats.broadcastsReceived++
    init.onBroadcast(from, message)
  })

  return {
    self: transport.localPeerId,
    stats,
    latency,
    async send(peer, request, options = {}) {
      const frame = encodeMessage(request)
      stats.requestsSent++
      stats.bytesSent += frame.length
      const started = now()
      let reply: Uint8Array
      try {
        reply = await transport.request(peer, frame, {
          timeoutMs: options.timeoutMs ?? latency.timeoutFor(peer),
          signal: options.signal,
        })
      } catch (err) {
        stats.requestsFailed++
        throw err
      }
      latency.record(peer, now() - started)
      stats.bytesReceived += reply.length
      try {
        return decodeResponse(reply)
      } catch (err) {
        stats.badFrames++
        throw err
      }
    },
    broadcast(message) {
      const frame = encodeMessage(message)
      stats.broadcastsSent++
      stats.bytesSent += frame.length
      transport.broadcast(frame)
    },
  }
}
