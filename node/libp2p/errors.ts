// Named errors of the libp2p layer. Transport failures use the classes of
// src/transport/transport.ts so the engine handles them the same way as in simulation.

export class Libp2pSetupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}

/** The swarm key file is not a libp2p pre-shared key (`/key/swarm/psk/1.0.0/`, `/base16/`, 64 hex digits). */
export class SwarmKeyError extends Libp2pSetupError {}

/** The persisted peer key cannot be read or written. */
export class PeerKeyError extends Libp2pSetupError {}

/** A transport option is invalid (cluster name, multiaddr, …). */
export class TransportConfigError extends Libp2pSetupError {}

/** A request or response stream broke the framing rules (oversized, truncated, trailing bytes). */
export class FrameError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'FrameError'
  }
}
