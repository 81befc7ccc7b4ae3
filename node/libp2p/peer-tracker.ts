// Which peers count as peers of this cluster: connected to us AND subscribed to the
// cluster's gossipsub topic. The topic is the proof that a connected libp2p node runs
// rumordb in the same cluster (another cluster on the same LAN, or any other libp2p
// application, is connected but never reported), and waiting for it means a broadcast
// made right after `peer seen` already has that peer among its recipients.
export interface PeerTrackerInit {
  isConnected(peer: string): boolean
  seen(peer: string): void
  lost(peer: string): void
}

export class PeerTracker {
  /** Peers whose subscription to our topic we know of (gossipsub forgets them on disconnect). */
  private readonly subscribed = new Set<string>()
  private readonly current = new Set<string>()

  constructor(private readonly init: PeerTrackerInit) {}

  peers(): string[] {
    return [...this.current]
  }

  has(peer: string): boolean {
    return this.current.has(peer)
  }

  connected(peer: string): void {
    this.update(peer)
  }

  disconnected(peer: string): void {
    this.subscribed.delete(peer)
    this.update(peer)
  }

  subscription(peer: string, subscribed: boolean): void {
    if (subscribed) this.subscribed.add(peer)
    else this.subscribed.delete(peer)
    this.update(peer)
  }

  clear(): void {
    this.subscribed.clear()
    this.current.clear()
  }

  private update(peer: string): void {
    const member = this.subscribed.has(peer) && this.init.isConnected(peer)
    if (member && !this.current.has(peer)) {
      this.current.add(peer)
      this.init.seen(peer)
    } else if (!member && this.current.delete(peer)) {
      this.init.lost(peer)
    }
  }
}
