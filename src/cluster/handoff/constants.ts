// Defaults of hinted handoff, applied with `??`.

export const DEFAULT_HANDOFF_INTERVAL_MS = 1000

/** Hinted handoff retry backoff (exponential with jitter). */
export const HANDOFF_BASE_BACKOFF_MS = 500

export const HANDOFF_MAX_BACKOFF_MS = 30_000

export const HANDOFF_BATCH = 64
