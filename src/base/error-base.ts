// The base of rumordb's named errors: a stable machine-readable `code` (the HTTP API maps
// it to a status) and a message that says what to do. Its own module, without imports, so
// the storage layer can extend it without depending on the CRDT library.

export class RumorDbError extends Error {
  /** Stable machine-readable code, also used by the HTTP API. */
  readonly code: string
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
    this.code = code
  }
}
