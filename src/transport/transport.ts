// The engine talks to peers only through this interface: request/response to one peer
// and best-effort broadcast to all. It carries bytes (frames of src/wire), so the codec is
// exercised the same way over libp2p streams and inside the deterministic simulator.

export interface RequestOptions {
  /** Give up after this long: the promise rejects with TransportTimeoutError. */
  readonly timeoutMs: number
  readonly signal?: AbortSignal
}

/**
 * Answers one request frame from `from` with one response frame. A handler that throws
 * answers nothing: the requester's `request` rejects with a TransportError (the request may
 * have been handled), never with a response.
 */
export type RequestHandler = (from: string, frame: Uint8Array) => Promise<Uint8Array>
export type BroadcastHandler = (from: string, frame: Uint8Array) => void
export type PeerListener = (peerId: string) => void

export interface Transport {
  /** This node's peer id (the libp2p peer id in production). */
  readonly localPeerId: string
  /**
   * Sends a request frame and resolves with the peer's response frame. Rejects with
   * PeerUnreachableError only when the request certainly never reached the peer (no
   * route, connection refused), TransportTimeoutError after `timeoutMs`,
   * ConnectionResetError (or another TransportError) when the connection broke after the
   * request may have left, or the signal's reason when aborted. Never resolves twice.
   */
  request(peer: string, frame: Uint8Array, options: RequestOptions): Promise<Uint8Array>
  /** Best effort to every peer in the cluster (gossipsub in production): may be lost, duplicated, reordered. */
  broadcast(frame: Uint8Array): void
  /** One handler each; set before start(). */
  setRequestHandler(handler: RequestHandler): void
  setBroadcastHandler(handler: BroadcastHandler): void
  /** A peer became reachable (discovered, connected) or stopped being reachable. */
  onPeerSeen(listener: PeerListener): void
  onPeerLost(listener: PeerListener): void
  /** Peers currently connected or known reachable. */
  peers(): string[]
  /**
   * Addresses a peer announced in the member table, so requests can reach members this
   * node never discovered itself (libp2p: added to the peer store). Optional: transports
   * that route by peer id alone (the simulator) do without.
   */
  learnPeerAddresses?(peer: string, addrs: readonly string[]): void
  start(): Promise<void>
  /** Idempotent; rejects every pending request. */
  stop(): Promise<void>
}

export class TransportError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}

export class PeerUnreachableError extends TransportError {
  constructor(readonly peer: string, reason = 'no route to it') {
    super(`peer ${peer} is unreachable: ${reason}`)
  }
}

export class TransportTimeoutError extends TransportError {
  constructor(readonly peer: string, readonly timeoutMs: number) {
    super(`peer ${peer} did not answer within ${timeoutMs} ms`)
  }
}

/**
 * The connection broke after the request may have left (a TCP reset, a stream reset, the
 * peer's process died): the peer may or may not have handled it. Never proof that it did not.
 */
export class ConnectionResetError extends TransportError {
  constructor(readonly peer: string, reason = 'connection reset by peer') {
    super(`request to ${peer} failed: ${reason}; it may have been handled`)
  }
}

export class TransportStoppedError extends TransportError {
  constructor() {
    super('the transport is stopped')
  }
}
