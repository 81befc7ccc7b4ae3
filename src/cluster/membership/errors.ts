// Named errors for the cluster building blocks. Each message says what to do about it.

/**
 * Thrown by the member table decoder, and only by it, on any input that is not a
 * well-formed canonical encoding. The decoder never returns half a table.
 */
export class MemberTableDecodeError extends Error {
  override readonly name = 'MemberTableDecodeError'
  constructor(reason: string) {
    super(`cannot decode member table: ${reason}; the bytes are corrupt or come from an incompatible rumordb version`)
  }
}

/** A member record handed to a member-table mutator breaks the record's invariants. */
export class InvalidMemberRecordError extends Error {
  override readonly name = 'InvalidMemberRecordError'
  constructor(reason: string) {
    super(`invalid member record: ${reason}`)
  }
}
