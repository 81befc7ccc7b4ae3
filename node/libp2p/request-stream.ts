// One request per stream, both sides: the requester writes one frame, closes its write
// side and reads one frame; the server reads one frame, runs the handler and writes one
// frame. Anything else (oversized or truncated frames, a silent peer, a handler that
// throws) resets the stream, so neither side holds it longer than its deadline.
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import { PeerUnreachableError, TransportError, type RequestHandler } from '../../src/transport/transport.js'
import { MESSAGE_TAGS } from '../../src/wire/codec.js'
import { RPC_PROTOCOL, STREAM_CLOSE_TIMEOUT_MS, SYNC_PROTOCOL } from './constants.js'
import type { Libp2pTransportCounters } from './counters.js'
import { FrameError } from './errors.js'
import { encodeFrame, readFrame } from './framing.js'
import type { TransportLogger } from './logger.js'

const SYNC_TAGS: ReadonlySet<number> = new Set([MESSAGE_TAGS['sync-root'], MESSAGE_TAGS['sync-keys'], MESSAGE_TAGS['sync-push']])

/** Anti-entropy requests (by the type tag, the frame's second byte) go on their own protocol. */
export function protocolFor(frame: Uint8Array): string {
  return frame.length >= 2 && SYNC_TAGS.has(frame[1] as number) ? SYNC_PROTOCOL : RPC_PROTOCOL
}

export interface Dialer {
  dialProtocol(peer: PeerId, protocols: string, options: { signal: AbortSignal; negotiateFully?: boolean }): Promise<Stream>
}

/**
 * Sends `frame` to `peer` and returns its answer. Rejects with PeerUnreachableError when
 * no stream can be opened and TransportError when the exchange fails; when `signal`
 * fires, the stream is reset and the promise rejects (callers map that to the reason).
 */
export async function exchange(
  dialer: Dialer,
  peer: PeerId,
  frame: Uint8Array,
  maxFrameBytes: number,
  signal: AbortSignal,
): Promise<Uint8Array> {
  let stream: Stream
  try {
    stream = await dialer.dialProtocol(peer, protocolFor(frame), { signal, negotiateFully: false })
  } catch (err) {
    throw new PeerUnreachableError(peer.toString(), describe(err))
  }
  const onAbort = (): void => stream.abort(signal.reason instanceof Error ? signal.reason : new Error('request aborted'))
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    if (signal.aborted) onAbort()
    await stream.sink([encodeFrame(frame)])
    const response = await readFrame(stream.source, maxFrameBytes)
    closeQuietly(stream)
    return response
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    throw new TransportError(`peer ${peer.toString()} failed to answer: ${describe(err)}`, { cause: err })
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

export interface ServeOptions {
  readonly handler: () => RequestHandler | undefined
  readonly maxFrameBytes: number
  readonly readTimeoutMs: number
  readonly handlerTimeoutMs: number
  /** Fires when the transport stops: streams still waiting for the handler are reset. */
  readonly shutdown: AbortSignal
  readonly counters: Libp2pTransportCounters
  readonly log: TransportLogger
}

/** Serves one inbound request stream. Never throws. */
export async function serveStream(stream: Stream, connection: Connection, options: ServeOptions): Promise<void> {
  const from = connection.remotePeer.toString()
  const { counters, log } = options
  const refuse = (reason: unknown, message: string): void => {
    counters.requestsRefused++
    log.debug({ peer: from, protocol: stream.protocol, err: describe(reason) }, message)
    stream.abort(reason instanceof Error ? reason : new Error(String(reason)))
  }

  const readTimer = setTimeout(
    () => stream.abort(new FrameError(`no complete request within ${options.readTimeoutMs} ms`)),
    options.readTimeoutMs,
  )
  let request: Uint8Array
  try {
    request = await readFrame(stream.source, options.maxFrameBytes)
  } catch (err) {
    return refuse(err, 'refused a request stream')
  } finally {
    clearTimeout(readTimer)
  }
  counters.rpcBytesReceived += request.length

  let response: Uint8Array
  try {
    const handler = options.handler()
    if (handler === undefined) throw new Error('no request handler is set')
    response = await withDeadline(
      Promise.resolve().then(() => handler(from, request)),
      options.handlerTimeoutMs,
      options.shutdown,
    )
    if (!(response instanceof Uint8Array)) throw new TypeError('the request handler did not return a Uint8Array')
    if (response.length > options.maxFrameBytes) {
      throw new FrameError(`response of ${response.length} bytes is above the limit of ${options.maxFrameBytes}`)
    }
  } catch (err) {
    // The engine's handler answers errors with error frames; a throw is an internal fault.
    log.warn({ peer: from, err: describe(err) }, 'request handler failed; resetting the stream')
    return refuse(err, 'request handler failed')
  }

  try {
    await stream.sink([encodeFrame(response)])
  } catch (err) {
    return refuse(err, 'could not send a response')
  }
  counters.requestsServed++
  counters.rpcBytesSent += response.length
  closeQuietly(stream)
}

function withDeadline<T>(work: Promise<T>, ms: number, shutdown: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const stop = (): void => reject(new Error('transport stopped'))
    const timer = setTimeout(() => reject(new Error(`request handler did not answer within ${ms} ms`)), ms)
    shutdown.addEventListener('abort', stop, { once: true })
    if (shutdown.aborted) stop()
    work.then(resolve, reject).finally(() => {
      clearTimeout(timer)
      shutdown.removeEventListener('abort', stop)
    })
  })
}

function closeQuietly(stream: Stream): void {
  stream.close({ signal: AbortSignal.timeout(STREAM_CLOSE_TIMEOUT_MS) }).catch((err: unknown) => {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
  })
}

export function describe(err: unknown): string {
  if (err instanceof Error) return err.name !== 'Error' && !err.message.startsWith(err.name) ? `${err.name}: ${err.message}` : err.message
  return String(err)
}
