// Prometheus metrics of one HTTP server, in a registry of its own (never prom-client's
// global one, so several nodes can run in one process). Counters and histograms are fed
// by the routes; gauges and engine totals are read from db.status() and db.syncStatus()
// on each scrape (both are cheap: counters, and O(arcs) over the anti-entropy index).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { Database } from '../../src/index.js'
import { statusView, type StatusView } from './status-view.js'

export interface HttpMetrics {
  readonly registry: Registry
  /** The text exposition, with the database's counters read now. */
  scrape(): Promise<string>
  /** One key operation answered: op is a write operation or `get`; outcome `ok`, `replayed`, `not_found` or an error code. */
  operation(type: string, op: string, outcome: string): void
  /** A write returned: how many replicas acknowledged it, and whether w was reached. */
  writeAcked(acks: number, quorum: boolean): void
  /** A write refused with QUORUM_NOT_MET (it still stays where it landed). */
  quorumMissed(): void
  request(method: string, route: string, status: number, seconds: number): void
}

export interface HttpMetricsOptions {
  /** Also export process_* and nodejs_* metrics (CPU, memory, event loop). Default true. */
  readonly processMetrics?: boolean
}

export function createHttpMetrics(db: Database, options: HttpMetricsOptions = {}): HttpMetrics {
  const registry = new Registry()
  const registers = [registry]
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry })

  // Read by scrape() and shared by every collect() below; a closed database keeps its last
  // values (/readyz is what reports it).
  let view: StatusView | undefined
  let synced: boolean | undefined

  const operations = new Counter({
    name: 'rumordb_operations_total',
    help: 'Key operations answered by the HTTP API, by CRDT type, operation (get for reads) and outcome',
    labelNames: ['type', 'op', 'outcome'] as const,
    registers,
  })
  const requests = new Histogram({
    name: 'rumordb_http_request_duration_seconds',
    help: 'HTTP request latency, by method, route and status code',
    labelNames: ['method', 'route', 'status_code'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  })
  const writeAcks = new Histogram({
    name: 'rumordb_write_acks',
    help: 'Replicas that acknowledged a durable commit of a write',
    buckets: [0, 1, 2, 3, 4, 5, 7, 10],
    registers,
  })
  const quorumMisses = new Counter({
    name: 'rumordb_quorum_misses_total',
    help: 'Writes acknowledged by fewer than w replicas (answered with quorum false or QUORUM_NOT_MET)',
    registers,
  })
  gauge('rumordb_keys', 'Keys stored on this node', (v) => ({ '': v.keys }))
  gauge('rumordb_pending_hints', 'Hinted-handoff deltas waiting for their owner', (v) => ({ '': v.pendingHints }))
  gauge('rumordb_peers', 'Cluster members by status, this node included', (v) => v.members, 'status')
  gauge('rumordb_clock_offset_ms', "This node's wall clock minus the cluster's (median over live peers' heartbeats), ms", (v) => ({ '': v.clock.offsetMs }))
  gauge('rumordb_clock_off', "1 while the cluster finds this node's clock off (it then refuses register writes)", (v) => ({ '': v.clock.off }))
  gauge('rumordb_unreconciled_keys', 'Keys anti-entropy could not merge or send to some peer (GET /v1/sync lists them)', (v) => ({
    '': v.antiEntropy.unreconciledKeys,
  }))
  new Gauge({
    name: 'rumordb_synced',
    help: '1 when every replica set this node belongs to agrees with all its live members and no hints are pending (GET /v1/sync says why not)',
    registers,
    collect() {
      if (synced !== undefined) this.set(synced ? 1 : 0)
    },
  })
  // Engine totals are monotonic counters kept by the engine: mirrored on scrape.
  total('rumordb_anti_entropy_rounds_total', 'Anti-entropy rounds, by outcome', 'outcome', (v) => ({
    equal: v.antiEntropy.equalRounds,
    synced: v.antiEntropy.syncedRounds,
    view_mismatch: v.antiEntropy.viewMismatchRounds,
    failed: v.antiEntropy.failedRounds,
  }))
  total('rumordb_anti_entropy_keys_total', 'Key states exchanged by anti-entropy, by direction', 'direction', (v) => ({
    sent: v.antiEntropy.keysSent,
    received: v.antiEntropy.keysReceived,
  }))
  // The engine counts bytes per connection, not per protocol: anti-entropy is most of them.
  total('rumordb_network_bytes_total', 'Bytes of peer messages (anti-entropy, gossip, quorum requests), by direction', 'direction', (v) => ({
    sent: v.gossip.bytesSent,
    received: v.gossip.bytesReceived,
  }))
  total('rumordb_anti_entropy_errors_total', 'Anti-entropy failures, by kind (states that did not merge, states too large to send, requests answered with an error)', 'kind', (v) => ({
    merge: v.antiEntropy.mergeErrors,
    oversized_state: v.antiEntropy.oversizedStates,
    request: v.antiEntropy.requestErrors,
  }))
  total('rumordb_clock_skew_refusals_total', 'Register work refused for clock skew, by kind (writes while this node was off, read answers and merged registers stamped too far ahead)', 'kind', (v) => ({
    write: v.clock.writesRefused,
    read_answer: v.clock.futureRegistersIgnored,
    merge: v.clock.mergesRefused,
  }))
  total('rumordb_keyed_writes_total', 'Writes with an idempotency key coordinated here, by outcome (replayed: a retry answered with the first result; unavailable: no majority agreed, nothing applied)', 'outcome', (v) => ({
    replayed: v.keyedWrites.replays,
    unavailable: v.keyedWrites.unavailable,
  }))
  total('rumordb_large_messages_total', 'Messages above one frame moved in parts, by what happened', 'event', (v) => ({
    sent: v.largeMessages.sent,
    received: v.largeMessages.received,
    refused: v.largeMessages.refused,
    dropped: v.largeMessages.dropped,
  }))
  total('rumordb_gossip_rumors_total', 'Gossiped deltas received, by outcome', 'outcome', (v) => ({
    merged: v.gossip.rumorsMerged,
    ignored: v.gossip.rumorsIgnored,
  }))
  total('rumordb_handoff_deliveries_total', 'Hinted-handoff delivery attempts, by outcome', 'outcome', (v) => ({
    delivered: v.handoff.delivered,
    failed: v.handoff.failedAttempts,
    dropped: v.handoff.dropped,
  }))

  /** A gauge set from the status view; with no label, the reader's single value has key ''. */
  function gauge(name: string, help: string, read: (v: StatusView) => Record<string, number>, label?: string): void {
    new Gauge({
      name,
      help,
      labelNames: label === undefined ? [] : [label],
      registers,
      collect() {
        if (view === undefined) return
        for (const [value, n] of Object.entries(read(view))) {
          if (label === undefined) this.set(n)
          else this.set({ [label]: value }, n)
        }
      },
    })
  }

  function total(name: string, help: string, label: string, read: (v: StatusView) => Record<string, number>): void {
    new Counter({
      name,
      help,
      labelNames: [label],
      registers,
      collect() {
        if (view === undefined) return
        this.reset()
        for (const [value, n] of Object.entries(read(view))) this.inc({ [label]: value }, n)
      },
    })
  }

  return {
    registry,
    async scrape() {
      try {
        view = statusView(db.status())
        synced = db.syncStatus().synced
      } catch {
        // Closed: keep the last values.
      }
      return registry.metrics()
    },
    operation: (type, op, outcome) => operations.inc({ type, op, outcome }),
    writeAcked(acks, quorum) {
      writeAcks.observe(acks)
      if (!quorum) quorumMisses.inc()
    },
    quorumMissed: () => quorumMisses.inc(),
    request: (method, route, status, seconds) => requests.observe({ method, route, status_code: String(status) }, seconds),
  }
}
