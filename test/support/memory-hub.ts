// Transports joined in one process on real time: frames are delivered on the next
// macrotask, so databases with real SQLite stores can form a cluster in a test without
// sockets. `cut(a, b)` drops frames between two peers; `down(id)` makes a peer unreachable.
import {
  PeerUnreachableError,
  TransportStoppedError,
  TransportTimeoutError,
  type BroadcastHandler,
  type PeerListener,
  type RequestHandler,
  type RequestOptions,
  type Transport,
} from '../../src/transport/transport.js'

export class MemoryHub {
  private readonly endpoints = new Map<string, MemoryTransport>()
  private readonly cuts = new Set<string>()

  transport(id: string): MemoryTransport {
    const t = new MemoryTransport(id, this)
    this.endpoints.set(id, t)
    return t
  }

  /** Drops every frame between a and b (both ways) until `mend`. */
  cut(a: string, b: string): void {
    this.cuts.add(pair(a, b))
    this.endpoint(a)?.lose(b)
    this.endpoint(b)?.lose(a)
  }

  mend(a: string, b: string): void {
    this.cuts.delete(pair(a, b))
    this.introduce(a, b)
  }

  endpoint(id: string): MemoryTransport | undefined {
    return this.endpoints.get(id)
  }

  reachable(a: string, b: string): boolean {
    const ea = this.endpoints.get(a)
    const eb = this.endpoints.get(b)
    return ea?.running === true && eb?.running === true && !this.cuts.has(pair(a, b))
  }

  /** Tells both running peers about each other. */
  introduce(a: string, b: string): void {
    if (!this.reachable(a, b)) return
    this.endpoints.get(a)?.see(b)
    this.endpoints.get(b)?.see(a)
  }

  started(id: string): void {
    for (const other of this.endpoints.keys()) if (other !== id) this.introduce(id, other)
  }

  stopped(id: string): void {
    for (const e of this.endpoints.values()) if (e.localPeerId !== id) e.lose(id)
  }
}

function pair(a: string, b: string): string {
  return a < b ? `${a}|${b}` : `${b}|${a}`
}

export class MemoryTransport implements Transport {
  running = false
  private requestHandler: RequestHandler | undefined
  private broadcastHandler: BroadcastHandler | undefined
  private readonly seenListeners: PeerListener[] = []
  private readonly lostListeners: PeerListener[] = []
  private readonly connected = new Set<string>()
  private readonly pending = new Set<(err: Error) => void>()

  constructor(
    readonly localPeerId: string,
    private readonly hub: MemoryHub,
  ) {}

  async request(peer: string, frame: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    if (!this.running) throw new TransportStoppedError()
    const remote = this.hub.endpoint(peer)
    if (remote === undefined || !remote.running) throw new PeerUnreachableError(peer)
    const copy = new Uint8Array(frame)
    return new Promise<Uint8Array>((resolve, reject) => {
      let done = false
      const finish = (fn: () => void): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        this.pending.delete(fail)
        options.signal?.removeEventListener('abort', onAbort)
        fn()
      }
      const fail = (err: Error): void => finish(() => reject(err))
      const onAbort = (): void => fail(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'))
      const timer = setTimeout(() => fail(new TransportTimeoutError(peer, options.timeoutMs)), options.timeoutMs)
      this.pending.add(fail)
      options.signal?.addEventListener('abort', onAbort)
      setImmediate(() => {
        if (!this.hub.reachable(this.localPeerId, peer)) return // lost: the requester times out
        remote.serve(this.localPeerId, copy).then(
          (reply) => {
            if (this.hub.reachable(this.localPeerId, peer)) setImmediate(() => finish(() => resolve(new Uint8Array(reply))))
          },
          (err: unknown) => fail(err instanceof Error ? err : new Error(String(err))),
        )
      })
    })
  }

  broadcast(frame: Uint8Array): void {
    if (!this.running) return
    for (const peer of this.connected) {
      const copy = new Uint8Array(frame)
      setImmediate(() => {
        if (this.hub.reachable(this.localPeerId, peer)) this.hub.endpoint(peer)?.deliver(this.localPeerId, copy)
      })
    }
  }

  setRequestHandler(handler: RequestHandler): void {
    this.requestHandler = handler
  }
  setBroadcastHandler(handler: BroadcastHandler): void {
    this.broadcastHandler = handler
  }
  onPeerSeen(listener: PeerListener): void {
    this.seenListeners.push(listener)
  }
  onPeerLost(listener: PeerListener): void {
    this.lostListeners.push(listener)
  }
  peers(): string[] {
    return [...this.connected].sort()
  }

  async start(): Promise<void> {
    if (this.running) return
    this.running = true
    this.hub.started(this.localPeerId)
  }

  async stop(): Promise<void> {
    if (!this.running) return
    this.running = false
    for (const fail of [...this.pending]) fail(new TransportStoppedError())
    this.connected.clear()
    this.hub.stopped(this.localPeerId)
  }

  /** @internal */
  serve(from: string, frame: Uint8Array): Promise<Uint8Array> {
    if (this.requestHandler === undefined) return Promise.reject(new Error('no request handler'))
    return this.requestHandler(from, frame)
  }
  /** @internal */
  deliver(from: string, frame: Uint8Array): void {
    if (this.running) this.broadcastHandler?.(from, frame)
  }
  /** @internal */
  see(peer: string): void {
    if (!this.running || this.connected.has(peer)) return
    this.connected.add(peer)
    for (const l of this.seenListeners) setImmediate(() => l(peer))
  }
  /** @internal */
  lose(peer: string): void {
    if (!this.connected.delete(peer)) return
    for (const l of this.lostListeners) setImmediate(() => l(peer))
  }
}
