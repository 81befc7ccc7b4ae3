// What engine.status() answers: every counter of every part of the engine, in one shape
// that /v1/status and /metrics are generated from (node/http/status-view.ts, metrics.ts).
import { zeroAntiEntropyStats, type AntiEntropyStats } from './anti-entropy/anti-entropy.js'
import { zeroCoordinatorStats, type CoordinatorStats } from './coordinator/coordinator.js'
import { zeroKeyedWriteStats, type KeyedWriteStats } from './coordinator/keyed-writes.js'
import { zeroHandoffStats, type HandoffStats } from './handoff/hinted-handoff.js'
import { idleClockStatus, type ClockStatus } from './membership/clock-offsets.js'
import { zeroMembershipStats, type MembershipStats } from './membership/membership.js'
import { zeroMessengerStats, type MessengerStats } from './messaging/messenger.js'
import { zeroRouterStats, type RouterStats } from './request-router.js'
import { zeroReplicaStats, type ReplicaStats } from '../replica/replica.js'

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
  readonly messages: MessengerStats
  readonly coordinator: CoordinatorStats
  readonly antiEntropy: AntiEntropyStats
  readonly handoff: HandoffStats
  readonly rumors: RouterStats
  /** The same as replica.clockDriftRefused, kept under the name earlier versions used (STATUS_ALIASES). */
  readonly clockDriftRefused: number
  /** States from peers the local replica refused: clock drift, forged entries of this node. */
  readonly replica: ReplicaStats
  /** Writes with an idempotency key: Paxos phases run, replays answered, refusals for want of a majority. */
  readonly keyedWrites: KeyedWriteStats
  /** Whether this node's clock agrees with the cluster's, and what was refused for clock skew. */
  readonly clock: ClockStatus
  /** Member records refused: about another node than their sender, invalid, or pinned. */
  readonly membership: MembershipStats
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
 * reports, so /v1/status and /metrics have the same fields either way. Each part starts
 * its own counters from the same zero...Stats() function, so a counter added there shows
 * here too.
 */
export function idleEngineStatus(base: Pick<EngineStatus, 'id' | 'keys' | 'pendingHints' | 'members'>): EngineStatus {
  return {
    id: base.id,
    keys: base.keys,
    pendingHints: base.pendingHints,
    members: { ...base.members },
    messages: zeroMessengerStats(),
    coordinator: zeroCoordinatorStats(),
    antiEntropy: zeroAntiEntropyStats(),
    handoff: zeroHandoffStats(),
    rumors: zeroRouterStats(),
    clockDriftRefused: 0,
    replica: zeroReplicaStats(),
    keyedWrites: zeroKeyedWriteStats(),
    membership: zeroMembershipStats(),
    clock: idleClockStatus(),
  }
}
