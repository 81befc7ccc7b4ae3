// The engine's logger: the slice of pino that src/ uses, so node/ passes a pino child
// logger as it is and tests and the simulator pass nothing (silent). One logger per
// component (`logger.child('anti-entropy')` → `rumordb:anti-entropy`), as js-libp2p does.
export interface Logger {
  debug(fields: Record<string, unknown>, message: string): void
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
  /** A logger whose lines name `component` (e.g. 'anti-entropy' → `rumordb:anti-entropy`). */
  forComponent(component: string): Logger
}

/** Whatever pino-like object node/ hands in: `child(bindings)` and the four levels. */
export interface PinoLike {
  debug(obj: object, msg: string): void
  info(obj: object, msg: string): void
  warn(obj: object, msg: string): void
  error(obj: object, msg: string): void
  child(bindings: Record<string, unknown>): PinoLike
}

const noop = (): void => undefined

export const silentLogger: Logger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  forComponent: () => silentLogger,
}

/** Adapts a pino logger (or a child of one). */
export function fromPino(pino: PinoLike): Logger {
  return {
    debug: (fields, message) => pino.debug(fields, message),
    info: (fields, message) => pino.info(fields, message),
    warn: (fields, message) => pino.warn(fields, message),
    error: (fields, message) => pino.error(fields, message),
    forComponent: (component) => fromPino(pino.child({ component: `rumordb:${component}` })),
  }
}

/** A logger that keeps every line in memory: for tests that assert what an operator is told. */
export interface RecordedLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error'
  readonly component: string
  readonly fields: Record<string, unknown>
  readonly message: string
}

export function recordingLogger(lines: RecordedLine[] = [], component = 'rumordb'): Logger & { readonly lines: RecordedLine[] } {
  const at =
    (level: RecordedLine['level']) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push({ level, component, fields, message })
    }
  return {
    lines,
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    forComponent: (name) => recordingLogger(lines, `rumordb:${name}`),
  }
}
