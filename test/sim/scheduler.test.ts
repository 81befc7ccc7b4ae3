import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DEFAULT_START_TIME, SimBusyError, SimScheduler, SimStalledError, type SimEvent } from '../../src/sim/index.js'

const T0 = DEFAULT_START_TIME

describe('SimScheduler', () => {
  it('starts at a realistic epoch and runs events in (time, insertion) order', async () => {
    const s = new SimScheduler()
    expect(s.now).toBe(T0)
    const order: string[] = []
    s.schedule(T0 + 10, () => order.push('c'))
    s.schedule(T0 + 5, () => order.push('a'))
    s.schedule(T0 + 10, () => order.push('d'))
    s.schedule(T0 + 5, () => order.push('b'))
    s.after(0, () => order.push('first'))
    const r = await s.runUntilIdle()
    expect(order).toEqual(['first', 'a', 'b', 'c', 'd'])
    expect(r).toEqual({ reason: 'idle', events: 5, now: T0 + 10 })
  })

  it('events see their own time, and ones scheduled for the current instant run after those already queued', async () => {
    const s = new SimScheduler({ startTime: 0 })
    const seen: [string, number][] = []
    s.schedule(1, () => {
      seen.push(['x', s.now])
      s.after(0, () => seen.push(['x-later', s.now]))
    })
    s.schedule(1, () => seen.push(['y', s.now]))
    await s.runUntilIdle()
    expect(seen).toEqual([['x', 1], ['y', 1], ['x-later', 1]])
  })

  it('cancel removes a pending event and reports whether it was pending', async () => {
    const s = new SimScheduler({ startTime: 0 })
    const ran: number[] = []
    const a = s.schedule(1, () => ran.push(1))
    const b = s.schedule(2, () => ran.push(2))
    expect(s.pending).toBe(2)
    expect(s.cancel(a)).toBe(true)
    expect(s.cancel(a)).toBe(false)
    expect(s.pending).toBe(1)
    await s.runUntilIdle()
    expect(ran).toEqual([2])
    expect(s.cancel(b)).toBe(false)
    expect(s.cancel({ id: 99, time: 3 })).toBe(false)
  })

  it('refuses to schedule in the past', () => {
    const s = new SimScheduler({ startTime: 100 })
    expect(() => s.schedule(99, () => undefined)).toThrow(RangeError)
    expect(() => s.schedule(Number.NaN, () => undefined)).toThrow(RangeError)
  })

  it('runFor and runUntil(time) run events up to the target inclusive and leave the clock there', async () => {
    const s = new SimScheduler({ startTime: 0 })
    const ran: number[] = []
    for (const t of [5, 10, 15]) s.schedule(t, () => ran.push(t))
    expect(await s.runFor(10)).toEqual({ reason: 'time', events: 2, now: 10 })
    expect(ran).toEqual([5, 10])
    expect(await s.runUntil(12)).toEqual({ reason: 'time', events: 0, now: 12 })
    expect(await s.runUntil(3)).toEqual({ reason: 'time', events: 0, now: 12 })
    expect(await s.runFor(100)).toEqual({ reason: 'time', events: 1, now: 112 })
  })

  it('runUntil(predicate) stops as soon as it holds, checked after continuations ran', async () => {
    const s = new SimScheduler({ startTime: 0 })
    let resolved = false
    const deferred = Promise.withResolvers<void>()
    void deferred.promise.then(() => {
      resolved = true
    })
    s.schedule(1, () => deferred.resolve())
    s.schedule(2, () => {
      throw new Error('must not run')
    })
    const r = await s.runUntil(() => resolved)
    expect(r).toEqual({ reason: 'predicate', events: 1, now: 1 })
  })

  it('limits: maxEvents, maxTime, and idle', async () => {
    const s = new SimScheduler({ startTime: 0 })
    const tick = () => void s.after(10, tick)
    tick()
    expect(await s.runUntilIdle({ maxEvents: 3 })).toEqual({ reason: 'maxEvents', events: 3, now: 30 })
    expect(await s.runUntilIdle({ maxTime: 25 })).toEqual({ reason: 'maxTime', events: 2, now: 55 })
    expect(await s.runUntil(() => false, { maxTime: 5 })).toMatchObject({ reason: 'maxTime', now: 60 })
    const idle = new SimScheduler({ startTime: 0 })
    expect(await idle.runUntil(() => false)).toEqual({ reason: 'idle', events: 0, now: 0 })
  })

  it('drains every continuation an event causes before the next event, however deep', async () => {
    const s = new SimScheduler({ startTime: 0 })
    const log: string[] = []
    s.schedule(1, () => {
      void (async () => {
        for (let i = 0; i < 1000; i++) await null
        log.push('deep await chain')
        process.nextTick(() => {
          log.push('nextTick')
          queueMicrotask(() => {
            void Promise.resolve().then(() => log.push('microtask after nextTick'))
          })
        })
      })()
    })
    s.schedule(1, () => log.push('second event'))
    await s.runUntilIdle()
    expect(log).toEqual(['deep await chain', 'nextTick', 'microtask after nextTick', 'second event'])
  })

  it('runs more events than one batch, and later runs ignore leftovers of earlier ones', async () => {
    const s = new SimScheduler({ startTime: 0 })
    let n = 0
    for (let i = 0; i < 5000; i++) s.schedule(i, () => n++)
    await s.runUntil(() => n === 1500)
    expect(n).toBe(1500)
    expect(s.now).toBe(1499)
    await s.runUntilIdle()
    expect(n).toBe(5000)
    expect(s.eventsRun).toBe(5000)
  })

  it('an event that throws ends the run with its error; the scheduler stays usable', async () => {
    const s = new SimScheduler({ startTime: 0 })
    s.schedule(1, () => {
      throw new Error('boom')
    })
    let later = false
    s.schedule(2, () => {
      later = true
    })
    await expect(s.runUntilIdle()).rejects.toThrow('boom')
    expect(later).toBe(false)
    await s.runUntilIdle()
    expect(later).toBe(true)
  })

  it('refuses a second run while one is active', async () => {
    const s = new SimScheduler({ startTime: 0 })
    s.schedule(1, () => undefined)
    const first = s.runUntilIdle()
    await expect(s.runUntilIdle()).rejects.toBeInstanceOf(SimBusyError)
    await first
  })

  it('runUntilSettled returns the outcome, or throws SimStalledError when nothing can settle it', async () => {
    const s = new SimScheduler({ startTime: 0 })
    const later = new Promise<string>((resolve) => s.after(50, () => resolve('done')))
    expect(await s.runUntilSettled(later)).toBe('done')
    expect(s.now).toBe(50)
    const fails = new Promise<string>((_, reject) => s.after(5, () => reject(new Error('nope'))))
    await expect(s.runUntilSettled(fails)).rejects.toThrow('nope')
    const never = new Promise<void>(() => undefined)
    await expect(s.runUntilSettled(never)).rejects.toBeInstanceOf(SimStalledError)
  })

  it('compacts cancelled events without losing or reordering live ones', async () => {
    const s = new SimScheduler({ startTime: 0 })
    const ran: number[] = []
    const events: SimEvent[] = []
    for (let i = 0; i < 20_000; i++) events.push(s.schedule(i % 97, () => ran.push(i)))
    events.forEach((e, i) => {
      if (i % 10 !== 0) s.cancel(e)
    })
    expect(s.pending).toBe(2000)
    await s.runUntilIdle()
    const expected = [...Array(2000).keys()].map((k) => k * 10).sort((a, b) => (a % 97) - (b % 97) || a - b)
    expect(ran).toEqual(expected)
  })

  it('property: runs exactly the uncancelled events, sorted by (time, insertion)', async () => {
    const seed = Number(process.env.SIM_SEED ?? Date.now() % 2 ** 31)
    console.log(`scheduler property seed ${seed} (rerun with SIM_SEED=${seed})`)
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ at: fc.integer({ min: 0, max: 50 }), cancel: fc.boolean() }), { maxLength: 300 }),
        async (ops) => {
          const s = new SimScheduler({ startTime: 0 })
          const ran: number[] = []
          const handles = ops.map((op, i) => s.schedule(op.at, () => ran.push(i)))
          ops.forEach((op, i) => op.cancel && s.cancel(handles[i] as SimEvent))
          await s.runUntilIdle()
          const expected = ops
            .map((op, i) => ({ ...op, i }))
            .filter((op) => !op.cancel)
            .sort((a, b) => a.at - b.at || a.i - b.i)
            .map((op) => op.i)
          expect(ran).toEqual(expected)
        },
      ),
      { seed, numRuns: 200 },
    )
  })
})
