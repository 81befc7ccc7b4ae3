// Virtual time for the simulator. Every timer, frame delivery and group commit of every
// simulated node is an event in one queue; the run loop pops them in (time, sequence)
// order, so the same seed and workload give the same run.
//
// Engine code is async, so an event usually resolves promises whose continuations must run
// at that virtual instant, before the next event. The loop runs each event in its own
// setImmediate callback and queues those callbacks in batches: Node drains the whole
// microtask queue (promise jobs and process.nextTick, however deep the chain) between two
// setImmediate callbacks, so every continuation an event causes runs before the next event
// pops. Batching keeps the cost near that of a bare callback (one event-loop turn per
// BATCH events, not per event).
//
// Limits: code under simulation must take time only from the simulated clock. A real
// setTimeout, setImmediate or I/O callback runs outside virtual time, at an order that
// depends on the host: the run stays correct only if such callbacks touch no simulated
// state (pass `node.schedule` to stores instead of their setImmediate default). Event
// callbacks are synchronous; an exception thrown by one ends the run with that error.
import { EventQueue, QueuedEvent, type SimEvent } from './event-queue.js'
import { SimBusyError, SimStalledError } from './errors.js'

export type { SimEvent } from './event-queue.js'

/** Virtual time starts here (Nov 2023) so hybrid logical clocks see realistic wall times. */
export const DEFAULT_START_TIME = 1_700_000_000_000

/** Events per setImmediate batch. */
const BATCH = 1024

export interface SimSchedulerOptions {
  /** Virtual time at creation, ms since the epoch (default DEFAULT_START_TIME). */
  readonly startTime?: number
}

export interface RunOptions {
  /** Stop after advancing this many virtual ms. */
  readonly maxTime?: number
  /** Stop after running this many events. */
  readonly maxEvents?: number
}

/**
 * Why a run returned: `predicate` (it held), `time` (the target time of runUntil(time) or
 * runFor was reached), `idle` (no events left), `maxTime` / `maxEvents` (a limit).
 */
export type StopReason = 'predicate' | 'time' | 'idle' | 'maxTime' | 'maxEvents'

export interface RunResult {
  readonly reason: StopReason
  /** Events run by this call. */
  readonly events: number
  /** Virtual time when it returned. */
  readonly now: number
}

interface ActiveRun {
  readonly predicate: (() => boolean) | undefined
  /** Absolute virtual time not to pass. */
  readonly deadline: number
  /** The deadline is the goal (runUntil(time), runFor) rather than a limit. */
  readonly deadlineIsTarget: boolean
  readonly maxEvents: number
  events: number
  queued: number
  readonly resolve: (r: RunResult) => void
  readonly reject: (err: unknown) => void
}

export class SimScheduler {
  private current: number
  private readonly queue = new EventQueue()
  private seq = 0
  private live = 0
  private total = 0
  private active: ActiveRun | undefined

  constructor(options: SimSchedulerOptions = {}) {
    this.current = options.startTime ?? DEFAULT_START_TIME
  }

  /** Virtual ms since the epoch. */
  get now(): number {
    return this.current
  }

  /** Events scheduled and neither run nor cancelled. */
  get pending(): number {
    return this.live
  }

  /** Events run since creation. */
  get eventsRun(): number {
    return this.total
  }

  get running(): boolean {
    return this.active !== undefined
  }

  /** Runs `fn` at virtual time `atMs` (>= now), after every event already scheduled for that time. */
  schedule(atMs: number, fn: () => void): SimEvent {
    if (!(atMs >= this.current)) {
      throw new RangeError(`cannot schedule at ${atMs}: it is before the current virtual time ${this.current}`)
    }
    const ev = new QueuedEvent(atMs, ++this.seq, fn)
    this.queue.push(ev)
    this.live++
    return ev
  }

  /** Runs `fn` after `delayMs` virtual ms (negative or NaN count as 0). */
  after(delayMs: number, fn: () => void): SimEvent {
    return this.schedule(delayMs > 0 ? this.current + delayMs : this.current, fn)
  }

  /** A Store `schedule` (group commit): runs `fn` at the current instant, after this event's continuations. */
  readonly defer = (fn: () => void): void => {
    this.schedule(this.current, fn)
  }

  /** True if it was pending; false if it already ran, was cancelled, or is not from here. */
  cancel(event: SimEvent): boolean {
    if (!(event instanceof QueuedEvent) || event.fn === null) return false
    event.fn = null
    this.live--
    this.queue.markDead()
    return true
  }

  isPending(event: SimEvent): boolean {
    return event instanceof QueuedEvent && event.fn !== null
  }

  /** Time of the next pending event, if any. */
  nextEventTime(): number | undefined {
    return this.queue.peek()?.time
  }

  /**
   * Runs events until `target`: a virtual time (events at exactly that time run; the clock
   * then reads `target`) or a predicate, checked before every event once the previous
   * event's continuations ran (so a promise settled by the last event counts).
   */
  runUntil(target: number | (() => boolean), options: RunOptions = {}): Promise<RunResult> {
    const limit = this.limitDeadline(options)
    if (typeof target === 'number') {
      const goal = Math.max(target, this.current)
      return this.start(undefined, Math.min(goal, limit), goal <= limit, options)
    }
    return this.start(target, limit, false, options)
  }

  /** Runs every event of the next `ms` virtual ms; the clock then reads now + ms. */
  runFor(ms: number, options: RunOptions = {}): Promise<RunResult> {
    return this.runUntil(this.current + Math.max(0, ms), options)
  }

  /** Runs until no event is left (or a limit; periodic timers never go idle, so set `maxTime`). */
  runUntilIdle(options: RunOptions = {}): Promise<RunResult> {
    return this.start(undefined, this.limitDeadline(options), false, options)
  }

  /**
   * Runs the simulation until `promise` settles and returns its outcome. Throws
   * SimStalledError if the run stops first (idle: nothing left could settle it, or a limit).
   */
  async runUntilSettled<T>(promise: Promise<T>, options: RunOptions = {}): Promise<T> {
    let settled = false
    const watched = promise.then(
      (value) => {
        settled = true
        return value
      },
      (err: unknown) => {
        settled = true
        throw err
      },
    )
    // The run may stop first; this keeps a later rejection from going unhandled.
    watched.catch(() => undefined)
    const result = await this.runUntil(() => settled, options)
    if (!settled) throw new SimStalledError(result.reason, result.now)
    return watched
  }

  private limitDeadline(options: RunOptions): number {
    const maxTime = options.maxTime ?? Infinity
    return this.current + Math.max(0, maxTime)
  }

  private start(
    predicate: (() => boolean) | undefined,
    deadline: number,
    deadlineIsTarget: boolean,
    options: RunOptions,
  ): Promise<RunResult> {
    if (this.active !== undefined) return Promise.reject(new SimBusyError())
    return new Promise<RunResult>((resolve, reject) => {
      const run: ActiveRun = {
        predicate,
        deadline,
        deadlineIsTarget,
        maxEvents: options.maxEvents ?? Infinity,
        events: 0,
        queued: 0,
        resolve,
        reject,
      }
      this.active = run
      const step = (): void => {
        // Leftover callbacks of a finished run do nothing.
        if (this.active !== run) return
        let reason: StopReason | undefined
        try {
          reason = this.step(run)
        } catch (err) {
          this.active = undefined
          reject(err)
          return
        }
        if (reason !== undefined) {
          this.active = undefined
          resolve({ reason, events: run.events, now: this.current })
          return
        }
        if (--run.queued === 0) refill()
      }
      const refill = (): void => {
        run.queued = BATCH
        for (let i = 0; i < BATCH; i++) setImmediate(step)
      }
      refill()
    })
  }

  /** Runs one event, or says why the run stops. */
  private step(run: ActiveRun): StopReason | undefined {
    if (run.predicate !== undefined && run.predicate()) return 'predicate'
    const ev = this.queue.peek()
    if (ev === undefined || ev.time > run.deadline) {
      if (run.deadlineIsTarget) {
        this.current = run.deadline
        return 'time'
      }
      if (ev === undefined) return 'idle'
      this.current = run.deadline
      return 'maxTime'
    }
    if (run.events >= run.maxEvents) return 'maxEvents'
    this.queue.pop()
    const fn = ev.fn as () => void
    ev.fn = null
    this.live--
    this.current = ev.time
    run.events++
    this.total++
    fn()
    return undefined
  }
}
