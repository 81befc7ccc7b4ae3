// Digests let replicas compare states without sending them. Encodings are canonical, so
// equal states have equal digests on every node. A state in pages (OR-sets,
// crdts/orset-pages.ts) is digested from its prefix and the digests of its pages, so a
// write that changed one page hashes that page and the short list, not the whole state;
// the same state as one byte string gives the same digest (its pages are found by length).
import { splitPagedORSet } from '../../crdts/orset-pages.js'
import { INDEX_ENTRY_BYTES } from '../base/key-hashes.js'
import { sha256 } from '../base/sha256.js'

export const DIGEST_BYTES = 16
/** One key of Store.scanIndexEntries: its digest, then its index entry (base/key-hashes.ts). */
export const INDEX_RECORD_BYTES = DIGEST_BYTES + INDEX_ENTRY_BYTES

/** The digest of a state's bytes (of its pages, for a state in pages), as a plain Uint8Array. */
export function stateDigest(state: Uint8Array): Uint8Array {
  const split = splitPagedORSet(state)
  if (split !== undefined) return pagedDigest(split.prefix, split.pages.map(pageDigest))
  return first16(sha256(state))
}

/** First 16 bytes of SHA-256 of one page's bytes. */
export function pageDigest(page: Uint8Array): Uint8Array {
  return first16(sha256(page))
}

/** The digest of a state in pages: first 16 bytes of SHA-256(prefix, then each page's digest). */
export function pagedDigest(prefix: Uint8Array, pageDigests: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(prefix.length + pageDigests.length * DIGEST_BYTES)
  all.set(prefix, 0)
  pageDigests.forEach((d, i) => all.set(d, prefix.length + i * DIGEST_BYTES))
  return first16(sha256(all))
}

function first16(hash: Uint8Array): Uint8Array {
  return new Uint8Array(hash.subarray(0, DIGEST_BYTES))
}
