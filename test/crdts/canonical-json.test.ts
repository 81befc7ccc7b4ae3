import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalJson, InvalidValueError, MAX_JSON_BYTES, MAX_JSON_DEPTH, ValueTooLargeError } from '../../crdts/index.js'
import { parseCanonicalJson } from '../../crdts/canonical-json.js'

describe('canonicalJson', () => {
  it('sorts object keys by code unit at every level and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null } })).toBe('{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}')
    // Code-unit order: uppercase before lowercase, astral (surrogate) before U+FF61.
    expect(canonicalJson({ b: 0, B: 0, '\uFF61': 0, '\u{1F986}': 0 })).toBe('{"B":0,"b":0,"\u{1F986}":0,"\uFF61":0}')
  })

  it('writes -0 as 0 and numbers in their shortest form', () => {
    expect(canonicalJson(-0)).toBe('0')
    expect(canonicalJson([-0, 1e21, 0.1, -5e-7])).toBe('[0,1e+21,0.1,-5e-7]')
  })

  it('escapes strings as JSON.stringify does, including lone surrogates', () => {
    expect(canonicalJson('a"b\\c\n\u0001\ud800é')).toBe(JSON.stringify('a"b\\c\n\u0001\ud800é'))
  })

  it('accepts objects without a prototype', () => {
    const o = Object.create(null) as Record<string, number>
    o.x = 1
    expect(canonicalJson(o)).toBe('{"x":1}')
  })

  it.each([
    ['undefined', undefined, /undefined/],
    ['a function', () => 1, /function/],
    ['NaN', NaN, /NaN/],
    ['Infinity', -Infinity, /Infinity/],
    ['a BigInt', 10n, /BigInt/],
    ['a symbol', Symbol('s'), /symbol/],
    ['a Date', new Date(0), /Date/],
    ['a Map', new Map(), /Map/],
    ['a boxed string', new String('x'), /String/],
    ['a class instance', new (class Point {})(), /Point/],
    ['a nested undefined property', { a: { b: undefined } }, /\$\.a\.b is undefined/],
    ['a sparse array', [1, , 3], /hole/],
    ['symbol keys', { [Symbol('k')]: 1 }, /symbol keys/],
  ])('rejects %s with InvalidValueError', (_what, value, message) => {
    expect(() => canonicalJson(value)).toThrow(InvalidValueError)
    expect(() => canonicalJson(value)).toThrow(message)
  })

  it('rejects cycles', () => {
    const a: Record<string, unknown> = {}
    a.self = { back: a }
    expect(() => canonicalJson(a)).toThrow(/circular/)
    const list: unknown[] = []
    list.push(list)
    expect(() => canonicalJson(list)).toThrow(InvalidValueError)
    // Shared (non-circular) references are fine.
    const shared = { x: 1 }
    expect(canonicalJson([shared, shared])).toBe('[{"x":1},{"x":1}]')
  })

  it('rejects nesting deeper than MAX_JSON_DEPTH', () => {
    const nest = (n: number): unknown => (n === 0 ? 0 : [nest(n - 1)])
    expect(() => canonicalJson(nest(MAX_JSON_DEPTH))).not.toThrow()
    expect(() => canonicalJson(nest(MAX_JSON_DEPTH + 1))).toThrow(/nested/)
  })

  it('limits the canonical UTF-8 size to MAX_JSON_BYTES', () => {
    expect(canonicalJson('x'.repeat(MAX_JSON_BYTES - 2)).length).toBe(MAX_JSON_BYTES)
    expect(() => canonicalJson('x'.repeat(MAX_JSON_BYTES - 1))).toThrow(ValueTooLargeError)
    // 'é' is 2 UTF-8 bytes: the limit counts bytes, not characters.
    expect(() => canonicalJson('é'.repeat(MAX_JSON_BYTES / 2))).toThrow(ValueTooLargeError)
    expect(() => canonicalJson('é'.repeat(MAX_JSON_BYTES / 2 - 1))).not.toThrow()
    expect(() => canonicalJson(Array.from({ length: 40_000 }, () => 1))).toThrow(/larger than 65536 bytes/)
  })

  it('is the same for equal values and parses back to an equal value (property)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = canonicalJson(value)
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(value)))
        expect(canonicalJson(JSON.parse(text))).toBe(text)
        expect(parseCanonicalJson(text)).toEqual(JSON.parse(text))
        // Key order of the input does not matter.
        const reversed = JSON.parse(text, (_k, v: unknown) =>
          v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
        ) as unknown
        expect(canonicalJson(reversed)).toBe(text)
      }),
      { numRuns: 300 },
    )
  })

  it('accepts only the canonical spelling when parsing stored text', () => {
    for (const text of ['"a"', '12', '-7', '0', 'true', 'null', '{"a":[1,"x"]}', '"\\u0001"', '"\\ud800"', '1e+21', '"\u{1F986}"']) {
      expect(canonicalJson(parseCanonicalJson(text))).toBe(text)
    }
    for (const text of ['"\\u0041"', '1.0', '-0', '01', '{"b":1,"a":2}', ' 1', '"\ud800"', '{"a":1,"a":2}', '', 'undefined', '1e400']) {
      expect(() => parseCanonicalJson(text), text).toThrow(InvalidValueError)
    }
  })
})
