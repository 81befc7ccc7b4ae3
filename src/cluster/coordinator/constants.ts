// Defaults of the quorum coordinator (DESIGN.md), applied with `??`.
import { MAX_KEYS_PER_BATCH } from '../../wire/limits.js'
import { MAX_REQUEST_TIMEOUT_MS } from '../messaging/constants.js'

export const DEFAULT_N = 3

export const DEFAULT_W = 2

export const DEFAULT_R = 2

/** A read with a session token waits at most this long for a replica that has the write. */
export const DEFAULT_SESSION_READ_TIMEOUT_MS = 2000

/** Rumors carry deltas up to this size; larger ones travel by replication and anti-entropy only. */
export const MAX_RUMOR_STATE_BYTES = 64 * 1024

/** Applied operations are remembered this long, so duplicated or retried requests apply once. */
export const OP_ID_TTL_MS = 60 * 60 * 1000

/** Deltas in one replicate-batch at most: the wire's bound. */
export const MAX_REPLICATION_BATCH_ITEMS = MAX_KEYS_PER_BATCH

/** Bytes of one replicate-batch, about: well within a frame, so a batch never travels in parts. */
export const MAX_REPLICATION_BATCH_BYTES = 256 * 1024

/** A delta above this goes in a replicate of its own rather than wait for a batch. */
export const MAX_BATCH_DELTA_BYTES = 64 * 1024

/**
 * A delta no write waits on (a w = 1 write committed here, a read repair) waits this long at
 * most for others to the same replica (engine.replicationLingerMs), so a burst costs a
 * replica fewer messages. Deltas a write waits on never linger. (It was off for a while:
 * with 30 ms, nemesis seed 680 lost an acknowledged decrement. The cause was a hint dated
 * when its delivery failed rather than when its write began, which outlived a tombstone's
 * purge; 86e89d8 fixed it, and seeds 1-2000 then passed with 30 ms.)
 */
export const DEFAULT_REPLICATION_LINGER_MS = 30

/**
 * The request timeout of a message carrying only deltas no write waits on: the adaptive
 * timeout's upper bound, where a write waiting gets the adaptive one (from 500 ms). A slow
 * replica is waited for rather than replaced by hints (replication-batcher.ts).
 */
export const REPLICATION_TIMEOUT_MS = MAX_REQUEST_TIMEOUT_MS
