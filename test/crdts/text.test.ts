// The one home of rumordb's text primitives: code point order is UTF-8 byte order, and the
// counted UTF-8 length is what an encoder writes.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareCodePoints, utf8Length } from '../../crdts/index.js'

const utf8Compare = (a: string, b: string): number => Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))
// Weighted towards the characters where UTF-16 and UTF-8 order disagree.
const char = fc.oneof(
  fc.constantFrom('a', '\u{7F}', '\u{80}', '\u{7FF}', '\u{800}', '\u{D7FF}', '\u{E000}', '\u{FFFF}', '\u{10000}', '\u{1F600}', '\u{10FFFF}'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
)
const text = fc.array(char, { maxLength: 6 }).map((cs) => cs.join(''))

describe('text', () => {
  it('compareCodePoints agrees with the byte order of UTF-8', () => {
    fc.assert(fc.property(text, text, (a, b) => Math.sign(compareCodePoints(a, b)) === utf8Compare(a, b)), { numRuns: 2000 })
    expect(compareCodePoints('\u{1F600}', '\u{FFFD}')).toBeGreaterThan(0)
  })

  it('utf8Length is the length of the UTF-8 encoding, a lone surrogate counting as U+FFFD', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => utf8Length(s) === Buffer.byteLength(s, 'utf8')), { numRuns: 2000 })
    expect(utf8Length('\uD800x')).toBe(4)
  })
})
