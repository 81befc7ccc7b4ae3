// Positions on the 64-bit hash ring. Keys and tokens use cryptographic hashes so that
// placement is uniform whatever the ids and keys look like (sequential, shared prefixes).
import { createHash } from 'node:crypto'

/** Number of positions on the ring: positions are integers in [0, 2^64). */
export const RING_SIZE = 1n << 64n

export { keyPosition } from '../../base/key-hashes.js'

// Domain separation keeps token positions unrelated to key positions even for a key that
// equals a member id.
const TOKEN_DOMAIN = 'rumordb:ring-tokens:v1\0'

/**
 * The `count` token positions of a member, as big-endian 64-bit words of a SHAKE256
 * stream over its id: one hash call per member however many tokens it places, and the
 * tokens for a smaller count are a prefix of those for a larger one, so changing a
 * member's weight only adds or removes that member's own tokens.
 */
export function memberTokens(memberId: string, count: number): { hi: Uint32Array; lo: Uint32Array } {
  const hi = new Uint32Array(count)
  const lo = new Uint32Array(count)
  if (count === 0) return { hi, lo }
  const stream = createHash('shake256', { outputLength: count * 8 }).update(TOKEN_DOMAIN + memberId, 'utf8').digest()
  for (let i = 0; i < count; i++) {
    hi[i] = stream.readUInt32BE(i * 8)
    lo[i] = stream.readUInt32BE(i * 8 + 4)
  }
  return { hi, lo }
}
