import { describe, expect, it } from 'vitest'
import { SimClock, SimNetwork, SimScheduler } from '../../src/sim/index.js'

describe('SimClock', () => {
  it('now() is virtual time plus skew, in whole ms; skew may jump backwards', async () => {
    const s = new SimScheduler({ startTime: 1000 })
    const clock = new SimClock(s, { skewMs: 250 })
    expect(clock.now()).toBe(1250)
    s.after(0.75, () => undefined)
    await s.runUntilIdle()
    expect(s.now).toBe(1000.75)
    expect(clock.now()).toBe(1250)
    clock.skewMs = -5000
    expect(clock.now()).toBe(-4000 + 0)
  })

  it('skew changes now() only: timers count virtual time', async () => {
    const s = new SimScheduler({ startTime: 0 })
    const skewed = new SimClock(s, { skewMs: 60_000 })
    const plain = new SimClock(s)
    const fired: [string, number][] = []
    skewed.setTimeout(() => fired.push(['skewed', s.now]), 100)
    plain.setTimeout(() => fired.push(['plain', s.now]), 100)
    skewed.skewMs = -60_000 // stepping the wall clock back must not delay or hurry the timer
    await s.runUntilIdle()
    expect(fired).toEqual([['skewed', 100], ['plain', 100]])
    expect(skewed.now()).toBe(100 - 60_000)
    expect(plain.now()).toBe(100)
  })

  it('clearTimeout cancels; a handle of another clock is ignored', async () => {
    const s = new SimScheduler({ startTime: 0 })
    const a = new SimClock(s)
    const b = new SimClock(s)
    let fired = 0
    const h = a.setTimeout(() => fired++, 10)
    b.clearTimeout(h)
    const h2 = a.setTimeout(() => fired++, 10)
    a.clearTimeout(h2)
    expect(a.pendingTimers).toBe(1)
    await s.runUntilIdle()
    expect(fired).toBe(1)
    expect(a.pendingTimers).toBe(0)
  })

  it('a halted clock cancels its timers and never fires new ones', async () => {
    const s = new SimScheduler({ startTime: 0 })
    const clock = new SimClock(s)
    let fired = 0
    clock.setTimeout(() => fired++, 10)
    clock.schedule(() => fired++)
    clock.halt()
    clock.setTimeout(() => fired++, 1)
    expect(s.pending).toBe(0)
    await s.runFor(1000)
    expect(fired).toBe(0)
  })

  it('network skew per node applies to now() and survives a restart', () => {
    const net = new SimNetwork({ seed: 1 })
    const [a, b] = net.addNodes(2)
    if (a === undefined || b === undefined) throw new Error('unreachable')
    net.setSkew(a.id, 300)
    expect(a.clock.now() - b.clock.now()).toBe(300)
    net.crash(a.id)
    net.restart(a.id)
    expect(a.clock.now() - b.clock.now()).toBe(300)
    net.setSkew(a.id, -700)
    expect(a.clock.now() - b.clock.now()).toBe(-700)
  })
})
