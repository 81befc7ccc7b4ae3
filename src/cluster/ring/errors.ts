// Named errors of ring placement. Each message says what to do about it.

/** `buildRing` was given a membership it cannot place (duplicate ids, bad vnodes). */
export class InvalidRingError extends Error {
  override readonly name = 'InvalidRingError'
  constructor(reason: string) {
    super(`cannot build ring: ${reason}`)
  }
}
