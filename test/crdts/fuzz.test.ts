// Decoders face bytes from disk and from peers: on anything malformed they must throw
// CrdtDecodeError and nothing else, promptly. Whatever they accept must be canonical, i.e.
// re-encode to exactly the input.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { CrdtDecodeError, FORMAT_VERSION, typeOfEncoded } from '../../crdts/index.js'
import { ORSET_PAGED_VERSION } from '../../crdts/orset-pages.js'
import { SPECS, type AnySpec } from './specs.js'
import { planArb, runPlan } from './universe.js'

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly value: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'insert'; readonly at: number; readonly value: number }
  | { readonly kind: 'delete'; readonly at: number }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
)

function mutate(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out = [...bytes]
  for (const m of mutations) {
    const at = out.length === 0 ? 0 : m.at % (out.length + 1)
    if (m.kind === 'flip' && at < out.length) out[at] = m.value
    else if (m.kind === 'truncate') out = out.slice(0, at)
    else if (m.kind === 'insert') out.splice(at, 0, m.value)
    else if (m.kind === 'delete') out.splice(at, 1)
  }
  return Uint8Array.from(out)
}

/** Decoding either fails with CrdtDecodeError or yields a state that encodes to the same bytes. */
function expectStrict(spec: AnySpec, bytes: Uint8Array): void {
  let state: unknown
  try {
    state = spec.crdt.decode(bytes)
  } catch (err) {
    if (!(err instanceof CrdtDecodeError)) throw err
    return
  }
  const encoded = spec.crdt.encode(state)
  if (spec.name === 'orset' && bytes[1] === FORMAT_VERSION && encoded[1] === ORSET_PAGED_VERSION) {
    // Version 1 (sets written before pages) is still read, and written as version 2.
    expect(spec.crdt.equals(spec.crdt.decode(encoded), state)).toBe(true)
    return
  }
  expect(encoded).toEqual(bytes)
}

/** covers() either fails with CrdtDecodeError or answers a boolean. */
function expectStrictWitness(spec: AnySpec, state: unknown, witness: Uint8Array): void {
  try {
    expect(typeof spec.crdt.covers(state, witness)).toBe('boolean')
  } catch (err) {
    if (!(err instanceof CrdtDecodeError)) throw err
  }
}

describe.each(SPECS.map((spec) => [spec.name, spec] as const))('%s decoder fuzz', (_name, spec) => {
  const header = Uint8Array.from([spec.crdt.tag, 1])

  it('throws only CrdtDecodeError on random bytes, with and without a valid header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), fc.boolean(), (tail, withHeader) => {
        const bytes = withHeader ? Uint8Array.from([...header, ...tail]) : tail
        expectStrict(spec, bytes)
        expectStrictWitness(spec, spec.crdt.empty(), bytes)
      }),
      { numRuns: 400 },
    )
  })

  it('throws only CrdtDecodeError on mutated and truncated valid encodings', () => {
    fc.assert(
      fc.property(planArb(spec, 12), fc.nat(), fc.array(mutation, { minLength: 1, maxLength: 3 }), (plan, pick, mutations) => {
        const { pool } = runPlan(spec, plan)
        const state = pool[pick % pool.length]
        const encoded = spec.crdt.encode(state)
        expectStrict(spec, mutate(encoded, mutations))
        expectStrict(spec, encoded.subarray(0, pick % (encoded.length + 1)))
        const witness = spec.crdt.witness(state)
        expectStrictWitness(spec, state, mutate(witness, mutations))
      }),
      { numRuns: 250, examples: [[{ replicas: 2, steps: [] }, 0, [{ kind: 'flip', at: 2057826509, value: 1 }, { kind: 'insert', at: 14, value: 0 }]]] },
    )
  })

  it('rejects trailing bytes, other types and non-byte input', () => {
    const encoded = spec.crdt.encode(spec.crdt.empty())
    expect(() => spec.crdt.decode(Uint8Array.from([...encoded, 0]))).toThrow(/trailing/)
    for (const other of SPECS) {
      if (other !== spec) expect(() => spec.crdt.decode(other.crdt.encode(other.crdt.empty()))).toThrow(CrdtDecodeError)
    }
    for (const junk of [undefined, null, 'abc', [3, 1, 0, 0], new ArrayBuffer(4)]) {
      expect(() => spec.crdt.decode(junk as never)).toThrow(CrdtDecodeError)
    }
    expect(typeOfEncoded(encoded)).toBe(spec.name)
  })

  it('rejects a huge declared count quickly instead of allocating for it', () => {
    // Count 2^53 - 1 right after the header: must fail on the remaining length, not hang.
    const bytes = Uint8Array.from([...header, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3])
    const started = performance.now()
    expect(() => spec.crdt.decode(bytes)).toThrow(CrdtDecodeError)
    expect(performance.now() - started).toBeLessThan(100)
  })
})

describe('decoding hostile JSON', () => {
  it('turns deeply nested element text into CrdtDecodeError, not a stack overflow', () => {
    const orset = SPECS.find((s) => s.name === 'orset') as AnySpec
    const text = '['.repeat(30_000) + ']'.repeat(30_000)
    const body = new TextEncoder().encode(text)
    // One actor "a" with dot 1; one element with that text and dot (0, 1).
    const lengthBytes = [0xe0, 0xd4, 0x03] // 60,000 as a varuint
    const bytes = Uint8Array.from([3, 1, 1, 1, 97, 1, 0, 1, ...lengthBytes, ...body, 1, 0, 1])
    expect(() => orset.crdt.decode(bytes)).toThrow(CrdtDecodeError)
    expect(() => orset.crdt.decode(bytes)).toThrow(/nested more than/)
  })
})
