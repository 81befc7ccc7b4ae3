// The two hashes of a key that placement and anti-entropy use: its ring position and its
// fingerprint (of the key with its state digest). They live here, below both the ring and
// the store, because the store keeps them per key (Store.scanIndexEntries) so that an
// anti-entropy index builds from a scan without hashing a million keys.
//
// Fingerprint = SHA-256(domain ‖ digest ‖ key) truncated to 16 bytes. A cheaper
// `digest XOR H(key)` would be linear: two keys of one arc holding equal states (every
// counter incremented once by the same node) would cancel their digests, and both could
// change in step without changing the aggregate. Hashing key and digest together keeps
// fingerprints independent, so an aggregate differs whenever its key set or any digest
// does, except with probability 2^-128.
import { sha256 } from './sha256.js'

export const FINGERPRINT_BYTES = 16
/** Bytes of a ring position (a 64-bit big-endian integer). */
export const POSITION_BYTES = 8
/** A key's index entry: its ring position, then its fingerprint. */
export const INDEX_ENTRY_BYTES = POSITION_BYTES + FINGERPRINT_BYTES

const FINGERPRINT_DOMAIN = Buffer.from('rumordb:key-fingerprint:v1\0', 'utf8')

/** Room for the fingerprint input of most keys: domain, a 16-byte digest, 1,024 UTF-8 bytes. */
const fingerprintInput = Buffer.alloc(FINGERPRINT_DOMAIN.length + 16 + 1024)
FINGERPRINT_DOMAIN.copy(fingerprintInput)

/** A key's ring position: the first 8 bytes (big-endian) of SHA-256 of its UTF-8 bytes. */
export function keyPosition(key: string): bigint {
  return sha256(key).readBigUInt64BE(0)
}

/** The 16-byte fingerprint of a key holding a state with this digest. */
export function keyFingerprint(key: string, digest: Uint8Array): Uint8Array {
  const h = fingerprintHash(key, digest)
  return new Uint8Array(h.buffer, h.byteOffset, FINGERPRINT_BYTES).slice()
}

/**
 * The key's index entry (INDEX_ENTRY_BYTES): `keyPosition(key)` big-endian, then
 * `keyFingerprint(key, digest)`. `position`: the key's position bytes when the caller
 * holds them (an earlier entry's head), which saves a hash.
 */
export function indexEntryOf(key: string, digest: Uint8Array, position?: Uint8Array): Uint8Array {
  const entry = new Uint8Array(INDEX_ENTRY_BYTES)
  entry.set(position?.length === POSITION_BYTES ? position : sha256(key).subarray(0, POSITION_BYTES), 0)
  entry.set(fingerprintHash(key, digest).subarray(0, FINGERPRINT_BYTES), POSITION_BYTES)
  return entry
}

function fingerprintHash(key: string, digest: Uint8Array): Buffer {
  const head = FINGERPRINT_DOMAIN.length + digest.length
  // One buffer per call only for keys longer than a key may be (3 bytes per UTF-16 unit at most).
  const input = head + key.length * 3 <= fingerprintInput.length ? fingerprintInput : Buffer.concat([FINGERPRINT_DOMAIN, Buffer.alloc(digest.length + key.length * 3)])
  input.set(digest, FINGERPRINT_DOMAIN.length)
  const length = head + input.write(key, head, 'utf8')
  return sha256(input.subarray(0, length))
}
