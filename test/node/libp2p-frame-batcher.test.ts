// Frames sent in one event-loop turn leave as one buffer (one muxer frame, one socket
// write); large frames are not copied; end() sends what is queued first.
import { pushable } from 'it-pushable'
import { describe, expect, it } from 'vitest'
import { FrameBatcher } from '../../node/libp2p/frame-batcher.js'

async function drain(out: AsyncIterable<Uint8Array>): Promise<number[][]> {
  const chunks: number[][] = []
  for await (const chunk of out) chunks.push([...chunk.subarray(0, 4)].concat(chunk.length))
  return chunks
}

describe('FrameBatcher', () => {
  it('coalesces the frames of one turn and sends later ones separately', async () => {
    const out = pushable<Uint8Array>()
    const batcher = new FrameBatcher(out)
    batcher.push(new Uint8Array([1]))
    batcher.push(new Uint8Array([2, 2]))
    batcher.push(new Uint8Array([3]))
    await new Promise((resolve) => setImmediate(resolve))
    batcher.push(new Uint8Array([4]))
    batcher.end()
    batcher.push(new Uint8Array([5])) // after end: dropped
    // [first bytes..., length] per chunk written to the stream
    expect(await drain(out)).toEqual([
      [1, 2, 2, 3, 4],
      [4, 1],
    ])
  })

  it('passes a large frame on alone, after what was queued before it', async () => {
    const out = pushable<Uint8Array>()
    const batcher = new FrameBatcher(out)
    batcher.push(new Uint8Array([9]))
    batcher.push(new Uint8Array(100_000).fill(7))
    batcher.end()
    expect(await drain(out)).toEqual([
      [9, 1],
      [7, 7, 7, 7, 100_000],
    ])
  })
})
