// How a replica writes OR-set states: in pages (crdts/orset-pages.ts), so that a write to a
// big set stores the pages it changed and a short list of page digests, not the whole set.
// A set's chunks are shared between its versions and each is encoded once, so paging the
// state after a write encodes the pages that write replaced; their digests are computed
// once per page here.
import type { ORSetPage, ORSetPaging } from '../../crdts/orset-pages.js'
import { pageDigest, pagedDigest } from '../store/digest.js'
import type { StatePage } from '../store/store.js'

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

/** The store's form of a paging: `state` (the prefix) and `pages` of a KeyWrite. */
export function pagedWrite(paging: ORSetPaging): { state: Uint8Array; pages: StatePage[] } {
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
