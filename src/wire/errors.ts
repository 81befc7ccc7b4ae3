// The wire codec's two error classes. Decoding throws only WireDecodeError, whatever the
// bytes, so a handler of peer input needs exactly one catch; encoding throws only
// WireEncodeError, for a message that a peer would refuse.

/** The bytes are not a frame this node accepts. Drop the frame (and count it); never retry it. */
export class WireDecodeError extends Error {
  override readonly name = 'WireDecodeError'
  constructor(message: string, options?: { cause?: unknown }) {
    super(`${message} (the frame is corrupt, truncated, oversized or from an incompatible rumordb version; drop it)`, options)
  }
}

/** The message breaks a wire limit or is malformed: a bug in the sender, or a batch to split. */
export class WireEncodeError extends Error {
  override readonly name = 'WireEncodeError'
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
  }
}
