import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  createDecoder,
  createEncoder,
  CrdtDecodeError,
  expectEnd,
  readBytes,
  readString,
  readVarUint,
  toUint8Array,
  writeBytes,
  writeString,
  writeVarUint,
} from '../../crdts/index.js'

const encodeWith = (write: (enc: ReturnType<typeof createEncoder>) => void): Uint8Array => {
  const enc = createEncoder(1)
  write(enc)
  return toUint8Array(enc)
}

describe('codec', () => {
  it('round-trips varuints up to Number.MAX_SAFE_INTEGER, minimally (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.nat(300), fc.maxSafeNat())), (ns) => {
        const bytes = encodeWith((enc) => ns.forEach((n) => writeVarUint(enc, n)))
        const dec = createDecoder(bytes)
        for (const n of ns) expect(readVarUint(dec)).toBe(n)
        expectEnd(dec)
      }),
      { numRuns: 200 },
    )
    expect([...encodeWith((enc) => writeVarUint(enc, 300))]).toEqual([0xac, 0x02])
    expect(encodeWith((enc) => writeVarUint(enc, Number.MAX_SAFE_INTEGER)).length).toBe(8)
  })

  it('rejects non-minimal, oversized and truncated varuints', () => {
    expect(() => readVarUint(createDecoder(Uint8Array.from([0x80, 0x00])))).toThrow(/non-minimal/)
    expect(() => readVarUint(createDecoder(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10])))).toThrow(/MAX_SAFE/)
    expect(() => readVarUint(createDecoder(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01])))).toThrow(/8 bytes/)
    expect(() => readVarUint(createDecoder(Uint8Array.from([0x80])))).toThrow(CrdtDecodeError)
    expect(() => writeVarUint(createEncoder(), -1)).toThrow(RangeError)
    expect(() => writeVarUint(createEncoder(), 2 ** 53)).toThrow(RangeError)
  })

  it('round-trips UTF-8 strings and byte strings (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 40 })), fc.uint8Array({ maxLength: 50 }), (strings, raw) => {
        const bytes = encodeWith((enc) => {
          strings.forEach((s) => writeString(enc, s))
          writeBytes(enc, raw)
        })
        const dec = createDecoder(bytes)
        for (const s of strings) expect(readString(dec, 1000)).toBe(s)
        expect(readBytes(dec, 1000)).toEqual(raw)
        expectEnd(dec)
      }),
      { numRuns: 200 },
    )
  })

  it('enforces string limits and UTF-8 validity before allocating', () => {
    expect(() => readString(createDecoder(Uint8Array.from([5, 97, 97])), 100)).toThrow(/need 5 bytes/)
    expect(() => readString(createDecoder(Uint8Array.from([0xff, 0xff, 0xff, 0x7f])), 1 << 30)).toThrow(CrdtDecodeError)
    expect(() => readString(createDecoder(Uint8Array.from([3, 97, 97, 97])), 2)).toThrow(/limit/)
    expect(() => readString(createDecoder(Uint8Array.from([2, 0xc3, 0x28])), 10)).toThrow(/UTF-8/)
    // A leading byte-order mark is data, not a marker to strip.
    expect(readString(createDecoder(Uint8Array.from([3, 0xef, 0xbb, 0xbf])), 10)).toBe('\ufeff')
    expect(() => expectEnd(createDecoder(Uint8Array.from([1])))).toThrow(/trailing/)
    expect(() => createDecoder([1, 2] as never)).toThrow(CrdtDecodeError)
  })
})
