import { describe, expect, it } from 'vitest'
import { SimNetwork, SimScheduler } from '../../src/sim/index.js'

describe('scale', () => {
  it('a 1,000-node broadcast storm of 10 rounds delivers every broadcast it did not lose (its speed is printed; timing claims live in bench/)', async () => {
    const seed = 5150
    const n = 1000
    const rounds = 10
    const sendersPerRound = 100
    console.log(`storm seed ${seed}`)
    const net = new SimNetwork({ seed, link: { latency: { baseMs: 1, jitterMs: 2 }, loss: 0.01, duplicate: 0.01 } })
    const nodes = net.addNodes(n)
    let received = 0
    for (const node of nodes) {
      node.transport.setBroadcastHandler(() => {
        received++
      })
    }
    for (const node of nodes) await node.transport.start()
    await net.scheduler.runUntilIdle()

    const started = performance.now()
    const eventsBefore = net.scheduler.eventsRun
    // Each round, `sendersPerRound` random nodes broadcast at random instants of a 100 ms round.
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < sendersPerRound; i++) {
        const node = nodes[net.random.int(n)]
        net.scheduler.after(r * 100 + net.random.next() * 100, () => node?.transport.broadcast(new Uint8Array(64)))
      }
    }
    await net.scheduler.runUntilIdle()
    const seconds = (performance.now() - started) / 1000
    const events = net.scheduler.eventsRun - eventsBefore
    const c = net.counters()
    console.log(
      `storm: ${n} nodes, ${rounds} rounds x ${sendersPerRound} broadcasts: ${events} events in ${seconds.toFixed(2)} s = ` +
        `${Math.round(events / seconds)} events/s; sent ${c.sent}, delivered ${c.delivered}, lost ${c.lost}, duplicated ${c.duplicated}`,
    )
    expect(c.sent).toBe(rounds * sendersPerRound * (n - 1))
    expect(received).toBe(c.delivered)
    expect(c.delivered).toBe(c.sent - c.lost + c.duplicated)
  })

  it('measures the per-event overhead of the scheduler (empty events, with and without continuations)', async () => {
    const s = new SimScheduler()
    const count = 500_000
    for (let i = 0; i < count; i++) s.after(i, () => undefined)
    let t = performance.now()
    await s.runUntilIdle()
    const bare = count / ((performance.now() - t) / 1000)
    for (let i = 0; i < count; i++) s.after(i, () => void Promise.resolve().then(() => Promise.resolve()))
    t = performance.now()
    await s.runUntilIdle()
    const withAsync = count / ((performance.now() - t) / 1000)
    console.log(`scheduler: ${Math.round(bare)} empty events/s, ${Math.round(withAsync)} events/s with a promise chain each`)
    expect(s.eventsRun).toBe(2 * count)
  })
})
