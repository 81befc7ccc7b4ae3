// A Transport for a networked node that has no peers: the engine starts (membership,
// anti-entropy index, hinted handoff) as it does in a cluster, but nothing reaches the
// network. For benchmarks of a node's own start-up, without sockets or libp2p.
import {
  PeerUnreachableError,
  TransportStoppedError,
  type BroadcastHandler,
  type PeerListener,
  type RequestHandler,
  type Transport,
} from '../../src/transport/transport.js'

export class LoneTransport implements Transport {
  private running = false

  constructor(readonly localPeerId: string) {}

  async request(peer: string): Promise<Uint8Array> {
    throw this.running ? new PeerUnreachableError(peer, 'this node has no peers') : new TransportStoppedError()
  }

  broadcast(): void {}
  setRequestHandler(_handler: RequestHandler): void {}
  setBroadcastHandler(_handler: BroadcastHandler): void {}
  onPeerSeen(_listener: PeerListener): void {}
  onPeerLost(_listener: PeerListener): void {}

  peers(): string[] {
    return []
  }

  async start(): Promise<void> {
    this.running = true
  }

  async stop(): Promise<void> {
    this.running = false
  }
}
