import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ORSet, type ORSetState } from '../../crdts/index.js'
import { pageORSet, splitPagedORSet } from '../../crdts/orset-pages.js'
import { pageDigest, pagedDigest, stateDigest } from '../../src/store/digest.js'

describe('stateDigest', () => {
  it('is the first 16 bytes of SHA-256, as a plain Uint8Array', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }).filter((state) => splitPagedORSet(state) === undefined), (state) => {
        const d = stateDigest(state)
        expect(d.constructor).toBe(Uint8Array)
        expect(d).toEqual(new Uint8Array(createHash('sha256').update(state).digest().subarray(0, 16)))
      }),
    )
  })

  it('matches a known vector', () => {
    // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad
    expect(Buffer.from(stateDigest(new TextEncoder().encode('abc'))).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223')
  })

  it('of an OR-set in pages: SHA-256 of its prefix and its pages\' digests, from the bytes as from the pages', () => {
    let s: ORSetState = ORSet.empty()
    for (let i = 0; i < 2_000; i++) s = ORSet.merge(s, ORSet.add(s, i % 3 === 0 ? 'a' : 'b', `element ${i}`))
    const paging = pageORSet(s)
    expect(paging.pages.length).toBeGreaterThan(3)
    const fromPages = pagedDigest(paging.prefix, paging.pages.map((p) => pageDigest(p.bytes)))
    expect(stateDigest(ORSet.encode(s))).toEqual(fromPages)
    const joined = Buffer.concat([Buffer.from(paging.prefix), ...paging.pages.map((p) => Buffer.from(pageDigest(p.bytes)))])
    expect(fromPages).toEqual(new Uint8Array(createHash('sha256').update(joined).digest().subarray(0, 16)))
  })
})
