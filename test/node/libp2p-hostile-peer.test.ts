// Bad bytes on the request channels from a plain libp2p peer never crash the node: the
// channel is reset (oversized, malformed prefix or id, cut off, stalled mid-frame), or the
// handler answers with an error frame (garbage inside a well-formed request), and the node
// goes on serving proper requests. As a requester, the node refuses bad answers with a
// TransportError instead of hanging.
import type { Libp2p, Stream } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeRequest, encodeResponse, parseResponse, STATUS_FAILED, STATUS_OK } from '../../node/libp2p/channel-frames.js'
import { RPC_PROTOCOL, SYNC_PROTOCOL } from '../../node/libp2p/constants.js'
import { readFrames } from '../../node/libp2p/framing.js'
import type { Libp2pTransport } from '../../node/libp2p/libp2p-transport.js'
import { PeerUnreachableError, TransportError, TransportTimeoutError, type RequestHandler } from '../../src/transport/transport.js'
import { decodeRequest, decodeResponse, encodeMessage } from '../../src/wire/codec.js'
import { MAX_FRAME_BYTES } from '../../src/wire/limits.js'
import { firstAddr, loopbackTransport, stopAll } from './fixtures/libp2p-harness.js'
import { concat, createRawPeer, openRaw, readAll, varint, writeAndClose, writeAndHold } from './fixtures/raw-peer.js'

/** What the engine's messenger does: decode, answer; undecodable → an error frame. */
function messengerLike(calls: Uint8Array[]): RequestHandler {
  return async (_from, frame) => {
    calls.push(frame)
    try {
      const request = decodeRequest(frame)
      if (request.type === 'read' && request.key === 'throw') throw new Error('handler exploded')
      return encodeMessage({ type: 'ack' })
    } catch (err) {
      if ((err as Error).message === 'handler exploded') throw err
      return encodeMessage({ type: 'error', code: 'BAD_REQUEST', message: `undecodable request: ${(err as Error).message}`.slice(0, 200) })
    }
  }
}

const validRequest = (key = 'k') => encodeMessage({ type: 'read', key })
const validSync = () => encodeMessage({ type: 'sync-root', ringVersion: new Uint8Array(32), root: new Uint8Array(32).fill(1) })

/** The response frames a raw channel gets, parsed, until it ends (or `count` arrived). */
async function responses(stream: Stream, count: number): Promise<{ id: number; status: number; payload: Uint8Array }[]> {
  const out: { id: number; status: number; payload: Uint8Array }[] = []
  for await (const frame of readFrames(stream.source, MAX_FRAME_BYTES + 16)) {
    const r = parseResponse(frame)
    if (r === undefined) throw new Error('malformed response from the node')
    out.push(r)
    if (out.length === count) break
  }
  return out
}

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
    return { node, client, raw, addr, calls, stillServes }
  }

  it('answers garbage inside a well-formed request with an error frame, and keeps the channel', async () => {
    const { raw, addr, calls, stillServes } = await setup()
    const stream = await openRaw(raw, addr, RPC_PROTOCOL)
    const garbage = new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3])
    const answers = responses(stream, 2)
    await writeAndClose(stream, concat(encodeRequest(7, garbage), encodeRequest(8, validRequest())))
    const [first, second] = (await answers).sort((a, b) => a.id - b.id)
    expect(first).toMatchObject({ id: 7, status: STATUS_OK })
    expect(decodeResponse(first!.payload)).toMatchObject({ type: 'error', code: 'BAD_REQUEST' })
    expect(second).toMatchObject({ id: 8, status: STATUS_OK })
    expect(decodeResponse(second!.payload)).toEqual({ type: 'ack' })
    expect(calls).toHaveLength(2)
    await stillServes()
  })

  it('serves pipelined requests on both the rpc and the sync protocol, answering each by its id', async () => {
    const { raw, addr, calls } = await setup()
    for (const [protocol, frame] of [
      [RPC_PROTOCOL, validRequest()],
      [SYNC_PROTOCOL, validSync()],
    ] as const) {
      const stream = await openRaw(raw, addr, protocol)
      const answers = responses(stream, 5)
      await writeAndClose(stream, concat(...[10, 11, 12, 13, 14].map((id) => encodeRequest(id, frame))))
      const got = await answers
      expect(got.map((r) => r.id).sort()).toEqual([10, 11, 12, 13, 14])
      for (const r of got) expect(decodeResponse(r.payload)).toEqual({ type: 'ack' })
    }
    expect(calls).toHaveLength(10)
  })

  it('resets a channel whose length prefix is above the frame limit, before reading the frame', async () => {
    const { node, raw, addr, calls, stillServes } = await setup()
    const stream = await openRaw(raw, addr, RPC_PROTOCOL)
    const reply = readAll(stream)
    await writeAndClose(stream, concat(varint(MAX_FRAME_BYTES + 1000), new Uint8Array(1000)))
    expect((await reply).bytes).toHaveLength(0)
    expect(calls).toHaveLength(0)
    expect(node.counters().requestsRefused).toBe(1)
    await stillServes()
  })

  it('resets channels with a malformed prefix, a malformed id, or a frame cut off by the end of the stream', async () => {
    const { node, raw, addr, calls, stillServes } = await setup()
    const cases = [
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), // varint longer than 5 bytes
      new Uint8Array([0x80]), // prefix cut off
      concat(varint(100), new Uint8Array(10)), // 10 of 100 bytes, then end of stream
      concat(varint(1), new Uint8Array([0x80])), // the id's varint is cut off
    ]
    for (const bytes of cases) {
      const stream = await openRaw(raw, addr, RPC_PROTOCOL)
      const reply = readAll(stream)
      await writeAndClose(stream, bytes)
      expect((await reply).bytes).toHaveLength(0)
    }
    expect(calls).toHaveLength(0)
    expect(node.counters().requestsRefused).toBe(cases.length)
    await stillServes()
  })

  it('resets a channel whose peer goes silent in the middle of a frame, but keeps an idle one', async () => {
    const { node, raw, addr, calls, stillServes } = await setup()
    // Idle between frames for longer than the read timeout (300 ms here): still served.
    const idle = await openRaw(raw, addr, RPC_PROTOCOL)
    let releaseIdle!: () => void
    const idleHeld = new Promise<void>((resolve) => (releaseIdle = resolve))
    const idleAnswers = responses(idle, 2)
    const second = new Promise<void>((resolve) => setTimeout(resolve, 700))
    idle
      .sink(
        (async function* () {
          yield encodeRequest(1, validRequest())
          await second
          yield encodeRequest(2, validRequest())
          await idleHeld
        })(),
      )
      .catch(() => undefined)
    expect((await idleAnswers).map((r) => r.id)).toEqual([1, 2])
    releaseIdle()

    // Stalled inside a frame: reset once the read timeout passes.
    const stream = await openRaw(raw, addr, RPC_PROTOCOL)
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    const started = Date.now()
    writeAndHold(stream, concat(varint(100), new Uint8Array(10)), held)
    const reply = await readAll(stream) // ends when the node gives up
    release()
    stream.abort(new Error('test done'))
    expect(Date.now() - started).toBeLessThan(5000)
    expect(reply.bytes).toHaveLength(0)
    expect(calls).toHaveLength(2)
    expect(node.counters().requestsRefused).toBe(1)
    await stillServes()
  })

  it('answers `failed` when the handler throws, and the requester gets a TransportError while the channel goes on', async () => {
    const { node, client, addr, stillServes } = await setup()
    await client.dial(addr)
    const err = await client.request(node.peerId, validRequest('throw'), { timeoutMs: 5000 }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TransportError)
    expect(String(err)).toMatch(/handler exploded/)
    expect(node.counters().requestsRefused).toBe(1)
    await stillServes()
  })

  it('as a requester, refuses a peer without the protocol, and oversized, unknown or missing answers, without hanging', async () => {
    const { node, raw } = await setup()
    const rawAddr = raw.getMultiaddrs()[0]?.toString()
    if (rawAddr === undefined) throw new Error('raw peer has no address')
    await node.dial(rawAddr)
    // Not speaking the protocol at all: the channel cannot be opened, so the request never left.
    const unsupported = await node.request(raw.peerId.toString(), validRequest(), { timeoutMs: 5000 }).catch((e: unknown) => e)
    expect(unsupported).toBeInstanceOf(PeerUnreachableError)

    let mode: 'oversized' | 'bad-status' | 'silent-close' = 'oversized'
    await raw.handle(RPC_PROTOCOL, async ({ stream }) => {
      // Read the request first, so it certainly left the requester.
      await readFrames(stream.source, 1 << 20).next()
      const bytes =
        mode === 'oversized'
          ? concat(varint(MAX_FRAME_BYTES + 1000), new Uint8Array(100))
          : mode === 'bad-status'
            ? encodeResponse(0, 9, new Uint8Array(1))
            : new Uint8Array(0)
      await stream.sink([bytes]).catch(() => undefined)
    })
    for (const m of ['oversized', 'bad-status', 'silent-close'] as const) {
      mode = m
      const err = await node.request(raw.peerId.toString(), validRequest(), { timeoutMs: 5000 }).catch((e: unknown) => e)
      expect(err, m).toBeInstanceOf(TransportError)
      expect(err, m).not.toBeInstanceOf(TransportTimeoutError)
      expect(err, m).not.toBeInstanceOf(PeerUnreachableError)
    }

    // A peer that answers another id than asked: the request times out; a `failed` answer is an error.
    mode = 'silent-close'
    await raw.unhandle(RPC_PROTOCOL)
    // One channel, kept open by the raw peer: the first request is answered with a wrong id, the second as failed.
    let release!: () => void
    const held = new Promise<void>((resolve) => (release = resolve))
    await raw.handle(RPC_PROTOCOL, async ({ stream }) => {
      const frames = readFrames(stream.source, 1 << 20)
      writeAndHold(
        stream,
        (async function* () {
          for (const answer of ['wrong-id', 'failed'] as const) {
            const next = await frames.next()
            if (next.done === true) return
            const id = next.value[0] as number
            yield answer === 'wrong-id' ? encodeResponse(id + 1, STATUS_OK, new Uint8Array(1)) : encodeResponse(id, STATUS_FAILED, new TextEncoder().encode('nope'))
          }
          await held
        })(),
      )
    })
    const timedOut = await node.request(raw.peerId.toString(), validRequest(), { timeoutMs: 300 }).catch((e: unknown) => e)
    expect(timedOut).toBeInstanceOf(TransportTimeoutError)
    const failed = await node.request(raw.peerId.toString(), validRequest(), { timeoutMs: 5000 }).catch((e: unknown) => e)
    release()
    expect(failed).toBeInstanceOf(TransportError)
    expect(String(failed)).toMatch(/nope/)
    expect(node.counters().requestsFailed).toBe(6)
  })
})
