// Named error classes of the CRDT library. Decoders throw only CrdtDecodeError, so callers
// that read bytes from disk or the network need exactly one catch.

/** The bytes are not a well-formed, canonical encoding of what the caller asked for. */
export class CrdtDecodeError extends Error {
  override readonly name = 'CrdtDecodeError'
  constructor(message: string, options?: { cause?: unknown }) {
    super(`${message} (the bytes are corrupt, truncated or of another type; discard them and fetch the state again)`, options)
  }
}

/** A value that cannot be stored as a JSON element or register value. */
export class InvalidValueError extends TypeError {
  override readonly name = 'InvalidValueError'
}

/** A JSON value whose canonical encoding is larger than MAX_JSON_BYTES. */
export class ValueTooLargeError extends RangeError {
  override readonly name = 'ValueTooLargeError'
}

/**
 * A remote timestamp too far ahead of the local wall clock. The clock refuses it so that one
 * peer with a wrong clock cannot pin every register into the future.
 */
export class ClockDriftError extends Error {
  override readonly name = 'ClockDriftError'
  constructor(
    readonly remoteWallMs: number,
    readonly localWallMs: number,
    readonly maxOffsetMs: number,
  ) {
    super(
      `remote timestamp ${remoteWallMs} ms is ${remoteWallMs - localWallMs} ms ahead of the local wall clock ` +
        `(limit ${maxOffsetMs} ms); fix the clock of the sending node (NTP) or raise maxOffsetMs`,
    )
  }
}
