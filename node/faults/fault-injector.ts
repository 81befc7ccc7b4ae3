// Fault injection for tests and benchmarks: partitions on a real node, switched at run
// time over HTTP (POST /v1/_faults). Only nodes started through the fault-injection entry
// (node/faults/main.ts) have an injector; the product's CLI has neither it nor the route.
import type { Transport } from '../../src/transport/transport.js'
import { FaultyTransport } from './faulty-transport.js'

/** A peer id list longer than this is refused (a cluster a test or bench starts is far smaller). */
export const MAX_BLOCKED_PEERS = 1024

export class FaultInjector {
  private blocked = new Set<string>()
  private readonly transports: FaultyTransport[] = []

  /** A transport like `inner` that obeys this injector's block list. */
  wrap(inner: Transport): Transport {
    const transport = new FaultyTransport(inner, this)
    this.transports.push(transport)
    return transport
  }

  isBlocked(peer: string): boolean {
    return this.blocked.has(peer)
  }

  /** Replaces the block list (an empty list heals every cut) and returns it, sorted. */
  block(peers: readonly string[]): string[] {
    if (peers.length > MAX_BLOCKED_PEERS) throw new RangeError(`block at most ${MAX_BLOCKED_PEERS} peers, got ${peers.length}`)
    const before = this.blocked
    this.blocked = new Set(peers)
    for (const transport of this.transports) transport.blockChanged(before)
    return this.blockedPeers()
  }

  blockedPeers(): string[] {
    return [...this.blocked].sort()
  }
}
