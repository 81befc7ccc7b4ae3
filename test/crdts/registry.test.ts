import { describe, expect, it } from 'vitest'
import { CrdtDecodeError, crdtTypeNames, crdtTypes, GCounter, isCrdtTypeName, LWWRegister, ORMap, ORSet, PNCounter, typeOfEncoded } from '../../crdts/index.js'

describe('registry', () => {
  it('maps names to types with tags 1 to 5', () => {
    expect(crdtTypes).toEqual({ gcounter: GCounter, pncounter: PNCounter, orset: ORSet, lww: LWWRegister, map: ORMap })
    expect(crdtTypeNames.map((name) => [name, crdtTypes[name].name, crdtTypes[name].tag])).toEqual([
      ['gcounter', 'gcounter', 1],
      ['pncounter', 'pncounter', 2],
      ['orset', 'orset', 3],
      ['lww', 'lww', 4],
      ['map', 'map', 5],
    ])
    expect(Object.isFrozen(crdtTypes)).toBe(true)
  })

  it('reads the type of an encoded state from its tag', () => {
    for (const name of crdtTypeNames) {
      const type = crdtTypes[name]
      expect(typeOfEncoded(type.encode(type.empty() as never))).toBe(name)
    }
  })

  it('rejects unknown tags, unknown versions and short input', () => {
    expect(() => typeOfEncoded(Uint8Array.from([9, 1, 0]))).toThrow(/unknown CRDT type tag 9/)
    expect(() => typeOfEncoded(Uint8Array.from([0, 1]))).toThrow(CrdtDecodeError)
    expect(() => typeOfEncoded(Uint8Array.from([3, 3, 0]))).toThrow(/version/)
    expect(() => typeOfEncoded(Uint8Array.from([1, 2, 0]))).toThrow(/version/)
    expect(typeOfEncoded(Uint8Array.from([3, 2]))).toBe('orset')
    expect(typeOfEncoded(Uint8Array.from([3, 1, 0, 0]))).toBe('orset')
    expect(() => typeOfEncoded(Uint8Array.from([3]))).toThrow(CrdtDecodeError)
    expect(() => typeOfEncoded('x' as never)).toThrow(CrdtDecodeError)
  })

  it('recognizes type names', () => {
    expect(isCrdtTypeName('orset')).toBe(true)
    expect(isCrdtTypeName('toString')).toBe(false)
    expect(isCrdtTypeName(3)).toBe(false)
  })
})
