// ReturnSync alone, on the simulator's clock: when the exchange and the handoff start after
// a return, and how often a peer that keeps coming back gets them.
import { describe, expect, it } from 'vitest'
import { SimClock } from '../../src/sim/sim-clock.js'
import { SimScheduler } from '../../src/sim/scheduler.js'
import { RETURN_SYNC_SPACING_MS, ReturnSync } from '../../src/cluster/sync/return-sync.js'

interface Harness {
  readonly scheduler: SimScheduler
  readonly sync: ReturnSync
  /** Start time (ms from the harness's creation) of every exchange, per peer. */
  readonly exchanges: Map<string, number[]>
  readonly handOffs: string[]
  live: boolean
  /** How long each exchange takes. */
  exchangeMs: number
}

function harness(): Harness {
  const scheduler = new SimScheduler()
  const clock = new SimClock(scheduler)
  const t0 = clock.now()
  const h: Harness = {
    scheduler,
    exchanges: new Map(),
    handOffs: [],
    live: true,
    exchangeMs: 10,
    sync: new ReturnSync({
      clock,
      isLive: () => h.live,
      exchange: (peer) => {
        h.exchanges.set(peer, [...(h.exchanges.get(peer) ?? []), clock.now() - t0])
        return new Promise<void>((resolve) => clock.setTimeout(resolve, h.exchangeMs))
      },
      handOff: (peer) => {
        h.handOffs.push(peer)
        return Promise.resolve()
      },
    }),
  }
  h.sync.start()
  return h
}

describe('ReturnSync', () => {
  it('starts an exchange and a handoff on the next turn, not in the caller', async () => {
    const h = harness()
    h.sync.peerReturned('b')
    expect(h.exchanges.size).toBe(0)
    await h.scheduler.runFor(0)
    expect(h.exchanges.get('b')).toEqual([0])
    expect(h.handOffs).toEqual(['b'])
  })

  it('returns within the spacing join one exchange at its end', async () => {
    const h = harness()
    for (let i = 0; i < 5; i++) h.sync.peerReturned('b')
    await h.scheduler.runFor(100)
    for (let i = 0; i < 5; i++) h.sync.peerReturned('b')
    h.sync.peerReturned('c')
    await h.scheduler.runFor(5 * RETURN_SYNC_SPACING_MS)
    expect(h.exchanges.get('b')).toEqual([0, RETURN_SYNC_SPACING_MS])
    expect(h.exchanges.get('c')).toEqual([100])
  })

  it('a peer returning every 50 ms gets one exchange per spacing', async () => {
    const h = harness()
    const flapMs = 10_000
    for (let t = 0; t < flapMs; t += 50) {
      h.sync.peerReturned('b')
      await h.scheduler.runFor(50)
    }
    const starts = h.exchanges.get('b')!
    expect(starts.length).toBeLessThanOrEqual(1 + flapMs / RETURN_SYNC_SPACING_MS)
    for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!).toBeGreaterThanOrEqual(RETURN_SYNC_SPACING_MS)
  })

  it('never two exchanges with one peer at once, however slow one is', async () => {
    const h = harness()
    h.exchangeMs = 3.5 * RETURN_SYNC_SPACING_MS
    h.sync.peerReturned('b')
    await h.scheduler.runFor(RETURN_SYNC_SPACING_MS)
    h.sync.peerReturned('b')
    await h.scheduler.runFor(10 * RETURN_SYNC_SPACING_MS)
    // The second waits for the first to end (at 3.5 spacings), then starts at the next spacing.
    expect(h.exchanges.get('b')).toEqual([0, 4 * RETURN_SYNC_SPACING_MS])
  })

  it('a deferred return whose peer is gone again starts nothing', async () => {
    const h = harness()
    h.sync.peerReturned('b')
    await h.scheduler.runFor(100)
    h.sync.peerReturned('b')
    h.live = false
    await h.scheduler.runFor(5 * RETURN_SYNC_SPACING_MS)
    expect(h.exchanges.get('b')).toEqual([0])
  })

  it('stop() clears what was deferred and waits for what runs; returns after it start nothing', async () => {
    const h = harness()
    h.exchangeMs = 500
    h.sync.peerReturned('b')
    await h.scheduler.runFor(100)
    h.sync.peerReturned('b')
    let stopped = false
    void h.sync.stop().then(() => (stopped = true))
    await h.scheduler.runFor(400)
    expect(stopped).toBe(true)
    h.sync.peerReturned('c')
    await h.scheduler.runFor(5 * RETURN_SYNC_SPACING_MS)
    expect([...h.exchanges.keys()]).toEqual(['b'])
    expect(h.exchanges.get('b')).toEqual([0])
  })
})
