// What engine.status() answers: every counter of every part of the engine, in one shape
// that /v1/status and /metrics are generated from (node/http/status-view.ts, metrics.ts).
import type { AntiEntropy } from './anti-entropy/anti-entropy.js'
import type { Coordinator } from './coordinator/coordinator.js'
import type { KeyedWrites } from './coordinator/keyed-writes.js'
import type { HintedHandoff } from './handoff/hinted-handoff.js'
import type { ClockStatus } from './membership/clock-offsets.js'
import { DEFAULT_MAX_CLOCK_OFFSET_MS } from './membership/constants.js'
import type { Membership } from './membership/membership.js'
import type { Messenger } from './messaging/messenger.js'
import type { RequestRouter } from './request-router.js'
import type { ReplicaStats } from '../replica/replica.js'

/**
 * Every counter of every part of the engine: each part's own stats object, copied. It is
 * the one source of /v1/status and /metrics (node/http/status-view.ts, metrics.ts walk it),
 * so a counter added to a part's stats shows in both without further code.
 */
export interface EngineStatus {
  readonly id: string
  readonly keys: number
  readonly pendingHints: number
  readonly members: Record<'alive' | 'suspect' | 'left', number>
  readonly messages: Messenger['stats']
  readonly coordinator: Coordinator['stats']
  readonly antiEntropy: AntiEntropy['stats']
  readonly handoff: HintedHandoff['stats']
  readonly rumors: RequestRouter['stats']
  /** The same as replica.clockDriftRefused, kept under the name earlier versions used (STATUS_ALIASES). */
  readonly clockDriftRefused: number
  /** States from peers the local replica refused: clock drift, forged entries of this node. */
  readonly replica: ReplicaStats
  /** Writes with an idempotency key: Paxos phases run, replays answered, refusals for want of a majority. */
  readonly keyedWrites: KeyedWrites['stats']
  /** Whether this node's clock agrees with the cluster's, and what was refused for clock skew. */
  readonly clock: ClockStatus
  /** Member records refused: about another node than their sender, invalid, or pinned. */
  readonly membership: Membership['stats']
}

/** Fields of status() that repeat another under the name earlier versions used: /v1/status and /metrics show the other. */
export const STATUS_ALIASES: ReadonlySet<string> = new Set(['clockDriftRefused'])

/**
 * Fields of status() that are levels (Prometheus gauges): they go down as well as up.
 * Every other number only grows (a counter), so a counter added to a part's stats needs
 * nothing here; a level does.
 */
export const STATUS_GAUGES: ReadonlySet<string> = new Set([
  'keys',
  'pendingHints',
  'members.alive',
  'members.suspect',
  'members.left',
  'messages.largeBytesHeld',
  'antiEntropy.unreconciledKeys',
  'clock.off',
  'clock.offsetMs',
  'clock.peersMeasured',
  'clock.peersDisagreeing',
  'clock.maxOffsetMs',
])

/**
 * The status of an engine that has counted nothing: what a database with the network off
 * reports, so /v1/status and /metrics have the same fields either way. Typed, so a counter
 * added to a part's stats must be added here too or the build fails.
 */
export function idleEngineStatus(base: Pick<EngineStatus, 'id' | 'keys' | 'pendingHints' | 'members'>): EngineStatus {
  return {
    id: base.id,
    keys: base.keys,
    pendingHints: base.pendingHints,
    members: { ...base.members },
    messages: {
      requestsSent: 0,
      requestsFailed: 0,
      requestsReceived: 0,
      broadcastsSent: 0,
      broadcastsReceived: 0,
      bytesSent: 0,
      bytesReceived: 0,
      badFrames: 0,
      largeSent: 0,
      largeReceived: 0,
      largeRefused: 0,
      largeDropped: 0,
      largeBytesHeld: 0,
    },
    coordinator: { writes: 0, reads: 0, quorumMissed: 0, fallbackWrites: 0, hintsKeptLocally: 0, readRepairs: 0, rumorsSent: 0 },
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
    handoff: { queued: 0, delivered: 0, failedAttempts: 0, dropped: 0, refused: 0, expired: 0 },
    rumors: { rumorsMerged: 0, rumorsIgnored: 0, refused: 0 },
    clockDriftRefused: 0,
    replica: { clockDriftRefused: 0, remoteStatesRefused: 0 },
    keyedWrites: { claimRounds: 0, replays: 0, unavailable: 0 },
    membership: { recordsRefused: 0 },
    clock: {
      writesRefused: 0,
      futureRegistersIgnored: 0,
      timesFoundOff: 0,
      off: false,
      offsetMs: 0,
      peersMeasured: 0,
      peersDisagreeing: 0,
      maxOffsetMs: DEFAULT_MAX_CLOCK_OFFSET_MS,
    },
  }
}

