// What the transport counts, for `rumordb status` and /metrics. Bytes are frame bytes
// (what the engine sent or got), without libp2p framing, encryption or muxer overhead.
export interface Libp2pTransportCounters {
  /** Requests this node sent, and those that ended in an error (unreachable, timeout, reset, aborted). */
  requestsSent: number
  requestsFailed: number
  /** Requests this node answered, and inbound streams it reset (bad frame, read timeout, handler error). */
  requestsServed: number
  requestsRefused: number
  /** Request and response frames on /rumordb/rpc and /rumordb/sync, both directions. */
  rpcBytesSent: number
  rpcBytesReceived: number
  broadcastsSent: number
  /** Broadcasts delivered to the handler; rejected by the topic validator; too large to publish. */
  broadcastsReceived: number
  broadcastsRejected: number
  broadcastsDropped: number
  gossipBytesSent: number
  gossipBytesReceived: number
  dialsFailed: number
}

export function zeroCounters(): Libp2pTransportCounters {
  return {
    requestsSent: 0,
    requestsFailed: 0,
    requestsServed: 0,
    requestsRefused: 0,
    rpcBytesSent: 0,
    rpcBytesReceived: 0,
    broadcastsSent: 0,
    broadcastsReceived: 0,
    broadcastsRejected: 0,
    broadcastsDropped: 0,
    gossipBytesSent: 0,
    gossipBytesReceived: 0,
    dialsFailed: 0,
  }
}
