// Defaults and bounds of anti-entropy (anti-entropy.ts), applied with `??`.

/**
 * Groups of shared arcs the responder compares first (sync-arcs), of about equal key
 * counts. Differing groups are then narrowed by range (range-narrowing.ts), so the number
 * need not grow with the store: 64 aggregates cost about 1.7 KB.
 */
export const SYNC_GROUPS = 64

/**
 * Bytes of states (keys and wanted keys included) in one sync-states or sync-push
 * message: room below the 4 MiB frame limit (MAX_FRAME_BYTES) for framing overhead, so
 * a batch of many states is one frame. States left out are sent in later rounds. A
 * state too large to share a batch goes alone in its own, which the messenger sends in
 * parts (src/cluster/large-messages.ts).
 */
export const MAX_SYNC_BATCH_BYTES = 3 * 1024 * 1024

export const DEFAULT_ANTI_ENTROPY_INTERVAL_MS = 1000

/**
 * The tombstone purge needs every other replica of a key to have compared the key's arc
 * equal within this long (AntiEntropy.confirmedEqual): an older comparison says little
 * about what the replica holds now.
 */
export const PURGE_CONFIRM_MS = 5 * 60 * 1000
