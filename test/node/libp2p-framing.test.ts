// One length-prefixed frame per stream direction: what readFrame accepts and refuses.
import { describe, expect, it } from 'vitest'
import { RPC_PROTOCOL, SYNC_PROTOCOL } from '../../node/libp2p/constants.js'
import { FrameError } from '../../node/libp2p/errors.js'
import { encodeFrame, readFrame } from '../../node/libp2p/framing.js'
import { protocolFor } from '../../node/libp2p/request-stream.js'
import { encodeMessage } from '../../src/wire/codec.js'
import { concat, varint } from './fixtures/raw-peer.js'

async function* chunks(...parts: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield p
}

function bytesOneByOne(bytes: Uint8Array): Uint8Array[] {
  return [...bytes].map((b) => new Uint8Array([b]))
}

describe('framing', () => {
  it('reads back what encodeFrame wrote, however the bytes are chunked', async () => {
    for (const size of [0, 1, 127, 128, 300, 70_000]) {
      const frame = new Uint8Array(size).map((_, i) => (i * 7) & 0xff)
      const wire = encodeFrame(frame).subarray()
      const same = (got: Uint8Array) => Buffer.from(got).equals(Buffer.from(frame))
      expect(same(await readFrame(chunks(wire), 1 << 20))).toBe(true)
      if (size <= 300) expect(same(await readFrame(chunks(...bytesOneByOne(wire)), 1 << 20))).toBe(true)
      expect(same(await readFrame(chunks(wire.subarray(0, 1), wire.subarray(1)), 1 << 20))).toBe(true)
    }
  })

  it('returns a zero-length frame without waiting for the end of the stream', async () => {
    async function* thenHang(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array([0])
      await new Promise(() => undefined)
    }
    expect(await readFrame(thenHang(), 10)).toEqual(new Uint8Array(0))
  })

  it('accepts a frame of exactly the limit and refuses one byte more from the prefix alone', async () => {
    expect(await readFrame(chunks(varint(10), new Uint8Array(10)), 10)).toHaveLength(10)
    await expect(readFrame(chunks(varint(11)), 10)).rejects.toThrow(/above the limit/)
  })

  it.each([
    ['an empty stream', [], /before a frame/],
    ['a cut prefix', [new Uint8Array([0x80])], /inside the length prefix/],
    ['a truncated frame', [varint(5), new Uint8Array(3)], /after 3 of 5/],
    ['bytes after the frame', [concat(varint(1), new Uint8Array([1, 2]))], /one frame/],
    ['a 6-byte prefix', [new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])], /longer than 5 bytes/],
  ])('refuses %s with FrameError', async (_name, parts, message) => {
    const err = await readFrame(chunks(...(parts as Uint8Array[])), 1 << 20).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FrameError)
    expect(String(err)).toMatch(message)
  })

  it('sends anti-entropy requests on the sync protocol and everything else on rpc', () => {
    const sync = encodeMessage({ type: 'sync-root', ringVersion: new Uint8Array(4), root: new Uint8Array(4) })
    expect(protocolFor(sync)).toBe(SYNC_PROTOCOL)
    expect(protocolFor(encodeMessage({ type: 'read', key: 'k' }))).toBe(RPC_PROTOCOL)
    expect(protocolFor(new Uint8Array(0))).toBe(RPC_PROTOCOL)
  })
})
