import { describe, expect, it } from 'vitest'
import { CrdtDecodeError, InvalidValueError, LWWRegister, ValueTooLargeError, type LWWRegisterState } from '../../crdts/index.js'

const ts = (wallMs: number, logical = 0) => ({ wallMs, logical })

describe('LWWRegister', () => {
  it('reads undefined until set', () => {
    expect(LWWRegister.value(LWWRegister.empty())).toBeUndefined()
    expect(LWWRegister.encode(LWWRegister.empty())).toEqual(Uint8Array.from([4, 1, 0]))
  })

  it('keeps the write with the highest timestamp, in any merge order', () => {
    const older = LWWRegister.set(null, 'z', 'old', ts(10, 5))
    const newer = LWWRegister.set(null, 'a', 'new', ts(11))
    expect(LWWRegister.value(LWWRegister.merge(older, newer))).toBe('new')
    expect(LWWRegister.value(LWWRegister.merge(newer, older))).toBe('new')
  })

  it('breaks timestamp ties by the greater actor id, never by the value', () => {
    const fromA = LWWRegister.set(null, 'node-a', 'zzz', ts(10))
    const fromB = LWWRegister.set(null, 'node-b', 'aaa', ts(10))
    expect(LWWRegister.value(LWWRegister.merge(fromA, fromB))).toBe('aaa')
    expect(LWWRegister.value(LWWRegister.merge(fromB, fromA))).toBe('aaa')
  })

  it('picks deterministically between two values of one (timestamp, actor), which only corrupt input has', () => {
    const x = LWWRegister.set(null, 'a', 'x', ts(1))
    const y = LWWRegister.set(null, 'a', 'y', ts(1))
    expect(LWWRegister.merge(x, y)).toBe(LWWRegister.merge(y, x))
  })

  it('stores a frozen canonical copy of the value', () => {
    const value = { b: [1, -0], a: 'x' }
    const s: LWWRegisterState = LWWRegister.set(null, 'a', value, ts(1))
    value.b.push(2)
    expect(LWWRegister.value(s)).toEqual({ a: 'x', b: [1, 0] })
    expect(s?.json).toBe('{"a":"x","b":[1,0]}')
    expect(Object.isFrozen(LWWRegister.value(s))).toBe(true)
  })

  it('validates value, actor and timestamp', () => {
    expect(() => LWWRegister.set(null, 'a', NaN, ts(1))).toThrow(InvalidValueError)
    expect(() => LWWRegister.set(null, 'a', 'x'.repeat(70_000), ts(1))).toThrow(ValueTooLargeError)
    expect(() => LWWRegister.set(null, '', 1, ts(1))).toThrow(RangeError)
    expect(() => LWWRegister.set(null, 'a', 1, ts(-1))).toThrow(RangeError)
    expect(() => LWWRegister.set(null, 'a', 1, ts(1, 65_536))).toThrow(RangeError)
    expect(() => LWWRegister.set(null, 'a', 1, ts(2 ** 48))).toThrow(RangeError)
  })

  it('encodes the timestamp big-endian before the actor and value', () => {
    const s = LWWRegister.set(null, 'a', 7, ts(0x010203040506, 0x0708))
    expect([...LWWRegister.encode(s)]).toEqual([4, 1, 1, 1, 2, 3, 4, 5, 6, 7, 8, 1, 97, 1, 55])
    expect(() => LWWRegister.decode(Uint8Array.from([4, 1, 2]))).toThrow(CrdtDecodeError)
    expect(() => LWWRegister.decode(Uint8Array.from([4, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 55]))).toThrow(/empty actor/)
    expect(() => LWWRegister.decode(Uint8Array.from([4, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 97, 2, 32, 55]))).toThrow(/canonical|JSON/)
  })
})
