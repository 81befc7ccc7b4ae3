// The serving side of a request channel (see ./channel.ts for the wire format): reads
// request frames from a long-lived inbound stream, runs the handler for each (up to
// MAX_IN_FLIGHT at once, then stops reading, so a flooding peer is slowed by the muxer's
// flow control) and writes each answer, tagged with its request id, as soon as it is
// ready. A frame that breaks the rules (oversized, malformed id, cut off, or stalled
// mid-frame for longer than the read timeout) resets the channel; a handler that throws
// or misses its deadline gets a `failed` answer and the channel goes on.
import type { Connection, Stream } from '@libp2p/interface'
import { pushable } from 'it-pushable'
import type { RequestHandler } from '../../src/transport/transport.js'
import { CHANNEL_FRAME_OVERHEAD, encodeResponse, parseRequest, STATUS_FAILED, STATUS_OK } from './channel-frames.js'
import type { Libp2pTransportCounters } from './counters.js'
import { describe } from './describe.js'
import { FrameError } from './errors.js'
import { FrameBatcher } from './frame-batcher.js'
import { readFrames } from './framing.js'
import type { TransportLogger } from './logger.js'
import type { ShutdownHooks } from './shutdown-hooks.js'

/** Requests of one channel being handled at once; the next frame is read when one finishes. */
const MAX_IN_FLIGHT = 64

export interface ServeOptions {
  readonly handler: () => RequestHandler | undefined
  readonly maxFrameBytes: number
  /** A frame once begun must be complete within this (an idle channel may stay open). */
  readonly readTimeoutMs: number
  readonly handlerTimeoutMs: number
  /** When the transport stops, the channel is reset and handlers still running fail. */
  readonly shutdown: ShutdownHooks
  readonly counters: Libp2pTransportCounters
  readonly log: TransportLogger
}

/** Serves one inbound channel until it ends, breaks or the transport stops. Never throws. */
export async function serveChannel(stream: Stream, connection: Connection, options: ServeOptions): Promise<void> {
  const from = connection.remotePeer.toString()
  const { counters, log } = options
  const out = pushable<Uint8Array>()
  const batcher = new FrameBatcher(out)
  const sending = stream.sink(out).catch(() => undefined)
  const reset = (reason: unknown): void => {
    batcher.end()
    stream.abort(reason instanceof Error ? reason : new Error(String(reason)))
  }
  const offShutdown = options.shutdown.on(() => reset(new Error('transport stopped')))

  let stallTimer: ReturnType<typeof setTimeout> | undefined
  const events = {
    frameStarted: () => {
      stallTimer = setTimeout(() => reset(new FrameError(`no complete frame within ${options.readTimeoutMs} ms`)), options.readTimeoutMs)
    },
    frameEnded: () => clearTimeout(stallTimer),
  }
  let inFlight = 0
  let slotFreed: (() => void) | undefined
  const answer = async (id: number, request: Uint8Array): Promise<void> => {
    try {
      const response = await handle(from, request, options)
      counters.requestsServed++
      counters.rpcBytesSent += response.length
      batcher.push(encodeResponse(id, STATUS_OK, response))
    } catch (err) {
      counters.requestsRefused++
      log.warn({ peer: from, protocol: stream.protocol, err: describe(err) }, 'request handler failed; answering failed')
      batcher.push(encodeResponse(id, STATUS_FAILED, new TextEncoder().encode(describe(err).slice(0, 500))))
    } finally {
      inFlight--
      slotFreed?.()
    }
  }

  try {
    for await (const frame of readFrames(stream.source, options.maxFrameBytes + CHANNEL_FRAME_OVERHEAD, events)) {
      const request = parseRequest(frame)
      if (request === undefined) throw new FrameError('request frame without a valid id')
      if (request.payload.length > options.maxFrameBytes) {
        throw new FrameError(`request of ${request.payload.length} bytes is above the limit of ${options.maxFrameBytes}`)
      }
      counters.rpcBytesReceived += request.payload.length
      inFlight++
      void answer(request.id, request.payload)
      while (inFlight >= MAX_IN_FLIGHT) await new Promise<void>((resolve) => (slotFreed = resolve))
      slotFreed = undefined
    }
    // The requester closed its side: finish the answers in flight, then close ours.
    while (inFlight > 0) await new Promise<void>((resolve) => (slotFreed = resolve))
    batcher.end()
    await sending
  } catch (err) {
    if (!options.shutdown.stopped) {
      counters.requestsRefused++
      log.debug({ peer: from, protocol: stream.protocol, err: describe(err) }, 'reset a request channel')
    }
    reset(err)
  } finally {
    clearTimeout(stallTimer)
    offShutdown()
  }
}

async function handle(from: string, request: Uint8Array, options: ServeOptions): Promise<Uint8Array> {
  const handler = options.handler()
  if (handler === undefined) throw new Error('no request handler is set')
  const response = await withDeadline(
    Promise.resolve().then(() => handler(from, request)),
    options.handlerTimeoutMs,
    options.shutdown,
  )
  if (!(response instanceof Uint8Array)) throw new TypeError('the request handler did not return a Uint8Array')
  if (response.length > options.maxFrameBytes) {
    throw new FrameError(`response of ${response.length} bytes is above the limit of ${options.maxFrameBytes}`)
  }
  return response
}

function withDeadline<T>(work: Promise<T>, ms: number, shutdown: ShutdownHooks): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`request handler did not answer within ${ms} ms`)), ms)
    const offShutdown = shutdown.on(() => reject(new Error('transport stopped')))
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer)
      offShutdown()
    })
  })
}
