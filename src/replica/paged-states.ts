// How a replica writes OR-set states: in pages (crdts/orset-pages.ts), so that a write to a
// big set stores the pages it changed and a short list of page digests, not the whole set.
// A set's chunks are shared between its versions and each is encoded once, so paging the
// state after a write encodes the pages that write replaced; their digests are computed
// once per page here.
import { joinPaging, type ORSetPage, type ORSetPaging } from '../../crdts/orset-pages.js'
import { pageDigest, pagedDigest } from '../store/digest.js'
import type { StatePage } from '../store/store.js'

/**
 * States up to this size are written whole, in one row: a small set's write then costs one
 * upsert, not a row per page and the deletion of the page it replaced. The digest is the
 * same either way (store/digest.ts finds the pages in the whole bytes).
 */
export const INLINE_STATE_BYTES = 16 * 1024

/** A page as the store takes it, made once per page: pages a write did not touch are the same objects. */
const storePages = new WeakMap<ORSetPage, StatePage>()
const digests = new WeakMap<ORSetPaging, Uint8Array>()

function storePage(page: ORSetPage): StatePage {
  let out = storePages.get(page)
  if (out === undefined) {
    out = { digest: pageDigest(page.bytes), bytes: page.bytes }
    storePages.set(page, out)
  }
  return out
}

/** The store's form of a paging: `state` and `pages` of a KeyWrite (whole bytes for a small state, else the prefix and pages). */
export function pagedWrite(paging: ORSetPaging, inlineBytes = INLINE_STATE_BYTES): { state: Uint8Array; pages?: StatePage[]; digest?: Uint8Array } {
  if (pagingBytes(paging) <= inlineBytes) return { state: joinPaging(paging), digest: pagingDigest(paging) }
  return { state: paging.prefix, pages: paging.pages.map(storePage) }
}

/** What the store's digest of this paging is (store/digest.ts), computed once per paging. */
export function pagingDigest(paging: ORSetPaging): Uint8Array {
  let digest = digests.get(paging)
  if (digest === undefined) {
    digest = pagedDigest(paging.prefix, paging.pages.map((p) => storePage(p).digest))
    digests.set(paging, digest)
  }
  return digest
}

/** Bytes of the whole state: the cache's measure of its size. */
export function pagingBytes(paging: ORSetPaging): number {
  let n = paging.prefix.length
  for (const p of paging.pages) n += p.bytes.length
  return n
}
