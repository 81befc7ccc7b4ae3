// The one home of rumordb's text primitives: code point order is UTF-8 byte order, and the
// counted UTF-8 length is what an encoder writes.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareCodePoints, utf8Length } from '../../crdts/index.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261205)

const utf8Compare = (a: string, b: string): number => Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)))
// Any code points (most are above U+FFFF, where UTF-16 order disagrees), often after a shared prefix.
const codePoints = fc.string({ unit: 'binary', maxLength: 4 })
const pair = fc.tuple(codePoints, codePoints, codePoints).map(([prefix, a, b]) => [prefix + a, prefix + b] as const)

describe(`text (seed ${SEED}; replay: RUMORDB_TEST_SEED=${SEED} npx vitest run test/crdts/text.test.ts)`, () => {
  it('compareCodePoints agrees with the byte order of UTF-8', () => {
    fc.assert(fc.property(pair, ([a, b]) => Math.sign(compareCodePoints(a, b)) === utf8Compare(a, b)), { numRuns: 2000, seed: SEED })
    expect(compareCodePoints('\u{1F600}', '\u{FFFD}')).toBeGreaterThan(0)
  })

  it('utf8Length is the length of the UTF-8 encoding, a lone surrogate counting as U+FFFD', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), (s) => utf8Length(s) === Buffer.byteLength(s, 'utf8')), { numRuns: 2000, seed: SEED })
    expect(utf8Length('\uD800x')).toBe(4)
  })
})
