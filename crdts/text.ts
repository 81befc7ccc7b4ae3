// Text as rumordb stores and sends it: UTF-8, well-formed, ordered by code point. The one
// home of these primitives: crdts/ is the bottom layer, so src/ and node/ import them from
// here. Well-formedness needs no helper: `String.prototype.isWellFormed` (Node 20) says
// whether a string has no lone surrogate, which UTF-8 cannot hold.

/**
 * Negative, zero or positive like a comparator: Unicode code point order, which is the
 * byte order of UTF-8 (what SQLite's BINARY collation compares and what canonical
 * encodings sort by). JavaScript's `<` compares UTF-16 code units instead, which puts
 * characters above U+FFFF before U+E000..U+FFFF. Defined for well-formed strings.
 */
export function compareCodePoints(a: string, b: string): number {
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

/**
 * Bytes of the UTF-8 encoding, counted without encoding (no Buffer here: crdts/ uses no
 * Node built-ins). A lone surrogate counts as the 3 bytes of the U+FFFD that replaces it.
 */
export function utf8Length(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4
        i++
      } else n += 3
    } else n += 3
  }
  return n
}
