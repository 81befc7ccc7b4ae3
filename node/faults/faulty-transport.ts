// A Transport that behaves like another one except towards the peers a FaultInjector
// blocks: requests to them fail at once as unreachable, requests and broadcasts from them
// are refused or dropped, and they leave peers(). Blocking both sides of a cut (every node
// blocks the nodes on the other side) makes a partition; the bench and tests do that. One
// side alone cannot stop its own broadcasts from reaching the other: gossipsub picks the
// recipients, so the receiving side has to drop them.
import {
  PeerUnreachableError,
  type BroadcastHandler,
  type PeerListener,
  type RequestHandler,
  type RequestOptions,
  type Transport,
} from '../../src/transport/transport.js'

/** What a FaultyTransport asks of its injector. */
export interface BlockList {
  isBlocked(peer: string): boolean
}

export const BLOCKED_REASON = 'blocked by fault injection'

export class FaultyTransport implements Transport {
  readonly localPeerId: string
  // Only where the inner transport has it: engines skip the work when it is missing.
  readonly learnPeerAddresses?: (peer: string, addrs: readonly string[]) => void
  private readonly seenListeners: PeerListener[] = []
  private readonly lostListeners: PeerListener[] = []

  constructor(
    private readonly inner: Transport,
    private readonly blocks: BlockList,
  ) {
    this.localPeerId = inner.localPeerId
    const learn = inner.learnPeerAddresses
    if (learn !== undefined) this.learnPeerAddresses = (peer, addrs) => learn.call(inner, peer, addrs)
  }

  async request(peer: string, frame: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    if (this.blocks.isBlocked(peer)) throw new PeerUnreachableError(peer, BLOCKED_REASON)
    return this.inner.request(peer, frame, options)
  }

  broadcast(frame: Uint8Array): void {
    this.inner.broadcast(frame)
  }

  setRequestHandler(handler: RequestHandler): void {
    this.inner.setRequestHandler(async (from, frame) => {
      if (this.blocks.isBlocked(from)) throw new PeerUnreachableError(from, BLOCKED_REASON)
      return handler(from, frame)
    })
  }

  setBroadcastHandler(handler: BroadcastHandler): void {
    this.inner.setBroadcastHandler((from, frame) => {
      if (!this.blocks.isBlocked(from)) handler(from, frame)
    })
  }

  onPeerSeen(listener: PeerListener): void {
    this.seenListeners.push(listener)
    this.inner.onPeerSeen((peer) => {
      if (!this.blocks.isBlocked(peer)) listener(peer)
    })
  }

  onPeerLost(listener: PeerListener): void {
    this.lostListeners.push(listener)
    // A blocked peer was reported lost when it was blocked.
    this.inner.onPeerLost((peer) => {
      if (!this.blocks.isBlocked(peer)) listener(peer)
    })
  }

  peers(): string[] {
    return this.inner.peers().filter((peer) => !this.blocks.isBlocked(peer))
  }

  /**
   * Called by the injector after its block list changed: connected peers that became
   * blocked are reported lost, those unblocked are reported seen again, as if the network
   * had cut and healed.
   */
  blockChanged(before: ReadonlySet<string>): void {
    for (const peer of this.inner.peers()) {
      const was = before.has(peer)
      const is = this.blocks.isBlocked(peer)
      if (was === is) continue
      for (const listener of is ? this.lostListeners : this.seenListeners) listener(peer)
    }
  }

  start(): Promise<void> {
    return this.inner.start()
  }

  stop(): Promise<void> {
    return this.inner.stop()
  }
}
