// Defaults of the libp2p transport. Options override them with `??`.
import { MAX_FRAME_BYTES } from '../../src/wire/limits.js'

/** Request/response for everything but anti-entropy (version 2: pipelined requests on a long-lived stream). */
export const RPC_PROTOCOL = '/rumordb/rpc/2.0.0'
/** Anti-entropy requests (sync-root, sync-keys, sync-push): own stream limits, so bulk sync cannot starve quorum traffic. */
export const SYNC_PROTOCOL = '/rumordb/sync/2.0.0'

export const DEFAULT_CLUSTER = 'default'
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/4001']

/** Cluster names become part of a gossipsub topic and of the mDNS service name. */
export const CLUSTER_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/

/** The gossipsub topic every member of `cluster` publishes heartbeats and rumors on. */
export function clusterTopic(cluster: string): string {
  return `rumordb/${cluster}/1`
}

/** Largest request or response frame, on both sides of a stream. */
export const MAX_STREAM_FRAME_BYTES = MAX_FRAME_BYTES

/** Heartbeats and rumors are small; larger gossip is refused by the topic validator and never published. */
export const MAX_GOSSIP_FRAME_BYTES = 256 * 1024
/** Whole gossipsub RPCs (several messages and control data) from one peer. */
export const MAX_GOSSIP_RPC_BYTES = 1024 * 1024

/** A request frame, once begun, must be complete within this; an idle channel stays open. */
export const DEFAULT_SERVER_READ_TIMEOUT_MS = 10_000
/** The request handler has this long to answer before the requester is told it failed (requesters give up sooner). */
export const DEFAULT_SERVER_HANDLER_TIMEOUT_MS = 30_000
/**
 * Request channels (long-lived streams) per connection and protocol. A node opens one per
 * peer and protocol; a few more cover a channel being replaced while the old one closes.
 */
export const MAX_CHANNELS_PER_PEER = 8

/** Redialing discovered peers: first retry after about BASE, doubling up to MAX, at most ATTEMPTS dials. */
export const DEFAULT_DIAL_BACKOFF_BASE_MS = 500
export const DEFAULT_DIAL_BACKOFF_MAX_MS = 30_000
export const DEFAULT_DIAL_ATTEMPTS = 8
/** One dial attempt gives up after this. */
export const DEFAULT_DIAL_TIMEOUT_MS = 5_000

/** mDNS query interval (the libp2p default). */
export const DEFAULT_MDNS_INTERVAL_MS = 10_000

/** Name of the peer key file inside the data directory. */
export const PEER_KEY_FILE = 'peer-key'
