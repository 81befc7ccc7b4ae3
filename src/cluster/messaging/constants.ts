// Request timeouts and the bounds of large messages (messenger.ts, large-messages.ts).

/** Half-received large requests from one peer, and large responses kept for one peer (each). */
export const MAX_LARGE_TRANSFERS_PER_PEER = 4

/** Bytes of large messages held for one peer: two of the largest (2 × MAX_MESSAGE_BYTES). */
export const MAX_LARGE_BYTES_PER_PEER = 128 * 1024 * 1024

/** Bytes of large messages held for all peers together (4 × MAX_MESSAGE_BYTES). */
export const MAX_LARGE_BYTES_TOTAL = 256 * 1024 * 1024

/**
 * A half-received large request, or a large response nobody pulls, is dropped after this
 * long without a part or pull: its sender gave up (every part times out well before).
 */
export const LARGE_TRANSFER_IDLE_TIMEOUT_MS = 30_000

/**
 * A large response pulled whole is kept this much longer, for late copies of its pulls
 * (a network that duplicates requests could otherwise answer a copy first, with "gone").
 */
export const LARGE_PULLED_GRACE_MS = 2_000

/** Parts of one large message a sender has in flight at once. */
export const LARGE_PARTS_IN_FLIGHT = 4

/**
 * Floor of a part's request timeout: a part carries up to 1 MiB (LARGE_PART_BYTES), far
 * more than the small requests the adaptive timeout is measured on.
 */
export const MIN_LARGE_PART_TIMEOUT_MS = 5_000

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
