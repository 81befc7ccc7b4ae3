// Keys are ordered by the bytes of their UTF-8 encoding, which is what SQLite's BINARY
// collation compares and what every node agrees on. JavaScript's `<` compares UTF-16 code
// units instead, which differs for characters above U+FFFF versus U+E000..U+FFFF, so the
// in-memory parts of the store use `compareKeys`.
import { compareCodePoints } from '../../crdts/text.js'

/** Negative, zero or positive like a comparator: UTF-8 byte order (= code point order). */
export const compareKeys: (a: string, b: string) => number = compareCodePoints

/**
 * The smallest string greater than every string that starts with `prefix`, or undefined
 * when there is none (empty prefix, or only U+10FFFF). Used as an exclusive upper bound.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const cps = Array.from(prefix, (c) => c.codePointAt(0) as number)
  while (cps.length > 0) {
    const last = cps.pop() as number
    if (last < 0x10ffff) {
      cps.push(last === 0xd7ff ? 0xe000 : last + 1)
      return String.fromCodePoint(...cps)
    }
  }
  return undefined
}

/** The key range a scan covers, normalised once for both the SQL and the in-memory side. */
export interface KeyRange {
  /** Lower bound, inclusive unless `lowerExclusive`. '' means unbounded. */
  lower: string
  lowerExclusive: boolean
  /** Exclusive upper bound; undefined means unbounded. */
  upper: string | undefined
}

export function keyRange(prefix: string | undefined, after: string | undefined): KeyRange {
  const p = prefix ?? ''
  const upper = prefixUpperBound(p)
  if (after !== undefined && compareKeys(after, p) >= 0) return { lower: after, lowerExclusive: true, upper }
  return { lower: p, lowerExclusive: false, upper }
}

export function inRange(key: string, r: KeyRange): boolean {
  const c = compareKeys(key, r.lower)
  if (c < 0 || (c === 0 && r.lowerExclusive)) return false
  return r.upper === undefined || compareKeys(key, r.upper) < 0
}
