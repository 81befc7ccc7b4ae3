// Request/response over long-lived libp2p streams ("channels"): one per peer and protocol,
// opened on the first request and kept for as long as the connection lives. Requests are
// pipelined on it, each tagged with an id (wire format: ./channel-frames.ts), and answers
// may come back in any order. Compared with one stream per request, this saves the stream
// handshake, protocol negotiation and peer-store update on every request (most of a
// request's CPU cost on loopback).
//
// Errors keep the meaning the engine relies on: PeerUnreachableError only when the request
// certainly never left (no channel could be opened); once a request was written, a broken
// channel is a TransportError (it may or may not have been served). A request that times
// out or is aborted is forgotten; its late answer is dropped and the channel goes on.
//
// Timeouts share one timer per channel, armed for the earliest deadline pending: a request
// on an open channel costs no timer, AbortController or listener of its own (they were a
// tenth of a writer's CPU in issue 15's profile). Only a request that must wait for its
// channel to open, or that carries its caller's signal, gets a signal.
import type { PeerId, Stream } from '@libp2p/interface'
import { pushable, type Pushable } from 'it-pushable'
import { PeerUnreachableError, TransportError } from '../../src/transport/transport.js'
import { MESSAGE_TAGS } from '../../src/wire/codec.js'
import { CHANNEL_FRAME_OVERHEAD, encodeRequest, parseResponse, STATUS_OK } from './channel-frames.js'
import { describe } from './describe.js'
import { FrameError } from './errors.js'
import { FrameBatcher } from './frame-batcher.js'
import { readFrames } from './framing.js'
import { RPC_PROTOCOL, SYNC_PROTOCOL } from './constants.js'

const SYNC_TAGS: ReadonlySet<number> = new Set([MESSAGE_TAGS['sync-root'], MESSAGE_TAGS['sync-keys'], MESSAGE_TAGS['sync-push']])

/** Anti-entropy requests (by the type tag, the frame's second byte) go on their own channel, so bulk sync cannot delay quorum traffic. */
export function protocolFor(frame: Uint8Array): string {
  return frame.length >= 2 && SYNC_TAGS.has(frame[1] as number) ? SYNC_PROTOCOL : RPC_PROTOCOL
}

export interface ChannelDialer {
  dialProtocol(peer: PeerId, protocols: string, options: { signal: AbortSignal }): Promise<Stream>
}

/** A request was offered to a channel that had already closed: it was not sent. */
class ChannelClosedError extends Error {}

/** When a request gives up: its deadline (performance.now() time) and its caller's signal. */
export interface RequestLimits {
  readonly deadline: number
  /** The error a request past its deadline rejects with. */
  readonly expired: () => Error
  readonly signal?: AbortSignal
}

interface Pending {
  readonly deadline: number
  readonly expired: () => Error
  resolve(response: Uint8Array): void
  reject(err: unknown): void
}

export class RequestChannel {
  private nextId = 0
  private readonly pending = new Map<number, Pending>()
  private readonly out: Pushable<Uint8Array> = pushable<Uint8Array>()
  private readonly batcher = new FrameBatcher(this.out)
  private closedBy: Error | undefined
  /** The shared timeout timer, armed for `timerAt`. */
  private timer: ReturnType<typeof setTimeout> | undefined
  private timerAt = Infinity

  constructor(
    private readonly stream: Stream,
    private readonly peer: string,
    private readonly maxFrameBytes: number,
    private readonly onClosed: (channel: RequestChannel) => void,
  ) {
    stream.sink(this.out).catch((err: unknown) => this.close(new TransportError(`channel to ${peer} failed: ${describe(err)}`, { cause: err })))
    void this.read()
  }

  get closed(): boolean {
    return this.closedBy !== undefined
  }

  /**
   * Sends `frame` and resolves with the answer; rejects with `limits.expired()` once past
   * its deadline, or with the signal's reason when it fires first.
   */
  request(frame: Uint8Array, limits: RequestLimits): Promise<Uint8Array> {
    if (this.closedBy !== undefined) return Promise.reject(new ChannelClosedError())
    const { signal, deadline, expired } = limits
    signal?.throwIfAborted()
    if (performance.now() >= deadline) return Promise.reject(expired())
    const id = this.nextId++
    return new Promise<Uint8Array>((resolve, reject) => {
      if (signal === undefined) {
        this.pending.set(id, { deadline, expired, resolve, reject })
      } else {
        const onAbort = (): void => {
          this.pending.delete(id)
          reject(signal.reason)
        }
        signal.addEventListener('abort', onAbort, { once: true })
        this.pending.set(id, {
          deadline,
          expired,
          resolve: (response) => {
            signal.removeEventListener('abort', onAbort)
            resolve(response)
          },
          reject: (err) => {
            signal.removeEventListener('abort', onAbort)
            reject(err)
          },
        })
      }
      this.arm(deadline)
      this.batcher.push(encodeRequest(id, frame))
    })
  }

  close(reason: Error): void {
    if (this.closedBy !== undefined) return
    this.closedBy = reason
    clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = Infinity
    this.batcher.end()
    this.stream.abort(reason)
    for (const p of this.pending.values()) p.reject(reason)
    this.pending.clear()
    this.onClosed(this)
  }

  /** Makes the shared timer fire by `deadline`. A later deadline waits for the next firing. */
  private arm(deadline: number): void {
    if (deadline >= this.timerAt) return
    clearTimeout(this.timer)
    this.timerAt = deadline
    // Unref'd: a request in flight keeps the process alive through its connection, not its timer.
    this.timer = setTimeout(this.expire, Math.max(0, deadline - performance.now()))
    this.timer.unref()
  }

  /** Rejects the requests past their deadline, then arms the timer for the earliest left. */
  private readonly expire = (): void => {
    this.timer = undefined
    this.timerAt = Infinity
    const now = performance.now()
    let next = Infinity
    for (const [id, p] of this.pending) {
      if (p.deadline <= now) {
        this.pending.delete(id)
        p.reject(p.expired())
      } else if (p.deadline < next) next = p.deadline
    }
    if (next < Infinity) this.arm(next)
  }

  private async read(): Promise<void> {
    try {
      for await (const frame of readFrames(this.stream.source, this.maxFrameBytes + CHANNEL_FRAME_OVERHEAD)) {
        const response = parseResponse(frame)
        if (response === undefined) throw new FrameError('response frame without a valid id and status')
        if (response.payload.length > this.maxFrameBytes) {
          throw new FrameError(`response of ${response.payload.length} bytes is above the limit of ${this.maxFrameBytes}`)
        }
        const waiting = this.pending.get(response.id)
        if (waiting === undefined) continue // its requester gave up
        this.pending.delete(response.id)
        if (response.status === STATUS_OK) waiting.resolve(response.payload)
        else waiting.reject(new TransportError(`peer ${this.peer} failed to answer: ${new TextDecoder().decode(response.payload)}`))
      }
      this.close(new TransportError(`peer ${this.peer} closed the channel`))
    } catch (err) {
      this.close(new TransportError(`peer ${this.peer} failed to answer: ${describe(err)}`, { cause: err }))
    }
  }
}

export interface ChannelPoolOptions {
  readonly maxFrameBytes: number
  /** Opening a channel (dial and protocol negotiation) gives up after this. */
  readonly openTimeoutMs: number
  /** Fires when the transport stops: open channels close, opening ones give up. */
  readonly shutdown: AbortSignal
}

/** The channels of one node, by peer and protocol. */
export class ChannelPool {
  private readonly open = new Map<string, RequestChannel>()
  private readonly opening = new Map<string, Promise<RequestChannel>>()

  constructor(
    private readonly dialer: ChannelDialer,
    private readonly options: ChannelPoolOptions,
  ) {
    options.shutdown.addEventListener('abort', () => this.closeAll(options.shutdown.reason), { once: true })
  }

  async request(peer: PeerId, protocol: string, frame: Uint8Array, limits: RequestLimits): Promise<Uint8Array> {
    // A channel can close between being looked up and being written to (its connection
    // dropped): the request was not sent, so one fresh channel is tried.
    for (let attempt = 0; ; attempt++) {
      const channel = this.openChannel(peer, protocol) ?? (await this.waitForChannel(peer, protocol, limits))
      try {
        return await channel.request(frame, limits)
      } catch (err) {
        if (!(err instanceof ChannelClosedError)) throw err
        if (attempt >= 1) throw new PeerUnreachableError(peer.toString(), 'its channel closed before the request was sent')
      }
    }
  }

  private openChannel(peer: PeerId, protocol: string): RequestChannel | undefined {
    const existing = this.open.get(`${peer.toString()} ${protocol}`)
    return existing !== undefined && !existing.closed ? existing : undefined
  }

  /** The channel once open; gives up at the request's deadline, its signal, or shutdown (with its reason). */
  private async waitForChannel(peer: PeerId, protocol: string, limits: RequestLimits): Promise<RequestChannel> {
    const controller = new AbortController()
    const { shutdown } = this.options
    const sources = limits.signal === undefined ? [shutdown] : [shutdown, limits.signal]
    const onAbort = (event: Event): void => controller.abort((event.target as AbortSignal).reason)
    for (const source of sources) {
      if (source.aborted) controller.abort(source.reason)
      else source.addEventListener('abort', onAbort, { once: true })
    }
    const timer = setTimeout(() => controller.abort(limits.expired()), Math.max(0, limits.deadline - performance.now()))
    try {
      return await this.channel(peer, protocol, controller.signal)
    } finally {
      clearTimeout(timer)
      for (const source of sources) source.removeEventListener('abort', onAbort)
    }
  }

  private async channel(peer: PeerId, protocol: string, signal: AbortSignal): Promise<RequestChannel> {
    const key = `${peer.toString()} ${protocol}`
    const existing = this.open.get(key)
    if (existing !== undefined && !existing.closed) return existing
    let opening = this.opening.get(key)
    if (opening === undefined) {
      opening = this.connect(peer, protocol, key)
      this.opening.set(key, opening)
      const settled = (): void => {
        if (this.opening.get(key) === opening) this.opening.delete(key)
      }
      opening.then(settled, settled)
    }
    return raceAbort(opening, signal)
  }

  private async connect(peer: PeerId, protocol: string, key: string): Promise<RequestChannel> {
    const signal = AbortSignal.any([this.options.shutdown, AbortSignal.timeout(this.options.openTimeoutMs)])
    let stream: Stream
    try {
      stream = await this.dialer.dialProtocol(peer, protocol, { signal })
    } catch (err) {
      throw new PeerUnreachableError(peer.toString(), describe(err))
    }
    if (this.options.shutdown.aborted) {
      stream.abort(new Error('transport stopped'))
      throw new PeerUnreachableError(peer.toString(), 'the transport stopped')
    }
    const channel = new RequestChannel(stream, peer.toString(), this.options.maxFrameBytes, (closed) => {
      if (this.open.get(key) === closed) this.open.delete(key)
    })
    this.open.set(key, channel)
    return channel
  }

  private closeAll(reason: unknown): void {
    const err = reason instanceof Error ? reason : new TransportError('transport stopped')
    for (const channel of [...this.open.values()]) channel.close(err)
    this.open.clear()
  }
}

function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}
