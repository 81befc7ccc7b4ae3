/**
 * The highest incarnation accepted from a peer, or loaded from the store: 2^32 restarts
 * below the safe-integer limit, so a node always has room to announce a later one.
 */
export const MAX_INCARNATION = Number.MAX_SAFE_INTEGER - 2 ** 32

// Defaults of membership and failure detection, applied with `??`.

/** Phi above which a peer is suspected: 8 ≈ a 1e-8 chance the peer is merely late. */
export const DEFAULT_PHI_THRESHOLD = 8

/** Inter-arrival samples kept per peer: enough for a stable mean, bounded memory. */
export const DEFAULT_MAX_SAMPLE_SIZE = 1000

/**
 * Floor on the standard deviation. Perfectly regular heartbeats (a LAN, or the
 * simulator) would otherwise give σ ≈ 0, and the first few ms of delay would suspect.
 */
export const DEFAULT_MIN_STD_DEVIATION_MS = 100

/**
 * Extra silence tolerated on top of the mean interval before phi starts to climb: it
 * absorbs GC and event-loop stalls. A false suspicion only makes the coordinator skip a
 * replica (hints, not data loss), so this stays short.
 */
export const DEFAULT_ACCEPTABLE_HEARTBEAT_PAUSE_MS = 1000

/**
 * Guess of the heartbeat interval used to seed a peer's history on its first
 * heartbeat, with σ = estimate / 4 (Akka's bootstrap), until real samples replace it.
 */
export const DEFAULT_FIRST_HEARTBEAT_ESTIMATE_MS = 1000

export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000

export const DEFAULT_MAX_CLOCK_OFFSET_MS = 500
