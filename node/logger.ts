// One structured logger per process (pino, JSON lines on stdout); components take a child
// logger named after themselves, as js-libp2p does with forComponent().
//
// Logging must never decide whether the process can stop. pino's default destination
// (sonic-boom) writes fd 1 itself and, on exit, flushes it synchronously, retrying EPIPE
// forever once the reader of the pipe has gone (a dead parent), and a full pipe blocks it:
// the node never exits. So lines go through process.stdout (asynchronous on a pipe) and
// are dropped once the reader is gone or has stopped reading.
import { pino, type Logger, type LevelWithSilent } from 'pino'

export type { Logger }

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** Lines waiting for a slow reader are dropped past this much. */
export const MAX_PENDING_LOG_BYTES = 1024 * 1024

/** The part of a writable stream that LogOutput uses (process.stdout, or a test's stream). */
export interface LogStream {
  write(chunk: string): boolean
  readonly writableLength: number
  readonly destroyed: boolean
  on(event: 'error', listener: (err: Error) => void): unknown
  once(event: 'drain', listener: () => void): unknown
  off(event: 'drain', listener: () => void): unknown
}

/**
 * Where log lines go: a stream written without ever waiting for it. After a write error
 * (EPIPE: nobody reads any more) every later line is dropped, and so is every line while
 * more than `maxPendingBytes` wait for a reader that stopped reading.
 */
export class LogOutput {
  /** Lines not written: the stream broke or its reader fell behind. */
  dropped = 0
  private broken = false

  constructor(
    private readonly stream: LogStream = process.stdout,
    private readonly maxPendingBytes = MAX_PENDING_LOG_BYTES,
  ) {
    stream.on('error', () => {
      this.broken = true
    })
  }

  write(line: string): void {
    if (this.broken || this.stream.destroyed || this.stream.writableLength > this.maxPendingBytes) {
      this.dropped++
      return
    }
    try {
      this.stream.write(line)
    } catch {
      // A file on a full disk throws from write(): stop logging, keep running.
      this.broken = true
      this.dropped++
    }
  }

  /** Resolves once the pending lines are written, or after `timeoutMs`, whichever is first. */
  flush(timeoutMs: number): Promise<void> {
    if (this.broken || this.stream.destroyed || this.stream.writableLength === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        this.stream.off('drain', done)
        resolve()
      }
      const timer = setTimeout(done, timeoutMs)
      this.stream.once('drain', done)
    })
  }
}

/** Throws for a level pino does not know, naming --log-level. */
export function checkLogLevel(level: string): void {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(level)}`)
  }
}

export function createLogger(level: string = 'info', output: LogOutput = new LogOutput()): Logger {
  checkLogLevel(level)
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, output)
}

export function forComponent(logger: Logger, component: string): Logger {
  return logger.child({ component: `rumordb:${component}` })
}
