// Request round trips over libp2p on loopback: prints p50/p99 (sequential, and with 16 in
// flight) so regressions show up in the test log. The bounds only catch gross breakage;
// the machine is shared, so they are loose.
import { afterEach, expect, it } from 'vitest'
import type { Libp2pTransport } from '../../node/libp2p/libp2p-transport.js'
import { encodeMessage } from '../../src/wire/codec.js'
import { firstAddr, loopbackTransport, stopAll } from './fixtures/libp2p-harness.js'

const transports: Libp2pTransport[] = []
afterEach(async () => {
  await stopAll(transports.splice(0))
})

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN
}

it('measures request round-trip latency on loopback', async () => {
  const a = await loopbackTransport()
  const b = await loopbackTransport()
  transports.push(a, b)
  const reply = encodeMessage({ type: 'ack' })
  b.setRequestHandler(async () => reply)
  await Promise.all([a.start(), b.start()])
  await a.dial(firstAddr(b))
  const request = encodeMessage({ type: 'read', key: 'some/key' })
  for (let i = 0; i < 100; i++) await a.request(b.peerId, request, { timeoutMs: 5000 }) // warm-up

  const sequential: number[] = []
  for (let i = 0; i < 1000; i++) {
    const t0 = performance.now()
    await a.request(b.peerId, request, { timeoutMs: 5000 })
    sequential.push(performance.now() - t0)
  }
  const concurrent: number[] = []
  const started = performance.now()
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let i = 0; i < 1000 / 16; i++) {
        const t0 = performance.now()
        await a.request(b.peerId, request, { timeoutMs: 5000 })
        concurrent.push(performance.now() - t0)
      }
    }),
  )
  const elapsed = performance.now() - started
  sequential.sort((x, y) => x - y)
  concurrent.sort((x, y) => x - y)
  const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms, max ${percentile(xs, 100).toFixed(2)} ms`
  console.log(`libp2p loopback request round trip, 1000 sequential: ${fmt(sequential)}`)
  console.log(`libp2p loopback request round trip, 16 in flight (${concurrent.length}): ${fmt(concurrent)}; ${Math.round((concurrent.length / elapsed) * 1000)} req/s`)
  expect(percentile(sequential, 50)).toBeLessThan(50)
  expect(percentile(sequential, 99)).toBeLessThan(500)
})
