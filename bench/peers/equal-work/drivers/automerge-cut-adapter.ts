// Automerge Repo's network boundary with a cut in it, for the equal-work partition
// workload: a NetworkAdapter that wraps the real one (WebSockets) and drops every message
// to or from a blocked peer (by its Repo peer id) while the cut lasts, in both directions,
// so nothing is queued for later. At the cut the Repo is told that each blocked peer it
// was connected to disconnected, and at the heal that it is a candidate again (with the
// metadata it first announced), as a socket that dropped and reconnected would tell it;
// Automerge's own sync then brings back what was missed. The sockets stay open.
import { NetworkAdapter, type Message, type NetworkAdapterInterface, type PeerId, type PeerMetadata } from '@automerge/automerge-repo'

export class CutNetworkAdapter extends NetworkAdapter {
  private blocked = new Set<string>()
  /** Peers the inner adapter reported connected, with the metadata they announced. */
  private readonly connected = new Map<PeerId, PeerMetadata>()

  constructor(private readonly inner: NetworkAdapterInterface) {
    super()
    inner.on('message', (message) => {
      if (!this.blocked.has(message.senderId)) this.emit('message', message)
    })
    inner.on('peer-candidate', (payload) => {
      this.connected.set(payload.peerId, payload.peerMetadata)
      if (!this.blocked.has(payload.peerId)) this.emit('peer-candidate', payload)
    })
    inner.on('peer-disconnected', (payload) => {
      this.connected.delete(payload.peerId)
      if (!this.blocked.has(payload.peerId)) this.emit('peer-disconnected', payload)
    })
    inner.on('close', () => this.emit('close'))
  }

  /** Blocks these peer ids (replacing the earlier cut); an empty list heals. */
  cut(peers: readonly string[]): void {
    const before = this.blocked
    this.blocked = new Set(peers)
    for (const [peerId, peerMetadata] of this.connected) {
      const was = before.has(peerId)
      const is = this.blocked.has(peerId)
      if (!was && is) this.emit('peer-disconnected', { peerId })
      if (was && !is) this.emit('peer-candidate', { peerId, peerMetadata })
    }
  }

  isReady(): boolean {
    return this.inner.isReady()
  }

  whenReady(): Promise<void> {
    return this.inner.whenReady()
  }

  connect(peerId: PeerId, peerMetadata?: PeerMetadata): void {
    this.peerId = peerId
    if (peerMetadata !== undefined) this.peerMetadata = peerMetadata
    this.inner.connect(peerId, peerMetadata)
  }

  send(message: Message): void {
    if (!this.blocked.has(message.targetId)) this.inner.send(message)
  }

  disconnect(): void {
    this.inner.disconnect()
  }
}
