// Prometheus metrics of one HTTP server, in a registry of its own (never prom-client's
// global one, so several nodes can run in one process). Counters and histograms are fed
// by the routes. Engine numbers come from the source /v1/status shows too: db.status(),
// walked by statusCounters() (status-view.ts) on each scrape, so every counter of every
// part of the engine is exported without code here. Each gets a metric named after where
// it is in the status: rumordb_<group>_<name> in snake case, `_total` for counters
// (antiEntropy.keysSent → rumordb_anti_entropy_keys_sent_total, clock.offsetMs →
// rumordb_clock_offset_ms), except the ones grouped in a labelled family under the names
// they had before the metrics were generated (FAMILIES) and two renamed (RENAMED). The
// README lists the rules; test/node/http-metrics-complete.test.ts checks every counter.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { STATUS_GAUGES } from '../../src/cluster/engine.js'
import type { Database } from '../../src/index.js'
import { engineStatusOf, statusCounters } from './status-view.js'

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
  new Gauge({
    name: 'rumordb_synced',
    help: '1 when every replica set this node belongs to agrees with all its live members and no hints are pending (GET /v1/sync says why not)',
    registers,
    collect() {
      if (synced !== undefined) this.set(synced ? 1 : 0)
    },
  })

  // Engine numbers by status path, read by scrape(); each metric reads its own on collect.
  const values = new Map<string, number>()
  /** Metric name → what it exports: one status path, or one family. */
  const exported = new Map<string, string | Family>()
  /** Registers the metric of a status path the first time a scrape sees it (its family's, if it has one). */
  function exportPath(path: string): void {
    const target = engineMetricOf(path)
    const family = target.family
    const owner = exported.get(target.name)
    if (owner !== undefined) {
      if (owner === (family ?? path)) return
      throw new Error(`${path} and ${typeof owner === 'string' ? owner : owner.name} would both be exported as ${target.name}: rename one in RENAMED`)
    }
    exported.set(target.name, family ?? path)
    const series: [string, string | undefined][] = family === undefined ? [[path, undefined]] : Object.entries(family.series)
    const labelNames = family === undefined ? [] : [family.label]
    const collect = (set: (labels: Record<string, string>, n: number) => void): void => {
      for (const [p, label] of series) {
        const n = values.get(p)
        if (n !== undefined) set(label === undefined || family === undefined ? {} : { [family.label]: label }, n)
      }
    }
    if (target.kind === 'gauge') {
      new Gauge({
        name: target.name,
        help: target.help,
        labelNames,
        registers,
        collect() {
          collect((labels, n) => this.set(labels, n))
        },
      })
    } else {
      // Totals kept by the engine: mirrored on scrape.
      new Counter({
        name: target.name,
        help: target.help,
        labelNames,
        registers,
        collect() {
          this.reset()
          collect((labels, n) => this.inc(labels, n))
        },
      })
    }
  }

  return {
    registry,
    async scrape() {
      let status: ReturnType<Database['status']> | undefined
      try {
        status = db.status()
        // A database without a network is its only replica: synced by definition, and
        // syncStatus() would hash the whole store to say so on every scrape.
        synced = status.networked ? db.syncStatus().synced : true
      } catch {
        // Closed: keep the last values.
      }
      for (const c of status === undefined ? [] : statusCounters(engineStatusOf(status))) {
        values.set(c.path, c.value)
        exportPath(c.path)
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

/** Engine counters exported together, one series per counter, under the names they had before the metrics were generated. */
interface Family {
  readonly name: string
  readonly help: string
  readonly label: string
  /** Status path → label value. */
  readonly series: Readonly<Record<string, string>>
}

const FAMILIES: readonly Family[] = [
  { name: 'rumordb_peers', help: 'Cluster members by status, this node included', label: 'status', series: { 'members.alive': 'alive', 'members.suspect': 'suspect', 'members.left': 'left' } },
  {
    name: 'rumordb_anti_entropy_rounds_total',
    help: 'Anti-entropy rounds, by outcome',
    label: 'outcome',
    series: { 'antiEntropy.equalRounds': 'equal', 'antiEntropy.syncedRounds': 'synced', 'antiEntropy.viewMismatchRounds': 'view_mismatch', 'antiEntropy.failedRounds': 'failed' },
  },
  {
    name: 'rumordb_anti_entropy_keys_total',
    help: 'Key states exchanged by anti-entropy, by direction',
    label: 'direction',
    series: { 'antiEntropy.keysSent': 'sent', 'antiEntropy.keysReceived': 'received' },
  },
  {
    // The engine counts bytes per connection, not per protocol: anti-entropy is most of them.
    name: 'rumordb_network_bytes_total',
    help: 'Bytes of peer messages (anti-entropy, gossip, quorum requests), by direction',
    label: 'direction',
    series: { 'messages.bytesSent': 'sent', 'messages.bytesReceived': 'received' },
  },
  {
    name: 'rumordb_anti_entropy_errors_total',
    help: 'Anti-entropy failures, by kind (states that did not merge, states too large to send, requests answered with an error)',
    label: 'kind',
    series: { 'antiEntropy.mergeErrors': 'merge', 'antiEntropy.oversizedStates': 'oversized_state', 'antiEntropy.requestErrors': 'request' },
  },
  {
    name: 'rumordb_clock_skew_refusals_total',
    help: 'Register work refused for clock skew, by kind (writes while this node was off, read answers and merged registers stamped too far ahead)',
    label: 'kind',
    series: { 'clock.writesRefused': 'write', 'clock.futureRegistersIgnored': 'read_answer', 'replica.clockDriftRefused': 'merge' },
  },
  {
    name: 'rumordb_keyed_writes_total',
    help: 'Writes with an idempotency key coordinated here, by outcome (replayed: a retry answered with the first result; unavailable: no majority agreed, nothing applied)',
    label: 'outcome',
    series: { 'keyedWrites.replays': 'replayed', 'keyedWrites.unavailable': 'unavailable' },
  },
  {
    name: 'rumordb_large_messages_total',
    help: 'Messages above one frame moved in parts, by what happened',
    label: 'event',
    series: { 'messages.largeSent': 'sent', 'messages.largeReceived': 'received', 'messages.largeRefused': 'refused', 'messages.largeDropped': 'dropped' },
  },
  { name: 'rumordb_gossip_rumors_total', help: 'Gossiped deltas received, by outcome', label: 'outcome', series: { 'rumors.rumorsMerged': 'merged', 'rumors.rumorsIgnored': 'ignored' } },
  {
    name: 'rumordb_handoff_deliveries_total',
    help: 'Hinted-handoff delivery attempts, by outcome',
    label: 'outcome',
    series: { 'handoff.delivered': 'delivered', 'handoff.failedAttempts': 'failed', 'handoff.dropped': 'dropped' },
  },
]

/** Counters whose generated name is taken by a family, or was another one before. */
const RENAMED: Readonly<Record<string, string>> = {
  'antiEntropy.rounds': 'rumordb_anti_entropy_rounds_started_total',
  'antiEntropy.unreconciledKeys': 'rumordb_unreconciled_keys',
}

/** Help texts worth more than "where it is in /v1/status". */
const HELP: Readonly<Record<string, string>> = {
  keys: 'Keys stored on this node',
  pendingHints: 'Hinted-handoff deltas waiting for their owner',
  'clock.offsetMs': "This node's wall clock minus the cluster's (median over live peers' heartbeats), ms",
  'clock.off': "1 while the cluster finds this node's clock off (it then refuses register writes)",
  'antiEntropy.unreconciledKeys': 'Keys anti-entropy could not merge or send to some peer (GET /v1/sync lists them)',
  'antiEntropy.rounds': 'Anti-entropy rounds started with a peer, whatever their outcome',
}

const familyOf = new Map<string, Family>(FAMILIES.flatMap((f) => Object.keys(f.series).map((path) => [path, f] as const)))

/** Where the engine counter at `path` (in db.status()) is exported. */
export interface EngineMetric {
  readonly name: string
  readonly help: string
  readonly kind: 'counter' | 'gauge'
  /** The labelled family it is one series of, if any. */
  readonly family?: Family
  /** The series as the text exposition shows it: `rumordb_keys`, `rumordb_peers{status="alive"}`. */
  readonly series: string
}

export function engineMetricOf(path: string): EngineMetric {
  const kind = STATUS_GAUGES.has(path) ? 'gauge' : 'counter'
  const family = familyOf.get(path)
  if (family !== undefined) {
    return { name: family.name, help: family.help, kind, family, series: `${family.name}{${family.label}="${family.series[path]}"}` }
  }
  const generated = `rumordb_${path.split('.').map(snakeCase).join('_')}${kind === 'counter' ? '_total' : ''}`
  const name = RENAMED[path] ?? generated
  return { name, help: HELP[path] ?? `${path} in GET /v1/status (${kind === 'counter' ? 'a total since start' : 'a level'})`, kind, series: name }
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)
}

