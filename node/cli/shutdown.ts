// How `rumordb start` stops: on SIGINT or SIGTERM, or when standard input closes under
// --stop-with-stdin (the parent died, even by SIGKILL). Stopping never waits on logging,
// and never for ever: a second signal, or the deadline, exits at once.
import type { Logger } from 'pino'

/** A clean stop that takes longer than this exits anyway (code 1). */
export const STOP_DEADLINE_MS = 15_000
/** How long the last log lines may take to reach a slow reader before the process exits. */
const FLUSH_ON_EXIT_MS = 1_000

export interface ShutdownInit {
  readonly logger: Logger
  /** Waits (at most the given time) for pending log lines. */
  readonly flushLog: (timeoutMs: number) => Promise<void>
  /** Stop when standard input closes. */
  readonly stopWithStdin: boolean
  /** Ends the process; tests replace it. */
  readonly exit?: (code: number) => void
  readonly deadlineMs?: number
}

/** How the node stops: `leave` leaves the cluster for good first (`rumordb leave`). */
export interface StopOptions {
  readonly leave: boolean
}

export class Shutdown {
  private stopping = false
  private leave = false
  private stopNode: ((options: StopOptions) => Promise<void>) | undefined
  private deadline: NodeJS.Timeout | undefined
  private readonly exit: (code: number) => void
  private readonly onSignal = (signal: NodeJS.Signals): void => this.begin(signal)
  private readonly onStdinGone = (): void => this.begin('stdin closed')

  constructor(private readonly init: ShutdownInit) {
    this.exit = init.exit ?? ((code) => process.exit(code))
  }

  /** Listens for the signals (and standard input) from now on, the node's start included. */
  listen(): void {
    process.on('SIGINT', this.onSignal)
    process.on('SIGTERM', this.onSignal)
    if (this.init.stopWithStdin) {
      // The parent holds the other end of the pipe: it closes when the parent exits, even by SIGKILL.
      process.stdin.on('end', this.onStdinGone)
      process.stdin.on('close', this.onStdinGone)
      process.stdin.on('error', this.onStdinGone)
      process.stdin.resume()
    }
  }

  /** The node is running: this is how to stop it. A signal that came during the start stops it now. */
  running(stopNode: (options: StopOptions) => Promise<void>): void {
    this.stopNode = stopNode
    if (this.stopping) void this.finish()
  }

  /** The start failed: stop listening, so that nothing keeps the process alive. */
  dispose(): void {
    process.off('SIGINT', this.onSignal)
    process.off('SIGTERM', this.onSignal)
    if (this.init.stopWithStdin) {
      process.stdin.off('end', this.onStdinGone)
      process.stdin.off('close', this.onStdinGone)
      process.stdin.off('error', this.onStdinGone)
      process.stdin.pause()
    }
    clearTimeout(this.deadline)
  }

  /** Stops the node as a signal does; `leave` leaves the cluster first (POST /v1/leave). */
  stop(reason: string, options: Partial<StopOptions> = {}): void {
    this.begin(reason, options.leave === true)
  }

  private begin(reason: string, leave = false): void {
    if (this.stopping) {
      // Only a second signal means "now"; stdin closing or a leave request during a stop do not.
      if (reason !== 'SIGINT' && reason !== 'SIGTERM') return
      this.log('warn', { signal: reason }, 'second signal: exiting without waiting')
      this.exit(1)
      return
    }
    this.stopping = true
    this.leave = leave
    this.deadline = setTimeout(() => {
      this.log('error', { deadlineMs: this.init.deadlineMs ?? STOP_DEADLINE_MS }, 'stop took too long: exiting without waiting')
      this.exit(1)
    }, this.init.deadlineMs ?? STOP_DEADLINE_MS)
    this.log('info', { signal: reason }, 'stopping: finishing in-flight writes')
    // Before running() the node is still starting: it stops as soon as it runs.
    if (this.stopNode !== undefined) void this.finish()
  }

  private async finish(): Promise<void> {
    let code = 0
    try {
      await this.stopNode?.({ leave: this.leave })
      this.log('info', { left: this.leave }, 'stopped')
    } catch (err) {
      this.log('error', { err }, 'stop failed')
      code = 1
    }
    await this.init.flushLog(FLUSH_ON_EXIT_MS).catch(() => undefined)
    clearTimeout(this.deadline)
    this.exit(code)
  }

  /** Logging is best effort here: a broken logger must not keep the process from stopping. */
  private log(level: 'info' | 'warn' | 'error', fields: object, message: string): void {
    try {
      this.init.logger[level](fields, message)
    } catch {
      // nothing to do: stopping matters more than saying so
    }
  }
}
