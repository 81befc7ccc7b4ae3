// Defaults and bounds of anti-entropy (anti-entropy.ts), applied with `??`.

/**
 * Differing keys a round is sized for. The responder groups the shared arcs so that a
 * round costs least when about this many keys differ: groups of √(keys / this) keys each
 * (the group hashes and the digest lists then weigh about the same). Few keys differ in
 * steady state, where rumors already spread nearly every write.
 */
export const ANTI_ENTROPY_EXPECTED_DIFFS = 8

/**
 * Bytes of states (keys and wanted keys included) in one sync-states or sync-push
 * message: room below the 4 MiB frame limit (MAX_FRAME_BYTES) for framing overhead, so
 * a batch of many states is one frame. States left out are sent in later rounds. A
 * state too large to share a batch goes alone in its own, which the messenger sends in
 * parts (src/cluster/large-messages.ts).
 */
export const MAX_SYNC_BATCH_BYTES = 3 * 1024 * 1024

export const DEFAULT_ANTI_ENTROPY_INTERVAL_MS = 1000
