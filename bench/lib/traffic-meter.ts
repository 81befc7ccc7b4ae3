// Bytes an engine puts on the wire, by message type: a Transport that wraps another and
// reads the type tag (second byte) of every frame it sends, requests, responses and
// broadcasts alike. A broadcast counts once per peer it goes to, as the network sends it.
// The simulator's own counters know frame kinds but not message types, and a benchmark
// has to tell heartbeats (all-to-all, its own artifact) from replication traffic.
import type { BroadcastHandler, PeerListener, RequestHandler, RequestOptions, Transport } from '../../src/transport/transport.js'
import { MESSAGE_TAGS } from '../../src/wire/codec.js'
import type { MessageType } from '../../src/wire/messages.js'

const TYPE_OF_TAG = new Map<number, MessageType>(Object.entries(MESSAGE_TAGS).map(([type, tag]) => [tag, type as MessageType]))

/** Bytes sent, by message type, summed over every transport that reports to it. */
export class TrafficMeter {
  private readonly bytes = new Map<string, number>()

  count(frame: Uint8Array, copies = 1): void {
    const type = TYPE_OF_TAG.get(frame[1] ?? -1) ?? 'unknown'
    this.bytes.set(type, (this.bytes.get(type) ?? 0) + frame.length * copies)
  }

  /** A copy of the totals so far. */
  snapshot(): Map<string, number> {
    return new Map(this.bytes)
  }

  /** Bytes sent since `before` (a snapshot), by message type, types with none left out. */
  since(before: ReadonlyMap<string, number>): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [type, total] of [...this.bytes].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const delta = total - (before.get(type) ?? 0)
      if (delta > 0) out[type] = delta
    }
    return out
  }

  /** A transport that behaves like `inner` and reports what it sends here. */
  wrap(inner: Transport): Transport {
    return new MeteredTransport(inner, this)
  }
}

class MeteredTransport implements Transport {
  readonly localPeerId: string
  // Only where the inner transport has it: engines skip the work when it is missing.
  readonly learnPeerAddresses?: (peer: string, addrs: readonly string[]) => void

  constructor(
    private readonly inner: Transport,
    private readonly meter: TrafficMeter,
  ) {
    this.localPeerId = inner.localPeerId
    const learn = inner.learnPeerAddresses
    if (learn !== undefined) this.learnPeerAddresses = (peer, addrs) => learn.call(inner, peer, addrs)
  }

  request(peer: string, frame: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    this.meter.count(frame)
    return this.inner.request(peer, frame, options)
  }

  broadcast(frame: Uint8Array): void {
    this.meter.count(frame, this.inner.peers().length)
    this.inner.broadcast(frame)
  }

  setRequestHandler(handler: RequestHandler): void {
    this.inner.setRequestHandler(async (from, frame) => {
      const response = await handler(from, frame)
      this.meter.count(response)
      return response
    })
  }

  setBroadcastHandler(handler: BroadcastHandler): void {
    this.inner.setBroadcastHandler(handler)
  }

  onPeerSeen(listener: PeerListener): void {
    this.inner.onPeerSeen(listener)
  }

  onPeerLost(listener: PeerListener): void {
    this.inner.onPeerLost(listener)
  }

  peers(): string[] {
    return this.inner.peers()
  }

  start(): Promise<void> {
    return this.inner.start()
  }

  stop(): Promise<void> {
    return this.inner.stop()
  }
}
