// Length-prefixed frames on a long-lived stream, and the request/response frames of a
// channel inside them: what readFrames accepts and refuses, however bytes are chunked.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeRequest, encodeResponse, parseRequest, parseResponse, STATUS_FAILED, STATUS_OK } from '../../node/libp2p/channel-frames.js'
import { protocolFor } from '../../node/libp2p/channel.js'
import { RPC_PROTOCOL, SYNC_PROTOCOL } from '../../node/libp2p/constants.js'
import { FrameError } from '../../node/libp2p/errors.js'
import { encodeFrame, readFrames, readVarint, writeVarint } from '../../node/libp2p/framing.js'
import { encodeMessage } from '../../src/wire/codec.js'
import { concat, varint } from './fixtures/raw-peer.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261122)

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const frame of source) out.push(frame)
  return out
}

/** Splits `bytes` at the given cut points (sorted, deduplicated, inside the buffer). */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const parts: Uint8Array[] = []
  let from = 0
  for (const p of [...points, bytes.length]) {
    parts.push(bytes.subarray(from, p))
    from = p
  }
  return parts
}

describe(`framing (seed ${SEED})`, () => {
  it('reads back any sequence of frames, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (frames, cuts) => {
          const wire = concat(...frames.map(encodeFrame))
          const got = await collect(readFrames(chunks(...split(wire, cuts)), 1 << 20))
          expect(got.map((f) => Buffer.from(f).toString('hex'))).toEqual(frames.map((f) => Buffer.from(f).toString('hex')))
        },
      ),
      { seed: SEED, numRuns: 300 },
    )
  })

  it('yields a frame (even an empty one) as soon as it is complete, and reports its start and end', async () => {
    const events: string[] = []
    async function* thenHang(): AsyncGenerator<Uint8Array> {
      yield concat(new Uint8Array([0]), varint(3), new Uint8Array([1]))
      await new Promise(() => undefined)
    }
    const frames = readFrames(thenHang(), 10, { frameStarted: () => events.push('start'), frameEnded: () => events.push('end') })
    expect((await frames.next()).value).toEqual(new Uint8Array(0))
    // The second frame has begun (1 of 3 bytes) and is not complete.
    const second = frames.next()
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(events).toEqual(['start', 'end', 'start'])
    void second
  })

  it('accepts a frame of exactly the limit and refuses one byte more from the prefix alone', async () => {
    expect(await collect(readFrames(chunks(varint(10), new Uint8Array(10)), 10))).toHaveLength(1)
    await expect(collect(readFrames(chunks(varint(11)), 10))).rejects.toThrow(/above the limit/)
  })

  it.each([
    ['a cut prefix', [new Uint8Array([0x80])], /inside the length prefix/],
    ['a truncated frame', [varint(5), new Uint8Array(3)], /after 3 of 5/],
    ['a truncated second frame', [concat(varint(1), new Uint8Array([7]), varint(2), new Uint8Array([1]))], /after 1 of 2/],
    ['a 6-byte prefix', [new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])], /longer than 5 bytes/],
    ['a non-minimal prefix', [new Uint8Array([0x81, 0x00, 0x07])], /not a minimal varint/],
  ])('refuses %s with FrameError', async (_name, parts, message) => {
    const err = await collect(readFrames(chunks(...(parts as Uint8Array[])), 1 << 20)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FrameError)
    expect(String(err)).toMatch(message)
  })

  it('ends quietly when the stream ends between frames (or before any)', async () => {
    expect(await collect(readFrames(chunks(), 10))).toEqual([])
    expect(await collect(readFrames(chunks(varint(1), new Uint8Array([9])), 10))).toEqual([new Uint8Array([9])])
  })

  it('writes and reads varints up to 2^53', () => {
    for (const n of [0, 1, 127, 128, 16_383, 16_384, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const buf = new Uint8Array(10)
      const end = writeVarint(buf, 0, n)
      expect(readVarint(buf, 0)).toEqual([n, end])
    }
    expect(readVarint(new Uint8Array([0x80]), 0)).toBeUndefined()
    // One value, one encoding: padded varints and values above 2^53 - 1 are refused.
    expect(readVarint(new Uint8Array([0x81, 0x00]), 0)).toBeUndefined()
    expect(readVarint(new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]), 0)).toBeUndefined()
    expect(readVarint(new Uint8Array([9, 0x96, 0x01]), 1)).toEqual([150, 3])
  })

  it('round-trips channel requests and responses, and refuses malformed ones', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat(), fc.uint8Array({ maxLength: 100 }), fc.boolean(), async (id, payload, ok) => {
        const [req] = await collect(readFrames(chunks(encodeRequest(id, payload)), 1000))
        expect(parseRequest(req!)).toEqual({ id, payload })
        const status = ok ? STATUS_OK : STATUS_FAILED
        const [res] = await collect(readFrames(chunks(encodeResponse(id, status, payload)), 1000))
        expect(parseResponse(res!)).toEqual({ id, status, payload })
      }),
      { seed: SEED, numRuns: 200 },
    )
    expect(parseRequest(new Uint8Array([0x80]))).toBeUndefined()
    expect(parseResponse(new Uint8Array([1]))).toBeUndefined() // no status
    expect(parseResponse(new Uint8Array([1, 7]))).toBeUndefined() // unknown status
  })

  it('sends anti-entropy requests on the sync protocol and everything else on rpc', () => {
    const sync = encodeMessage({ type: 'sync-root', ringVersion: new Uint8Array(4), root: new Uint8Array(4) })
    expect(protocolFor(sync)).toBe(SYNC_PROTOCOL)
    expect(protocolFor(encodeMessage({ type: 'read', key: 'k' }))).toBe(RPC_PROTOCOL)
    expect(protocolFor(new Uint8Array(0))).toBe(RPC_PROTOCOL)
  })
})
