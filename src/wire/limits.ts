// Bounds of the wire format. Decoding checks every one of them, and encoding checks them
// too, so a node never sends a frame its peers would refuse. Senders of batches split
// them to fit (MAX_KEYS_PER_BATCH entries); a message above MAX_FRAME_BYTES, up to
// MAX_MESSAGE_BYTES, is split into parts by the messenger.
export { DIGEST_BYTES } from '../store/digest.js'
export { MAX_KEY_BYTES } from '../base/validation.js'

/** First byte of every frame. A peer speaking another version is refused, not guessed at. */
export const WIRE_VERSION = 1

/** Whole frame, header included. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024

/**
 * Largest message, header included. One above MAX_FRAME_BYTES travels in parts of
 * LARGE_PART_BYTES (src/cluster/large-messages.ts) and is reassembled whole by its
 * receiver, so this bounds the memory one message costs: a state (an OR-set of ~1,000
 * elements of 64 KiB) is reconciled up to about this size.
 */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024

/** Bytes of one part of a large message: well below a frame, so parts share links fairly. */
export const LARGE_PART_BYTES = 1024 * 1024

/** Parts of the largest message. */
export const MAX_LARGE_PARTS = MAX_MESSAGE_BYTES / LARGE_PART_BYTES

/** A large message is identified by its SHA-256. */
export const LARGE_DIGEST_BYTES = 32

/** Entries in one list: states, digest entries, wanted keys, arcs. */
export const MAX_KEYS_PER_BATCH = 1024

/** Member announcements in one `members` response. */
export const MAX_MEMBERS = 4096

/** Arc hashes: 16-byte XOR aggregates of key fingerprints. */
export const ARC_HASH_BYTES = 16

/** Ring versions and Merkle roots are hashes; this only bounds them. */
export const MAX_HASH_BYTES = 64

/** Human-readable text in `error` responses: enough for a reason and a key. */
export const MAX_ERROR_MESSAGE_BYTES = 4096

/** Client-chosen idempotency keys (src/idempotency.ts allows 256 UTF-16 units, ≤ 768 bytes). */
export const MAX_IDEMPOTENCY_KEY_BYTES = 1024

/** A write's fingerprint (base64url SHA-256: 43 characters); this only bounds it. */
export const MAX_FINGERPRINT_BYTES = 128

/** An idempotency outcome record: the write's value (up to a whole set) and its token. */
export const MAX_RECORD_BYTES = MAX_MESSAGE_BYTES

/**
 * Upper bound on a member's vnodes. The value arrives from the network (member
 * records), so it must not let one peer make every node build a huge ring.
 */
export const MAX_VNODES = 1024

/** Peer ids are libp2p peer ids (~52 ASCII chars); 256 UTF-8 bytes leaves room. */
export const MAX_PEER_ID_BYTES = 256

/**
 * Pages an anti-entropy state may list (KeyState.pageDigests: 1 MiB of digests). At about
 * 256 elements a page, a set of some 16 million elements; a larger one is not sent.
 */
export const MAX_LISTED_PAGES = 65_536

/** Pages one sync-pages request asks for at most. */
export const MAX_PAGES_PER_REQUEST = 1024

/** A replicate's hintAgeMs (uint32 on the wire, about 49 days): a sender clamps an older age to it. */
export const MAX_HINT_AGE_MS = 2 ** 32 - 1

/** Per-address limit (a multiaddr string). */
export const MAX_ADDR_BYTES = 1024

/** Addresses per member. */
export const MAX_ADDRS = 64
