// src/ gets time only from here, so the same engine runs on the wall clock and inside the
// deterministic simulator's virtual clock.

export type TimerHandle = { readonly id: number } | object

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (virtual in the simulator). */
  now(): number
  setTimeout(fn: () => void, ms: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

/** The real clock: Date.now and Node timers. Timers do not keep the process alive. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms)
    t.unref()
    return t
  },
  clearTimeout(handle) {
    clearTimeout(handle as NodeJS.Timeout)
  },
}
