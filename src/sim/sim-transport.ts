// One simulated node's Transport. It owns its requests (timeouts on its own clock, abort
// signals, first response wins); the network (SimWire) owns what happens on the way:
// latency, loss, duplication, partitions, dead endpoints. Every delivered frame is a fresh
// copy, so nodes never share a buffer.
//
// Failure semantics, chosen to match what libp2p shows an engine:
// - request to a peer id the network never heard of, or to itself: PeerUnreachableError at once;
// - a frame lost on the way (loss, partition, receiver crashed or stopped): the requester
//   hears nothing and gets TransportTimeoutError, unless the network is configured with
//   `deadPeers: 'refuse'` (a killed process whose host answers with a reset), in which
//   case a request to a crashed or stopped peer gets PeerUnreachableError after a round trip;
// - the remote handler throws or rejects (or no handler is set, or it returns no bytes):
//   the remote answers with an error frame, which travels back like a response (and can be
//   lost); the requester gets a plain TransportError naming the peer and the remote message
//   (libp2p resets the stream);
// - stop(): every pending request rejects with TransportStoppedError, as does any later call;
// - crash (network.crash): the endpoint is dead, as is the process: its pending requests
//   never settle, its timers never fire, frames to it vanish, and nothing it sends leaves.
//   A crash with `connections: 'reset'` (the process died, its host lives on) also resets
//   every request other nodes have pending with it (ConnectionResetError: it may have been
//   handled) and refuses later ones (PeerUnreachableError) until the node restarts;
// - an answer lost with its connection reset (link `reset`): the request was handled, the
//   requester gets ConnectionResetError;
// - `answerHook` lets a harness kill the node after a request was handled and committed,
//   before its answer leaves (the hook crashes the node and returns true).
// - request() before start() rejects with TransportStoppedError; broadcast() before start
//   or after stop does nothing; start() after stop() rejects (network.restart gives a new
//   endpoint). A broadcast handler or peer listener that throws ends the simulation run
//   with that error: engine handlers must not throw, even on garbage frames.
import type { TimerHandle } from '../base/clock.js'
import {
  ConnectionResetError,
  PeerUnreachableError,
  TransportError,
  TransportStoppedError,
  TransportTimeoutError,
  type BroadcastHandler,
  type PeerListener,
  type RequestHandler,
  type RequestOptions,
  type Transport,
} from '../transport/transport.js'
import type { SimClock } from './sim-clock.js'

/** Traffic of one node (all its incarnations). */
export interface NodeCounters {
  /** Frames this node put on a link (one per receiver of a broadcast), whatever became of them. */
  messagesSent: number
  bytesSent: number
  /** Frames delivered to this node, duplicates included. */
  messagesReceived: number
  bytesReceived: number
}

export type FrameKind = 'request' | 'response' | 'broadcast'

/** What SimTransport needs from the network. */
export interface SimWire {
  /** The live-or-dead endpoint currently registered for `peerId`, or undefined if the id is unknown. */
  endpoint(peerId: string): SimTransport | undefined
  /**
   * Sends `frame` (the caller will not mutate it). `deliver` runs at arrival with a private
   * copy, only if the frame made it. For requests, `refused` runs instead, after a round
   * trip, when the receiver is down and the network refuses connections to dead peers.
   */
  send(
    from: SimTransport,
    to: SimTransport,
    kind: FrameKind,
    frame: Uint8Array,
    deliver: (copy: Uint8Array) => void,
    refused?: () => void,
    reset?: () => void,
  ): void
  /** Sends one copy of `frame` to every peer `from` can reach. */
  broadcast(from: SimTransport, frame: Uint8Array): void
  peersOf(endpoint: SimTransport): string[]
  started(endpoint: SimTransport): void
  stopped(endpoint: SimTransport): void
  requestOpened(): void
  requestClosed(): void
}

type EndpointState = 'new' | 'running' | 'stopped' | 'dead'

interface PendingRequest {
  readonly peer: string
  settled: boolean
  timer: TimerHandle | undefined
  detachAbort: (() => void) | undefined
  resolve: (frame: Uint8Array) => void
  reject: (err: unknown) => void
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

export class SimTransport implements Transport {
  private state: EndpointState = 'new'
  private requestHandler: RequestHandler | undefined
  private broadcastHandler: BroadcastHandler | undefined
  private seenListeners: PeerListener[] = []
  private lostListeners: PeerListener[] = []
  private readonly pending = new Set<PendingRequest>()
  private stopping: Promise<void> | undefined
  /** Cached peers() (see SimNetwork). */
  peerCache: { version: number; peers: string[] } | undefined
  /** How this endpoint's death looks to others: its connections reset (host up) or go silent (host gone). */
  deathMode: 'reset' | 'silent' = 'silent'
  /**
   * Called when a request was handled, before its answer leaves; returning true means the
   * node was killed meanwhile and the answer must not be sent. For fault injection.
   */
  answerHook: ((from: string, request: Uint8Array) => boolean) | undefined

  constructor(
    readonly localPeerId: string,
    /** This incarnation's clock: request timeouts run on it. */
    readonly clock: SimClock,
    private readonly wire: SimWire,
    /** Restart count of the node this endpoint belongs to (0 for the first). */
    readonly incarnation: number,
    /** The node's traffic counters, kept by the network. */
    readonly counters: NodeCounters,
  ) {}

  /** Started, and neither stopped nor crashed: it sends and receives. */
  get isRunning(): boolean {
    return this.state === 'running'
  }

  /** stop() was called (and the node did not crash). */
  get isStopped(): boolean {
    return this.state === 'stopped'
  }

  get isDead(): boolean {
    return this.state === 'dead'
  }

  /** Requests sent and not yet settled. */
  get pendingRequests(): number {
    return this.pending.size
  }

  setRequestHandler(handler: RequestHandler): void {
    this.requestHandler = handler
  }

  setBroadcastHandler(handler: BroadcastHandler): void {
    this.broadcastHandler = handler
  }

  onPeerSeen(listener: PeerListener): void {
    if (this.state !== 'dead') this.seenListeners.push(listener)
  }

  onPeerLost(listener: PeerListener): void {
    if (this.state !== 'dead') this.lostListeners.push(listener)
  }

  peers(): string[] {
    return this.state === 'running' ? [...this.wire.peersOf(this)] : []
  }

  /** Joins the network: every reachable running node and this one see each other (peer-seen events at this instant). */
  start(): Promise<void> {
    if (this.state === 'running') return Promise.resolve()
    if (this.state !== 'new') return Promise.reject(new TransportStoppedError())
    this.state = 'running'
    this.wire.started(this)
    return Promise.resolve()
  }

  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping
    this.stopping = Promise.resolve()
    // A dead endpoint's process is gone: nothing of it runs, not even its rejections.
    if (this.state === 'dead') return this.stopping
    const wasRunning = this.state === 'running'
    this.state = 'stopped'
    for (const p of [...this.pending]) this.settle(p, () => p.reject(new TransportStoppedError()))
    if (wasRunning) this.wire.stopped(this)
    this.dropHandlers()
    return this.stopping
  }

  request(peer: string, frame: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    if (this.state === 'dead') return new Promise<never>(() => undefined)
    if (this.state !== 'running') return Promise.reject(new TransportStoppedError())
    const { timeoutMs, signal } = options
    if (!(timeoutMs >= 0)) {
      return Promise.reject(new RangeError(`request timeoutMs must be a number >= 0, got ${String(timeoutMs)}`))
    }
    if (signal?.aborted === true) return Promise.reject(signal.reason)
    if (peer === this.localPeerId) return Promise.reject(new PeerUnreachableError(peer, 'it is this node'))
    const target = this.wire.endpoint(peer)
    if (target === undefined) return Promise.reject(new PeerUnreachableError(peer, 'no such peer in the network'))

    return new Promise<Uint8Array>((resolve, reject) => {
      const p: PendingRequest = { peer, settled: false, timer: undefined, detachAbort: undefined, resolve, reject }
      this.pending.add(p)
      this.wire.requestOpened()
      if (timeoutMs !== Infinity) {
        p.timer = this.clock.setTimeout(() => {
          p.timer = undefined
          this.settle(p, () => reject(new TransportTimeoutError(peer, timeoutMs)))
        }, timeoutMs)
      }
      if (signal !== undefined) {
        const onAbort = () => this.settle(p, () => reject(signal.reason))
        signal.addEventListener('abort', onAbort, { once: true })
        p.detachAbort = () => signal.removeEventListener('abort', onAbort)
      }
      const answer = (outcome: Uint8Array, ok: boolean) => {
        if (this.state !== 'running') return
        if (ok) this.settle(p, () => resolve(outcome))
        else this.settle(p, () => reject(new TransportError(`peer ${peer} failed to answer: ${decoder.decode(outcome)}`)))
      }
      this.wire.send(
        this,
        target,
        'request',
        new Uint8Array(frame),
        (copy) => {
          void target.serve(this.localPeerId, copy).then(([ok, out]) => {
            // A handler that finishes after its node crashed or stopped sends nothing.
            if (!target.isRunning) return
            if (target.answerHook?.(this.localPeerId, copy) === true || !target.isRunning) return
            this.wire.send(
              target,
              this,
              'response',
              out,
              (response) => answer(response, ok),
              undefined,
              () => {
                if (this.state === 'running') this.settle(p, () => reject(new ConnectionResetError(peer)))
              },
            )
          })
        },
        () => this.settle(p, () => reject(new PeerUnreachableError(peer, 'connection refused (the peer is down)'))),
      )
    })
  }

  broadcast(frame: Uint8Array): void {
    if (this.state !== 'running') return
    this.wire.broadcast(this, new Uint8Array(frame))
  }

  /** Runs the request handler; the outcome is [true, response] or [false, error message]. */
  private async serve(from: string, frame: Uint8Array): Promise<[boolean, Uint8Array]> {
    const handler = this.requestHandler
    if (handler === undefined) return [false, encoder.encode('no request handler is set')]
    try {
      const response: unknown = await handler(from, frame)
      if (!(response instanceof Uint8Array)) {
        return [false, encoder.encode('the request handler returned no bytes')]
      }
      // Copied now: the handler may reuse its buffer once it returned.
      return [true, new Uint8Array(response)]
    } catch (err) {
      return [false, encoder.encode(err instanceof Error ? `${err.name}: ${err.message}` : String(err))]
    }
  }

  /** Called by the network at a frame's arrival. */
  receiveBroadcast(from: string, frame: Uint8Array): void {
    if (this.state === 'running') this.broadcastHandler?.(from, frame)
  }

  /** Called by the network (a scheduled event) to report reachability changes. */
  emitPeer(event: 'seen' | 'lost', peerId: string): void {
    if (this.state !== 'running') return
    for (const listener of event === 'seen' ? this.seenListeners : this.lostListeners) listener(peerId)
  }

  /**
   * `peer` died with its connections reset: after `delayMs` every request still pending
   * with it fails with ConnectionResetError (it may have been handled).
   */
  resetRequestsTo(peer: string, delayMs: number): void {
    if (this.state !== 'running') return
    const victims = [...this.pending].filter((p) => p.peer === peer)
    if (victims.length === 0) return
    this.clock.setTimeout(() => {
      if (this.state !== 'running') return
      for (const p of victims) this.settle(p, () => p.reject(new ConnectionResetError(peer, 'connection reset: the peer process died')))
    }, delayMs)
  }

  /** The node crashed: nothing of this endpoint runs again. Returns how many requests were left pending. */
  kill(mode: 'reset' | 'silent' = 'silent'): number {
    const left = this.state === 'dead' ? 0 : this.pending.size
    this.state = 'dead'
    this.deathMode = mode
    this.answerHook = undefined
    for (const p of this.pending) {
      p.settled = true
      p.detachAbort?.()
    }
    this.pending.clear()
    this.dropHandlers()
    return left
  }

  private settle(p: PendingRequest, finish: () => void): void {
    if (p.settled) return
    p.settled = true
    if (p.timer !== undefined) this.clock.clearTimeout(p.timer)
    p.detachAbort?.()
    this.pending.delete(p)
    this.wire.requestClosed()
    finish()
  }

  private dropHandlers(): void {
    this.requestHandler = undefined
    this.broadcastHandler = undefined
    this.seenListeners = []
    this.lostListeners = []
  }
}
