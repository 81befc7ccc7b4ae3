// One structured logger per process (pino, JSON lines on stdout); components take a child
// logger named after themselves, as js-libp2p does with forComponent().
import { pino, type Logger, type LevelWithSilent } from 'pino'

export type { Logger }

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

export function createLogger(level: string = 'info'): Logger {
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new Error(`--log-level must be one of ${LOG_LEVELS.join(', ')}; got ${JSON.stringify(level)}`)
  }
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime })
}

export function forComponent(logger: Logger, component: string): Logger {
  return logger.child({ component: `rumordb:${component}` })
}
