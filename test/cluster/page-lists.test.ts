// Page lists alone (src/cluster/page-transfer/page-lists.ts): which states are listed, how a
// listed state is put back together from held and asked pages, and what a peer that answers
// wrongly gets (PageTransferError, nothing assembled).
import { describe, expect, it } from 'vitest'
import { ORSet, type ORSetEntry, type ORSetState } from '../../crdts/index.js'
import { contextFromDots } from '../../crdts/causal-context.js'
import { answerPages, assembleListed, isListed, LIST_PAGES_FROM_BYTES, PageTransferError, syncedForm, type ListedState, type PageAsk } from '../../src/cluster/page-transfer/page-lists.js'
import { stateDigest } from '../../src/store/digest.js'
import type { StoredKey } from '../../src/store/store.js'
import type { Response, SyncPagesRequest } from '../../src/wire/messages.js'

function setOf(count: number, extra: readonly string[] = []): ORSetState {
  const values = [...Array.from({ length: count }, (_, i) => `e${String(i).padStart(6, '0')}`), ...extra].sort()
  const entries: ORSetEntry[] = values.map((value, i) => ({ key: JSON.stringify(value), value, dots: [{ actor: 'seeder', counter: i + 1 }] }))
  return { entries, context: contextFromDots(entries.flatMap((e) => e.dots)) }
}

/** A stored key holding `state` whole (as a store that keeps no pages returns it). */
function stored(key: string, state: Uint8Array): StoredKey {
  return { key, type: 'orset', state, hlc: new Uint8Array(8), digest: stateDigest(state) }
}

/** Answers sync-pages from `holder`'s state, counting requests. */
function asker(holder: StoredKey): PageAsk & { calls: number } {
  const ask = (async (request: SyncPagesRequest): Promise<Response> => {
    ask.calls++
    return answerPages(holder, request)
  }) as PageAsk & { calls: number }
  ask.calls = 0
  return ask
}

function pagesOf(answer: Response): readonly Uint8Array[] {
  if (answer.type !== 'sync-page-data') throw new Error(`expected pages, got ${answer.type}`)
  return answer.pages
}

describe('page lists', () => {
  const big = ORSet.encode(setOf(20_000))
  const bigger = ORSet.encode(setOf(20_000, ['new-1', 'zz-new-2']))

  it('lists a big set by its pages, and sends small states and other types whole', () => {
    const listed = syncedForm('k', stored('k', big))
    expect(isListed(listed)).toBe(true)
    expect(listed.pageDigests!.length % 16).toBe(0)
    expect(listed.state.length + listed.pageDigests!.length).toBeLessThan(big.length / 10)
    const small = ORSet.encode(setOf(100))
    expect(small.length).toBeLessThan(LIST_PAGES_FROM_BYTES)
    expect(isListed(syncedForm('k', stored('k', small)))).toBe(false)
    const notASet = new Uint8Array(LIST_PAGES_FROM_BYTES + 10).fill(7)
    expect(syncedForm('k', stored('k', notASet))).toEqual({ key: 'k', state: notASet })
  })

  it('puts a listed state back together byte for byte, asking only for the pages it does not hold', async () => {
    const sender = stored('k', bigger)
    const listed = syncedForm('k', sender) as ListedState
    const pages = listed.pageDigests.length / 16
    const ask = asker(sender)
    const assembled = await assembleListed(listed, stored('k', big), ask)
    expect(Buffer.from(assembled).equals(Buffer.from(bigger))).toBe(true)
    expect(ask.calls).toBe(1)
    // Holding nothing of it: every page asked for, in bounded answers.
    const fresh = asker(sender)
    expect(Buffer.from(await assembleListed(listed, undefined, fresh)).equals(Buffer.from(bigger))).toBe(true)
    expect(fresh.calls).toBeGreaterThanOrEqual(1)
    expect(pages).toBeGreaterThan(10)
  })

  it('answers at most about 1 MiB of pages, at least one, and stops before a page it does not hold', () => {
    const sender = stored('k', bigger)
    const listed = syncedForm('k', sender) as ListedState
    const all: SyncPagesRequest = { type: 'sync-pages', key: 'k', digests: listed.pageDigests }
    const whole = answerPages(sender, all)
    expect(whole.type).toBe('sync-page-data')
    const few = answerPages(sender, all, 1)
    expect(few).toMatchObject({ type: 'sync-page-data' })
    expect(pagesOf(few)).toHaveLength(1)
    const unknown = new Uint8Array(listed.pageDigests)
    unknown.fill(0, 16, 32)
    expect(pagesOf(answerPages(sender, { type: 'sync-pages', key: 'k', digests: unknown }))).toHaveLength(1)
    expect(answerPages(stored('k', big), { type: 'sync-pages', key: 'k', digests: unknown.subarray(16, 32) })).toMatchObject({ type: 'error', code: 'UNAVAILABLE' })
    expect(answerPages(undefined, all)).toMatchObject({ type: 'error', code: 'UNAVAILABLE' })
  })

  it('refuses a page that does not match its digest, too many pages, an error answer, and a state above the limit', async () => {
    const sender = stored('k', bigger)
    const listed = syncedForm('k', sender) as ListedState
    const honest = asker(sender)
    const tampered: PageAsk = async (request) => {
      const answer = await honest(request)
      if (answer.type !== 'sync-page-data') return answer
      const first = new Uint8Array(answer.pages[0]!)
      first[first.length - 1] = (first[first.length - 1] as number) ^ 1
      return { type: 'sync-page-data', pages: [first, ...answer.pages.slice(1)] }
    }
    await expect(assembleListed(listed, undefined, tampered)).rejects.toThrow(/does not match its digest/)
    const extra: PageAsk = async (request) => {
      const answer = await honest(request)
      return answer.type === 'sync-page-data' ? { type: 'sync-page-data', pages: [...answer.pages, new Uint8Array(3)] } : answer
    }
    await expect(assembleListed({ ...listed, pageDigests: listed.pageDigests.subarray(0, 16) }, undefined, extra)).rejects.toThrow(/gave 2 pages for 1 asked/)
    const gone: PageAsk = async () => ({ type: 'error', code: 'UNAVAILABLE', message: 'changed' })
    await expect(assembleListed(listed, undefined, gone)).rejects.toThrow(PageTransferError)
    await expect(assembleListed(listed, undefined, honest, 4096)).rejects.toThrow(/pass 4096 bytes/)
  })
})
