// The slice of a pino logger the transport uses, so a pino child logger can be passed
// as is and tests can pass nothing.
export interface TransportLogger {
  debug(fields: object, message: string): void
  info(fields: object, message: string): void
  warn(fields: object, message: string): void
}

const noop = (): void => undefined

export const silentLogger: TransportLogger = { debug: noop, info: noop, warn: noop }
