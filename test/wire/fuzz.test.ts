// Decoding faces bytes from any peer: on anything malformed it must throw WireDecodeError
// and nothing else, promptly. Whatever it accepts must be canonical, i.e. re-encode to
// exactly the input (so a truncated or extended frame is either refused or is the one
// encoding of some other valid message).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeMessage, encodeMessage, MESSAGE_TAGS } from '../../src/wire/codec.js'
import { WireDecodeError } from '../../src/wire/errors.js'
import { MAX_FRAME_BYTES } from '../../src/wire/limits.js'
import { anyMessageArb } from './arbitraries.js'

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'set'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly value: number }
  | { readonly kind: 'delete'; readonly at: number }

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
)

function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = [...bytes]
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1)
    if (m.kind === 'flip' && at < out.length) out[at] = (out[at] as number) ^ (1 << m.bit)
    else if (m.kind === 'set' && at < out.length) out[at] = m.value
    else if (m.kind === 'truncate') out = out.slice(0, at)
    else if (m.kind === 'insert') out.splice(at, 0, m.value)
    else if (m.kind === 'delete') out.splice(at, 1)
  }
  return Uint8Array.from(out)
}

/** Refused with WireDecodeError, or accepted as the one encoding of what it decodes to. */
function expectStrict(bytes: Uint8Array): 'refused' | 'accepted' {
  let msg
  try {
    msg = decodeMessage(bytes)
  } catch (err) {
    if (!(err instanceof WireDecodeError)) throw err
    return 'refused'
  }
  expect(encodeMessage(msg)).toEqual(bytes)
  return 'accepted'
}

const TAGS = Object.values(MESSAGE_TAGS)

describe('wire decoder fuzz', () => {
  it('random bytes: WireDecodeError or a canonical frame', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expectStrict(bytes)
      }),
      { numRuns: 1000 },
    )
  })

  it('a valid header with a random payload: WireDecodeError or a canonical frame', () => {
    fc.assert(
      fc.property(fc.constantFrom(...TAGS), fc.uint8Array({ maxLength: 200 }), (tag, payload) => {
        expectStrict(Uint8Array.from([1, tag, ...payload]))
      }),
      { numRuns: 1500 },
    )
  })

  it('bit flips, byte changes, truncations, insertions and deletions of valid frames', () => {
    let refused = 0
    fc.assert(
      fc.property(anyMessageArb, fc.array(mutationArb, { minLength: 1, maxLength: 4 }), (msg, mutations) => {
        if (expectStrict(mutate(encodeMessage(msg), mutations)) === 'refused') refused++
      }),
      { numRuns: 1500 },
    )
    // Sanity: the mutations do hit; almost every mutated frame is refused.
    expect(refused).toBeGreaterThan(1000)
  })

  it('every truncation of a valid frame', () => {
    fc.assert(
      fc.property(anyMessageArb, (msg) => {
        const frame = encodeMessage(msg)
        for (let n = 0; n < frame.length; n++) expectStrict(frame.subarray(0, n))
      }),
      { numRuns: 150 },
    )
  })

  it('valid frames with garbage appended', () => {
    fc.assert(
      fc.property(anyMessageArb, fc.uint8Array({ minLength: 1, maxLength: 16 }), (msg, garbage) => {
        const frame = encodeMessage(msg)
        expectStrict(Uint8Array.from([...frame, ...garbage]))
      }),
      { numRuns: 500 },
    )
  })

  it('a field appended to a valid frame is refused as non-canonical', () => {
    // Field 15, varint 1: a field number no message uses.
    fc.assert(
      fc.property(anyMessageArb, (msg) => {
        const frame = encodeMessage(msg)
        expect(() => decodeMessage(Uint8Array.from([...frame, 0x78, 0x01]))).toThrow(/not in canonical form/)
      }),
      { numRuns: 200 },
    )
  })

  it('hostile 4 MiB payloads are refused promptly', () => {
    const size = MAX_FRAME_BYTES - 2
    const payloads: [string, Uint8Array][] = [
      // Start-group tags nest without end: protons recurses into them.
      ['nested groups', new Uint8Array(size).fill(0x0b)],
      // An unknown varint field repeated: skipped field by field.
      ['unknown fields', Uint8Array.from({ length: size }, (_, i) => (i % 2 === 0 ? 0x78 : 0x01))],
      // Empty want entries: lists that would hold 2 million keys.
      ['a huge list', Uint8Array.from({ length: size }, (_, i) => (i % 2 === 0 ? 0x12 : 0x00))],
      // A length prefix far beyond the frame.
      ['a lying length', Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3])],
    ]
    for (const [name, payload] of payloads) {
      for (const tag of [MESSAGE_TAGS['sync-states'], MESSAGE_TAGS.members, MESSAGE_TAGS.ack]) {
        const frame = new Uint8Array(payload.length + 2)
        frame.set([1, tag])
        frame.set(payload, 2)
        const started = performance.now()
        expect(() => decodeMessage(frame), name).toThrow(WireDecodeError)
        expect(performance.now() - started, name).toBeLessThan(2000)
      }
    }
  })

  it('non-byte inputs are refused with WireDecodeError', () => {
    for (const input of [undefined, null, 'frame', [1, 0x12], new ArrayBuffer(2), { length: 2 }]) {
      expect(() => decodeMessage(input as unknown as Uint8Array)).toThrow(WireDecodeError)
    }
  })
})
