// The shape /v1/status answers and /metrics reads: db.status() flattened into fixed groups
// of counters, with zeros where a local database (no engine) has none, so clients and
// dashboards see the same fields whether the network is on or off.
import type { DatabaseStatus } from '../../src/index.js'

export interface StatusView {
  readonly id: string
  readonly networked: boolean
  readonly keys: number
  readonly pendingHints: number
  readonly members: { readonly alive: number; readonly suspect: number; readonly left: number }
  readonly antiEntropy: {
    readonly rounds: number
    readonly equalRounds: number
    readonly syncedRounds: number
    readonly viewMismatchRounds: number
    readonly failedRounds: number
    readonly keysSent: number
    readonly keysReceived: number
    readonly mergeErrors: number
    /** States too large for a sync batch, never sent (each is also an unreconciled key). */
    readonly oversizedStates: number
    /** Keys not reconciled with some peer right now (GET /v1/sync lists them). */
    readonly unreconciledKeys: number
    readonly requestsServed: number
    /** Sync requests from peers answered with an error. */
    readonly requestErrors: number
  }
  readonly gossip: {
    readonly rumorsMerged: number
    readonly rumorsIgnored: number
    readonly broadcastsSent: number
    readonly broadcastsReceived: number
    readonly requestsSent: number
    readonly requestsFailed: number
    readonly requestsReceived: number
    readonly bytesSent: number
    readonly bytesReceived: number
  }
  readonly handoff: { readonly delivered: number; readonly failedAttempts: number; readonly dropped: number }
  readonly coordinator: {
    readonly writes: number
    readonly reads: number
    readonly quorumMissed: number
    readonly fallbackWrites: number
    readonly readRepairs: number
  }
  /** Writes with an idempotency key this node coordinated (src/cluster/keyed-writes.ts). */
  readonly keyedWrites: {
    /** Paxos phases run to choose the one node that applies a keyed write. */
    readonly claimRounds: number
    /** Keyed writes answered with their first result (a retry of a write applied before). */
    readonly replays: number
    /** Keyed writes refused because no majority of the key's replicas agreed (IDEMPOTENCY_UNAVAILABLE). */
    readonly unavailable: number
  }
  /** Messages above one frame, sent or received in parts (src/cluster/large-messages.ts). */
  readonly largeMessages: {
    readonly sent: number
    readonly received: number
    readonly refused: number
    readonly dropped: number
    readonly bytesHeld: number
  }
  /** This node's clock against the cluster's; integers only, like every other group. */
  readonly clock: {
    /** 1 while the cluster finds this node's clock off (it refuses register writes), else 0. */
    readonly off: number
    /** This node's clock minus the cluster's, ms (positive: ahead). */
    readonly offsetMs: number
    readonly peersDisagreeing: number
    /** Register writes refused here while the clock was off. */
    readonly writesRefused: number
    /** Register answers left out of reads here: stamped too far ahead of this node's clock. */
    readonly futureRegistersIgnored: number
    /** Registers from peers refused on merge for the same reason (clockDriftRefused). */
    readonly mergesRefused: number
  }
}

export function statusView(status: DatabaseStatus): StatusView {
  const base = {
    id: status.id,
    networked: status.networked,
    keys: status.keys,
    pendingHints: status.pendingHints,
    members: { alive: status.members.alive, suspect: status.members.suspect, left: status.members.left },
  }
  if (!status.networked) {
    return {
      ...base,
      antiEntropy: {
        rounds: 0,
        equalRounds: 0,
        syncedRounds: 0,
        viewMismatchRounds: 0,
        failedRounds: 0,
        keysSent: 0,
        keysReceived: 0,
        mergeErrors: 0,
        oversizedStates: 0,
        unreconciledKeys: 0,
        requestsServed: 0,
        requestErrors: 0,
      },
      gossip: {
        rumorsMerged: 0,
        rumorsIgnored: 0,
        broadcastsSent: 0,
        broadcastsReceived: 0,
        requestsSent: 0,
        requestsFailed: 0,
        requestsReceived: 0,
        bytesSent: 0,
        bytesReceived: 0,
      },
      handoff: { delivered: 0, failedAttempts: 0, dropped: 0 },
      coordinator: { writes: 0, reads: 0, quorumMissed: 0, fallbackWrites: 0, readRepairs: 0 },
      clock: { off: 0, offsetMs: 0, peersDisagreeing: 0, writesRefused: 0, futureRegistersIgnored: 0, mergesRefused: 0 },
      keyedWrites: { claimRounds: 0, replays: 0, unavailable: 0 },
      largeMessages: { sent: 0, received: 0, refused: 0, dropped: 0, bytesHeld: 0 },
    }
  }
  const { antiEntropy: ae, messages: m, rumors, handoff, coordinator: c } = status
  return {
    ...base,
    antiEntropy: {
      rounds: ae.rounds,
      equalRounds: ae.equalRounds,
      syncedRounds: ae.syncedRounds,
      viewMismatchRounds: ae.viewMismatchRounds,
      failedRounds: ae.failedRounds,
      keysSent: ae.keysSent,
      keysReceived: ae.keysReceived,
      mergeErrors: ae.mergeErrors,
      oversizedStates: ae.oversizedStates,
      unreconciledKeys: ae.unreconciledKeys,
      requestsServed: ae.requestsServed,
      requestErrors: ae.requestErrors,
    },
    gossip: {
      rumorsMerged: rumors.rumorsMerged,
      rumorsIgnored: rumors.rumorsIgnored,
      broadcastsSent: m.broadcastsSent,
      broadcastsReceived: m.broadcastsReceived,
      requestsSent: m.requestsSent,
      requestsFailed: m.requestsFailed,
      requestsReceived: m.requestsReceived,
      bytesSent: m.bytesSent,
      bytesReceived: m.bytesReceived,
    },
    handoff: { delivered: handoff.delivered, failedAttempts: handoff.failedAttempts, dropped: handoff.dropped },
    coordinator: {
      writes: c.writes,
      reads: c.reads,
      quorumMissed: c.quorumMissed,
      fallbackWrites: c.fallbackWrites,
      readRepairs: c.readRepairs,
    },
    keyedWrites: { ...status.keyedWrites },
    largeMessages: {
      sent: m.largeSent,
      received: m.largeReceived,
      refused: m.largeRefused,
      dropped: m.largeDropped,
      bytesHeld: m.largeBytesHeld,
    },
    clock: {
      off: status.clock.off ? 1 : 0,
      offsetMs: status.clock.offsetMs,
      peersDisagreeing: status.clock.peersDisagreeing,
      writesRefused: status.clock.writesRefused,
      futureRegistersIgnored: status.clock.futureRegistersIgnored,
      mergesRefused: status.clockDriftRefused,
    },
  }
}
