import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareKeys, inRange, keyRange, prefixUpperBound } from '../../src/store/key-order.js'

const utf8Compare = (a: string, b: string) => Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))
// Full Unicode, weighted towards the characters where UTF-16 and UTF-8 order disagree.
const char = fc.oneof(
  fc.constantFrom('a', 'b', '\u{7F}', '\u{80}', '\u{D7FF}', '\u{E000}', '\u{FFFF}', '\u{10000}', '\u{1F600}', '\u{10FFFF}'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
)
const key = fc.array(char, { maxLength: 6 }).map((cs) => cs.join(''))

describe('key order', () => {
  it('compareKeys agrees with the byte order of UTF-8', () => {
    fc.assert(fc.property(key, key, (a, b) => Math.sign(compareKeys(a, b)) === utf8Compare(a, b)), { numRuns: 2000 })
  })

  it('orders characters above U+FFFF after U+E000..U+FFFF, unlike UTF-16', () => {
    expect(compareKeys('\u{1F600}', '\u{FFFD}')).toBeGreaterThan(0)
    expect('\u{1F600}' < '\u{FFFD}').toBe(true)
  })

  it('prefix ranges contain exactly the keys with that prefix', () => {
    fc.assert(
      fc.property(key, key, fc.option(key, { nil: undefined }), (prefix, k, after) => {
        const expected = k.startsWith(prefix) && (after === undefined || utf8Compare(k, after) > 0)
        expect(inRange(k, keyRange(prefix, after))).toBe(expected)
        expect(inRange(prefix + k, keyRange(prefix, undefined))).toBe(true)
      }),
      { numRuns: 2000 },
    )
  })

  it('prefixUpperBound steps over the surrogate block and U+10FFFF', () => {
    expect(prefixUpperBound('')).toBeUndefined()
    expect(prefixUpperBound('ab')).toBe('ac')
    expect(prefixUpperBound('a\u{D7FF}')).toBe('a\u{E000}')
    expect(prefixUpperBound('a\u{FFFF}')).toBe('a\u{10000}')
    expect(prefixUpperBound('a\u{10FFFF}')).toBe('b')
    expect(prefixUpperBound('\u{10FFFF}\u{10FFFF}')).toBeUndefined()
  })
})
