// Text as rumordb stores and sends it: UTF-8, well-formed (no lone surrogates, which UTF-8
// cannot hold), ordered by code point (the byte order of its UTF-8 encoding, so canonical
// encodings sort by bytes and in-memory order agrees).

/**
 * Orders strings by Unicode code point, which is the byte order of their UTF-8
 * encodings: canonical encodings sort by bytes, and in-memory order must agree.
 * (JS `<` compares UTF-16 code units, which differs for astral characters.)
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number
    const y = b.codePointAt(i) as number
    if (x !== y) return x < y ? -1 : 1
    if (x > 0xffff) i++
  }
  return a.length - b.length
}

/** Lone surrogates cannot be encoded as UTF-8, so they would not survive a round trip. */
export function isWellFormed(s: string): boolean {
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s)
}

/** Bytes of the UTF-8 encoding. */
export function utf8Length(s: string): number {
  return Buffer.byteLength(s, 'utf8')
}
