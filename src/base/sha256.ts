// SHA-256 for the hot paths (a digest per write, a ring position per key, a fingerprint
// per indexed key). The one-shot crypto.hash (Node >= 20.12) costs about a third of
// createHash(...).update(...).digest() for inputs of a few dozen bytes, where the
// per-call overhead, not the hashing, is the cost.
import * as crypto from 'node:crypto'

/** SHA-256 of `data` (a string is hashed as UTF-8): 32 bytes. */
export const sha256: (data: string | Uint8Array) => Buffer =
  typeof crypto.hash === 'function'
    ? (data) => crypto.hash('sha256', data, 'buffer')
    : (data) => crypto.createHash('sha256').update(data).digest()
