// One node's view of virtual time. Its wall clock may be skewed (and jump, even backwards);
// its timers count virtual time, which skew does not touch, the way a real machine's
// monotonic timers ignore wall-clock steps. When the node crashes its clock halts: pending
// timers are cancelled and new ones never fire, so none of the dead node's code runs again.
import type { Clock, TimerHandle } from '../base/clock.js'
import type { SimEvent } from './event-queue.js'
import type { SimScheduler } from './scheduler.js'

export interface SimClockOptions {
  /** Added to virtual time by now(), in ms (default 0). */
  readonly skewMs?: number
}

const HALTED: TimerHandle = Object.freeze({ id: -1 })

export class SimClock implements Clock {
  /** Added to virtual time by now(); set it at any time (a negative change steps the clock back). */
  skewMs: number
  private readonly timers = new Set<SimEvent>()
  private stopped = false

  constructor(
    private readonly scheduler: SimScheduler,
    options: SimClockOptions = {},
  ) {
    this.skewMs = options.skewMs ?? 0
  }

  /** Whole ms, like Date.now(): virtual time may carry fractions from latency jitter. */
  now(): number {
    return Math.floor(this.scheduler.now + this.skewMs)
  }

  /** Fires after `ms` of virtual time (negative or NaN count as 0), unaffected by skew. */
  setTimeout(fn: () => void, ms: number): TimerHandle {
    if (this.stopped) return HALTED
    const timers = this.timers
    const ev = this.scheduler.after(ms, () => {
      timers.delete(ev)
      fn()
    })
    timers.add(ev)
    return ev
  }

  clearTimeout(handle: TimerHandle): void {
    const ev = handle as SimEvent
    if (this.timers.delete(ev)) this.scheduler.cancel(ev)
  }

  /** A Store `schedule` for group commit: the commit runs at this instant, after the current event's continuations. */
  readonly schedule = (fn: () => void): void => {
    this.setTimeout(fn, 0)
  }

  /** Timers scheduled and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.timers.size
  }

  get halted(): boolean {
    return this.stopped
  }

  /** The node died: cancels every pending timer; later ones never fire. */
  halt(): void {
    this.stopped = true
    for (const ev of this.timers) this.scheduler.cancel(ev)
    this.timers.clear()
  }
}
