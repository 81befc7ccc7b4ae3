// Defaults of the replication engine (DESIGN.md), applied with `??`.

export const DEFAULT_N = 3
export const DEFAULT_W = 2
export const DEFAULT_R = 2
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1000
export const DEFAULT_ANTI_ENTROPY_INTERVAL_MS = 1000
export const DEFAULT_HANDOFF_INTERVAL_MS = 1000
export const DEFAULT_MAX_CLOCK_OFFSET_MS = 500

/**
 * Adaptive request timeouts (LatencyTracker). The floor is far above loopback round trips
 * on purpose: a burst queues requests behind group commits and CPU, and a timeout there
 * turns an applied write into "outcome unknown" for the client. Dead peers are found by
 * the failure detector, not by request timeouts.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 1000
export const MIN_REQUEST_TIMEOUT_MS = 500
export const MAX_REQUEST_TIMEOUT_MS = 5000
export const REQUEST_TIMEOUT_MARGIN_MS = 20
export const LATENCY_WINDOW = 200

/** A read with a session token waits at most this long for a replica that has the write. */
export const DEFAULT_SESSION_READ_TIMEOUT_MS = 2000

/** Hinted handoff retry backoff (exponential with jitter). */
export const HANDOFF_BASE_BACKOFF_MS = 500
export const HANDOFF_MAX_BACKOFF_MS = 30_000
export const HANDOFF_BATCH = 64

/** Rumors carry deltas up to this size; larger ones travel by replication and anti-entropy only. */
export const MAX_RUMOR_STATE_BYTES = 64 * 1024

/** Applied operations are remembered this long, so duplicated or retried requests apply once. */
export const OP_ID_TTL_MS = 60 * 60 * 1000
/** Namespace of operation ids among the store's idempotency records. */
export const OP_ID_PREFIX = 'op:'
