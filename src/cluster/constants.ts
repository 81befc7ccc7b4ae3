// Defaults for the cluster building blocks. Callers apply them with `??`, so every
// option can be overridden without this file knowing who overrides it.

/** Virtual nodes a member places on the ring unless its member record says otherwise. */
export const DEFAULT_VNODES = 128

/**
 * Ring tokens placed per virtual node. Random placement of only 128 tokens per member
 * leaves the most loaded of 64 members above 1.3× its fair share in ~5% of memberships
 * (share ~ Gamma(128): coefficient of variation 1/√128 ≈ 9%). Four tokens per vnode
 * (512 per member) cut that spread in half and made the 1.3× bound hold in every one of
 * thousands of sampled memberships, while placement stays a pure function of each
 * member's own id, so a join moves keys only to the joining member. See
 * test/cluster/measure-ring-balance.ts.
 */
export const TOKENS_PER_VNODE = 4

/**
 * Upper bound on a member's vnodes. The value arrives from the network (member
 * records), so it must not let one peer make every node build a huge ring.
 */
export const MAX_VNODES = 1024

/** Replicas per key (the design's `n`); callers use min(n, members). */
export const DEFAULT_REPLICAS = 3

// Phi-accrual failure detector (Hayashibara et al. 2004; defaults follow Akka's).

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

// Member table wire format limits. Decoding checks them before allocating anything.

/** Peer ids are libp2p peer ids (~52 ASCII chars); 256 UTF-8 bytes leaves room. */
export const MAX_PEER_ID_BYTES = 256
/** Per-address limit (a multiaddr string). */
export const MAX_ADDR_BYTES = 1024
/** Addresses per member. */
export const MAX_ADDRS = 64
/** Members in one encoded table. */
export const MAX_MEMBERS = 65_536

// Anti-entropy (src/cluster/anti-entropy.ts). The interval is DEFAULT_ANTI_ENTROPY_INTERVAL_MS.

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

/** A round gives up on a peer that takes longer than this for one step. */
export const DEFAULT_ANTI_ENTROPY_REQUEST_TIMEOUT_MS = 10_000

// Large messages: above one frame, sent in parts and reassembled (src/cluster/large-messages.ts).
// Numbers, not expressions of src/wire/limits.ts, which imports this file.

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
