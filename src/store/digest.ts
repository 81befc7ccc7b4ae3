// Digests let replicas compare states without sending them. Encodings are canonical, so
// equal states have equal digests on every node.
import { sha256 } from '../base/sha256.js'

export const DIGEST_BYTES = 16

/** First 16 bytes of SHA-256(state), as a plain Uint8Array. */
export function stateDigest(state: Uint8Array): Uint8Array {
  return new Uint8Array(sha256(state).subarray(0, DIGEST_BYTES))
}
