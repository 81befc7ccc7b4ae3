// Defaults of hinted handoff, applied with `??`.

export const DEFAULT_HANDOFF_INTERVAL_MS = 1000

/** Hinted handoff retry backoff (exponential with jitter). */
export const HANDOFF_BASE_BACKOFF_MS = 500

export const HANDOFF_MAX_BACKOFF_MS = 30_000

export const HANDOFF_BATCH = 64

/**
 * Hints older than this are dropped (as Cassandra's max_hint_window). 24 h, the default
 * tombstone purge window, not Cassandra's 3 h: a write acknowledged only by nodes that are
 * not its replicas (every replica unreachable) reaches them only through hints, so the
 * window is how long such a write survives its replicas being away; and the purge window
 * must be at least this long, or a hint from before a delete could bring back what the
 * delete removed.
 */
export const DEFAULT_HINT_WINDOW_MS = 24 * 60 * 60 * 1000

/** Hints kept for one owner at most; more are not kept (counted as refused), left to anti-entropy. */
export const DEFAULT_MAX_HINTS_PER_OWNER = 100_000

/** Bytes of hinted states kept for one owner at most. */
export const DEFAULT_MAX_HINT_BYTES_PER_OWNER = 256 * 1024 * 1024
