// Bad bytes on the request protocols from a plain libp2p peer never crash the node: the
// stream is reset (oversized, truncated, silent, malformed prefix, trailing bytes) or the
// handler answers with an error frame (garbage inside a well-formed frame), and the node
// goes on serving proper requests.
import type { Libp2p } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { RPC_PROTOCOL, SYNC_PROTOCOL } from '../../node/libp2p/constants.js'
import type { Libp2pTransport } from '../../node/libp2p/libp2p-transport.js'
import { TransportError, TransportTimeoutError, type RequestHandler } from '../../src/transport/transport.js'
import { decodeRequest, decodeResponse, encodeMessage } from '../../src/wire/codec.js'
import { MAX_FRAME_BYTES } from '../../src/wire/limits.js'
import { firstAddr, loopbackTransport, stopAll } from './fixtures/libp2p-harness.js'
import { concat, createRawPeer, openRaw, readAll, varint, writeAndClose, writeAndHold, type RawPeer, unframe } from './fixtures/raw-peer.js'

/** What the engine's messenger does: decode, answer; undecodable → an error frame. */
function messengerLike(calls: Uint8Array[]): RequestHandler {
  return async (_from, frame) => {
    calls.push(frame)
    try {
      decodeRequest(frame)
      return encodeMessage({ type: 'ack' })
    } catch (err) {
      return encodeMessage({ type: 'error', code: 'BAD_REQUEST', message: `undecodable request: ${(err as Error).message}`.slice(0, 200) })
    }
  }
}

const validRequest = () => encodeMessage({ type: 'read', key: 'k' })
const validSync = () => encodeMessage({ type: 'sync-root', ringVersion: new Uint8Array(32), root: new Uint8Array(32).fill(1) })

describe('libp2p transport against a hostile peer', () => {
  const transports: Libp2pTransport[] = []
  const raws: Libp2p[] = []
  afterEach(async () => {
    await stopAll(transports.splice(0))
    await Promise.all(raws.splice(0).map((r) => r.stop()))
  })

  async function setup() {
    const calls: Uint8Array[] = []
    const node = await loopbackTransport({ serverReadTimeoutMs: 300 })
    const client = await loopbackTransport()
    transports.push(node, client)
    node.setRequestHandler(messengerLike(calls))
    await Promise.all([node.start(), client.start()])
    const raw = await createRawPeer()
    raws.push(raw as unknown as Libp2p)
    const addr = firstAddr(node)
    /** A proper request from a proper rumordb node still gets its answer. */
    const stillServes = async () => {
      await client.dial(addr)
      const reply = await client.request(node.peerId, validRequest(), { timeoutMs: 5000 })
      expect(decodeResponse(reply)).toEqual({ type: 'ack' })
    }
    return { node, raw, addr, calls, stillServes }
  }

  async function rawExchange(raw: RawPeer, addr: string, bytes: Uint8Array, protocol = RPC_PROTOCOL) {
    const stream = await openRaw(raw, addr, protocol)
    const [, reply] = await Promise.all([writeAndClose(stream, bytes), readAll(stream)])
    return reply
  }

  it('answers garbage inside a well-formed frame with an error frame', async () => {
    const { raw, addr, calls, stillServes } = await setup()
    const garbage = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3])
    const reply = await rawExchange(raw, addr, concat(varint(garbage.length), garbage))
    expect(reply.error).toBeUndefined()
    expect(decodeResponse(unframe(reply.bytes))).toMatchObject({ type: 'error', code: 'BAD_REQUEST' })
    expect(calls).toEqual([garbage])
    await stillServes()
  })

  it('serves both the rpc and the sync protocol with the same handler', async () => {
    const { raw, addr, calls } = await setup()
    for (const [protocol, frame] of [
      [RPC_PROTOCOL, validRequest()],
      [SYNC_PROTOCOL, validSync()],
    ] as const) {
      const reply = await rawExchange(raw, addr, concat(varint(frame.length), frame), protocol)
      expect(decodeResponse(unframe(reply.bytes))).toEqual({ type: 'ack' })
    }
    expect(calls).toHaveLength(2)
  })

  it('resets a stream whose length prefix is above the frame limit, before reading the frame', async () => {
    const { node, raw, addr, calls, stillServes } = await setup()
    const reply = await rawExchange(raw, addr, concat(varint(MAX_FRAME_BYTES + 1), new Uint8Array(1000)))
    expect(reply.bytes).toHaveLength(0)
    expect(reply.error).toBeDefined()
    expect(calls).toHaveLength(0)
    expect(node.counters().requestsRefused).toBe(1)
    await stillServes()
  })

  it('resets streams with a malformed prefix, a truncated frame, or bytes after the frame', async () => {
    const { node, raw, addr, calls, stillServes } = await setup()
    const cases = [
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // varint longer than 5 bytes
      new Uint8Array([0x80]), // prefix cut off
      concat(varint(100), new Uint8Array(10)), // 10 of 100 bytes, then end of stream
      concat(varint(2), new Uint8Array([1, 2]), varint(1), new Uint8Array([3])), // two frames on one stream
    ]
    for (const bytes of cases) {
      const reply = await rawExchange(raw, addr, bytes)
      expect(reply.bytes).toHaveLength(0)
    }
    expect(calls).toHaveLength(0)
    expect(node.counters().requestsRefused).toBe(cases.length)
    await stillServes()
  })

  it('resets a stream whose peer goes silent in the middle of a frame (server read timeout)', async () => {
    const { node, raw, addr, calls, stillServes } = await setup()
    const stream = await openRaw(raw, addr, RPC_PROTOCOL)
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const started = Date.now()
    writeAndHold(stream, concat(varint(100), new Uint8Array(10)), held)
    const reply = await readAll(stream) // ends when the node gives up (300 ms in this setup)
    release()
    stream.abort(new Error('test done'))
    expect(Date.now() - started).toBeLessThan(5000)
    expect(reply.bytes).toHaveLength(0)
    expect(calls).toHaveLength(0)
    expect(node.counters().requestsRefused).toBe(1)
    await stillServes()
  })

  it('as a requester, refuses an oversized or missing response instead of hanging', async () => {
    const { node, raw } = await setup()
    const rawAddr = raw.getMultiaddrs()[0]?.toString()
    if (rawAddr === undefined) throw new Error('raw peer has no address')
    await node.dial(rawAddr)
    // Not speaking the protocol at all: refused at once (the request is sent optimistically, so
    // this surfaces as a failed exchange rather than as an unreachable peer).
    const unsupported = await node.request(raw.peerId.toString(), validRequest(), { timeoutMs: 5000 }).catch((e: unknown) => e)
    expect(unsupported).toBeInstanceOf(TransportError)
    expect(unsupported).not.toBeInstanceOf(TransportTimeoutError)
    let mode: 'oversized' | 'silent-close' = 'oversized'
    await raw.handle(RPC_PROTOCOL, async ({ stream }) => {
      const bytes = mode === 'oversized' ? concat(varint(MAX_FRAME_BYTES + 1), new Uint8Array(100)) : new Uint8Array(0)
      await stream.sink([bytes]).catch(() => undefined)
    })
    for (const m of ['oversized', 'silent-close'] as const) {
      mode = m
      const err = await node.request(raw.peerId.toString(), validRequest(), { timeoutMs: 5000 }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(TransportError)
      expect(err).not.toBeInstanceOf(TransportTimeoutError)
    }
    expect(node.counters().requestsFailed).toBe(3)
  })
})
