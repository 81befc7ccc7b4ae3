// Big OR-sets travel by their pages (issue 13). A set's version-2 encoding is a prefix (its
// header and causal context) and pages cut where elements say so (crdts/orset-pages.ts), so
// two replicas of a set that differ in a few elements hold mostly the same pages. Instead
// of the whole state, anti-entropy sends such a set as its prefix and the digests of its
// pages (KeyState.pageDigests); the receiver takes the pages it holds itself, asks the
// sender for the others by digest (sync-pages, a bounded answer each, as many as needed),
// checks each page against its digest, and merges the state put back together: exactly
// the sender's state, so the merge is the usual join. A set of 10^6 elements that differs
// in one element moves its page list (about 62 KB) and one page (a few KB), not 16 MB; and
// a state above the largest message (64 MiB) travels too, a page at a time, up to
// MAX_LISTED_PAGES pages and MAX_ASSEMBLED_STATE_BYTES. A read's answer (RequestRouter) lists
// a big set the same way, and the reading node (read-path.ts) takes its own record when
// the list's digest is its own, else puts the state together as anti-entropy does.
import { equals } from 'uint8arrays/equals'
import { splitPagedORSet } from '../../../crdts/orset-pages.js'
import { DIGEST_BYTES, pageDigest, pagedDigest } from '../../store/digest.js'
import type { StatePage, StoredKey } from '../../store/store.js'
import { MAX_LISTED_PAGES, MAX_PAGES_PER_REQUEST } from '../../wire/limits.js'
import type { KeyState, Response, SyncPagesRequest } from '../../wire/messages.js'

/** States from this size on, kept in pages, are listed by their pages instead of sent whole. */
export const LIST_PAGES_FROM_BYTES = 64 * 1024
/** A sync-pages answer stops before the page that would take it past this (a larger page goes alone). */
export const PAGE_ANSWER_BYTES = 1024 * 1024
/** Pages the first sync-pages of a transfer asks for; later ones ask for twice what the last answer held. */
const FIRST_PAGE_REQUEST = 256
const MIN_PAGE_REQUEST = 16
/** The largest state a node puts back together from a page list (it is held whole in memory to be merged). */
export const MAX_ASSEMBLED_STATE_BYTES = 256 * 1024 * 1024

/** A KeyState listed by its pages. */
export type ListedState = KeyState & { readonly pageDigests: Uint8Array }

/** Asks the peer that listed a state for pages of it (a sync-pages request). */
export type PageAsk = (request: SyncPagesRequest) => Promise<Response>

/** A listed state could not be put back together; nothing was merged. */
export class PageTransferError extends Error {
  override readonly name = 'PageTransferError'
}

export function isListed(state: KeyState): state is ListedState {
  return state.pageDigests !== undefined
}

/** The pages of a stored state, when it is an OR-set in version 2 (as the store keeps it, or cut from its bytes). */
function pagesOf(stored: StoredKey): { prefix: Uint8Array; pages: readonly StatePage[] } | undefined {
  if (stored.paged !== undefined) return stored.paged
  const split = splitPagedORSet(stored.state)
  return split === undefined ? undefined : { prefix: split.prefix, pages: split.pages.map((bytes) => ({ digest: pageDigest(bytes), bytes })) }
}

/** How anti-entropy sends a stored state: whole, or (an OR-set in pages of at least `fromBytes`) listed by its pages. */
export function syncedForm(key: string, stored: StoredKey, fromBytes = LIST_PAGES_FROM_BYTES): KeyState {
  if (stored.state.length < fromBytes) return { key, state: stored.state }
  const paged = pagesOf(stored)
  if (paged === undefined || paged.pages.length === 0 || paged.pages.length > MAX_LISTED_PAGES) return { key, state: stored.state }
  const digests = new Uint8Array(paged.pages.length * DIGEST_BYTES)
  paged.pages.forEach((page, i) => digests.set(page.digest, i * DIGEST_BYTES))
  return { key, state: paged.prefix, pageDigests: digests }
}

/** The store's digest of the state `listed` stands for (store/digest.ts), without its pages. */
export function listedDigest(listed: ListedState): Uint8Array {
  const digests: Uint8Array[] = []
  for (let at = 0; at + DIGEST_BYTES <= listed.pageDigests.length; at += DIGEST_BYTES) digests.push(listed.pageDigests.subarray(at, at + DIGEST_BYTES))
  return pagedDigest(listed.state, digests)
}

/** The bytes a KeyState takes in a message, pages not counted. */
export function syncedBytes(state: KeyState): number {
  return state.state.length + (state.pageDigests?.length ?? 0)
}

/** Digests are compared as text keys of a Map. */
function digestKey(digest: Uint8Array): string {
  return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('base64')
}

/**
 * The whole state `listed` stands for: each page from `held` (this node's own pages of the
 * key, when it keeps the key as a set in pages) or else asked of the peer, checked against
 * its digest. Throws PageTransferError when the peer cannot give a page (its state changed
 * since it listed it: the next round lists it again), gives a page that does not match, or
 * the state would pass MAX_ASSEMBLED_STATE_BYTES.
 */
export async function assembleListed(listed: ListedState, held: StoredKey | undefined, ask: PageAsk, maxBytes = MAX_ASSEMBLED_STATE_BYTES): Promise<Uint8Array> {
  const count = listed.pageDigests.length / DIGEST_BYTES
  if (!Number.isInteger(count) || count === 0 || count > MAX_LISTED_PAGES) throw new PageTransferError(`a page list of ${listed.pageDigests.length} bytes`)
  const digests: Uint8Array[] = []
  for (let i = 0; i < count; i++) digests.push(listed.pageDigests.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES))
  const pages = new Map<string, Uint8Array>()
  const mine = held === undefined ? undefined : pagesOf(held)
  if (mine !== undefined) for (const page of mine.pages) pages.set(digestKey(page.digest), page.bytes)
  const missing: Uint8Array[] = []
  const asked = new Set<string>()
  for (const digest of digests) {
    const key = digestKey(digest)
    if (pages.has(key) || asked.has(key)) continue
    asked.add(key)
    missing.push(digest)
  }
  let fetchedBytes = 0
  // Ask for about as many pages as the last answer held, doubled (a 1 MiB answer holds about
  // 256 pages of short elements): asking for 1,024 each time would repeat most digests.
  let batch = FIRST_PAGE_REQUEST
  for (let next = 0; next < missing.length; ) {
    const wanted = missing.slice(next, next + batch)
    const request: SyncPagesRequest = { type: 'sync-pages', key: listed.key, digests: joinDigests(wanted) }
    const answer = await ask(request)
    if (answer.type === 'error') throw new PageTransferError(`the peer could not give pages of it: ${answer.code} ${answer.message}`)
    if (answer.type !== 'sync-page-data') throw new PageTransferError(`the peer answered sync-pages with ${answer.type}`)
    if (answer.pages.length === 0 || answer.pages.length > wanted.length) throw new PageTransferError(`the peer gave ${answer.pages.length} pages for ${wanted.length} asked`)
    answer.pages.forEach((page, i) => {
      const digest = wanted[i] as Uint8Array
      if (!equals(pageDigest(page), digest)) throw new PageTransferError(`the peer gave a page that does not match its digest (page ${next + i} asked)`)
      fetchedBytes += page.length
      if (fetchedBytes > maxBytes) throw new PageTransferError(`its pages pass ${maxBytes} bytes`)
      pages.set(digestKey(digest), page)
    })
    next += answer.pages.length
    batch = Math.min(MAX_PAGES_PER_REQUEST, Math.max(MIN_PAGE_REQUEST, 2 * answer.pages.length))
  }
  let size = listed.state.length
  const ordered = digests.map((digest) => {
    const page = pages.get(digestKey(digest)) as Uint8Array
    size += page.length
    return page
  })
  if (size > maxBytes) throw new PageTransferError(`the state would be ${size} bytes, above ${maxBytes}`)
  const out = new Uint8Array(size)
  out.set(listed.state, 0)
  let at = listed.state.length
  for (const page of ordered) {
    out.set(page, at)
    at += page.length
  }
  return out
}

/**
 * The answer to a sync-pages request about `stored` (this node's state of the key): the
 * pages asked for, in order, up to PAGE_ANSWER_BYTES (at least one); an error when this node
 * does not hold the first of them (the state changed since it listed it).
 */
export function answerPages(stored: StoredKey | undefined, request: SyncPagesRequest, maxBytes = PAGE_ANSWER_BYTES): Response {
  const paged = stored === undefined ? undefined : pagesOf(stored)
  const byDigest = new Map<string, Uint8Array>()
  if (paged !== undefined) for (const page of paged.pages) byDigest.set(digestKey(page.digest), page.bytes)
  const pages: Uint8Array[] = []
  let bytes = 0
  for (let at = 0; at + DIGEST_BYTES <= request.digests.length && pages.length < MAX_PAGES_PER_REQUEST; at += DIGEST_BYTES) {
    const page = byDigest.get(digestKey(request.digests.subarray(at, at + DIGEST_BYTES)))
    if (page === undefined || (pages.length > 0 && bytes + page.length > maxBytes)) break
    pages.push(page)
    bytes += page.length
  }
  if (pages.length === 0) {
    return { type: 'error', code: 'UNAVAILABLE', message: `sync-pages: this node no longer holds that page of ${JSON.stringify(request.key)} (it changed since it was listed); the next round lists it again` }
  }
  return { type: 'sync-page-data', pages }
}

function joinDigests(digests: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(digests.length * DIGEST_BYTES)
  digests.forEach((d, i) => out.set(d, i * DIGEST_BYTES))
  return out
}
