// Keys are ordered by the bytes of their UTF-8 encoding, which is what SQLite's BINARY
// collation compares and what every node agrees on. JavaScript's `<` compares UTF-16 code
// units instead, which differs for characters above U+FFFF versus U+E000..U+FFFF, so the
// in-memory parts of the store use `compareKeys`.

/** Negative, zero or positive like a comparator: UTF-8 byte order (= code point order). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i)
    let y = b.charCodeAt(i)
    if (x === y) continue
    // Both at or above the surrogate block: move surrogates (which encode code points
    // above U+FFFF) after U+E000..U+FFFF. Below 0xD800 code units already match code points.
    if (x >= 0xd800 && y >= 0xd800) {
      x = x >= 0xe000 ? x - 0x800 : x + 0x2000
      y = y >= 0xe000 ? y - 0x800 : y + 0x2000
    }
    return x - y
  }
  return a.length - b.length
}

const LONE_SURROGATE = /\p{Surrogate}/u

/** False for strings with a lone surrogate: they have no UTF-8 encoding and SQLite would alter them. */
export function isWellFormedKey(s: string): boolean {
  return !LONE_SURROGATE.test(s)
}

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
