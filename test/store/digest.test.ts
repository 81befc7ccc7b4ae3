import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { stateDigest } from '../../src/store/digest.js'

describe('stateDigest', () => {
  it('is the first 16 bytes of SHA-256, as a plain Uint8Array', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (state) => {
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
})
