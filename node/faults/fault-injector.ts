// Fault injection for tests and benchmarks: partitions on a real node, switched at run
// time over HTTP (POST /v1/_faults). Only a node started with RUMORDB_FAULT_INJECTION=1
// creates an injector; without one nothing is wrapped and the route does not exist.
import type { Transport } from '../../src/transport/transport.js'
import { FaultyTransport } from './faulty-transport.js'

export const FAULT_INJECTION_ENV = 'RUMORDB_FAULT_INJECTION'

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

/** An injector when `env` turns fault injection on (RUMORDB_FAULT_INJECTION=1), else undefined. */
export function faultInjectorFromEnv(env: NodeJS.ProcessEnv = process.env): FaultInjector | undefined {
  return env[FAULT_INJECTION_ENV] === '1' ? new FaultInjector() : undefined
}
