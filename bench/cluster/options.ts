// Options of the cluster benchmark: full and --quick presets, and the command-line parser.
import { parseArgs } from 'node:util'
import { isCrdtTypeName, type CrdtTypeName } from '../../crdts/index.js'
import { positiveInt } from '../lib/args.js'
import { DEFAULT_RESULTS_DIR } from '../lib/report.js'
import { DEFAULT_PEER_OPTIONS } from '../peers/index.js'
import { isSystemName, SYSTEM_NAMES, type SystemName } from '../peers/systems/catalog.js'
import { MAX_BATCH_SIZE } from './send-writes.js'
import { ALL_TYPES } from './workload.js'
import { CONVERGENCE_WORKLOADS, type ConvergenceWorkload } from './workloads.js'

export type Workload = ConvergenceWorkload | 'latency'
const WORKLOADS: readonly Workload[] = [...CONVERGENCE_WORKLOADS, 'latency']

export interface ClusterBenchOptions {
  readonly nodes: readonly number[]
  readonly writes: number
  /** Keys the writes of one run spread over (default: writes ÷ 4). */
  readonly keys: number
  readonly types: readonly CrdtTypeName[]
  readonly workloads: readonly Workload[]
  /** Timed runs of each convergence workload per cluster size. */
  readonly repeats: number
  /** Writes in flight during the convergence workloads (one request each). */
  readonly concurrency: number
  /** burst-batched: writes per POST /v1/batch (1 … 1000). */
  readonly batchSize: number
  /** burst-batched: batches in flight. */
  readonly batchConcurrency: number
  /** Concurrent HTTP clients during the latency runs. */
  readonly clients: number
  /** Requests per operation and quorum level in the latency runs. */
  readonly latencySamples: number
  readonly n: number
  readonly r: number
  readonly w: number
  readonly pollIntervalMs: number
  /** A run not converged this long after its last write (or heal) is FAILED. */
  readonly timeoutMs: number
  /** Quiet time measured before the runs: background traffic (heartbeats, anti-entropy) per second. */
  readonly idleMs: number
  /** Counter keys read back after the runs to check no acknowledged write was lost. */
  readonly verifyKeys: number
  /** Partition runs heal the cut (false only to prove a run that cannot converge is FAILED). */
  readonly heal: boolean
  readonly seed: number
  readonly outDir: string
  /** Peer results file (default: the newest <date>-peers.json in outDir); not with withPeers. */
  readonly peersFile?: string
  /** Runs the peer systems (bench/peers) in this run on the burst workload, instead of loading a file. */
  readonly withPeers: boolean
  readonly peerSystems: readonly SystemName[]
  /** Trials per peer system and cluster size (default: `repeats`, so both medians are over as many runs). */
  readonly peerRepeats: number
  /** A peer trial not converged this long after its first write is FAILED. */
  readonly peerTimeoutMs: number
  readonly plots: boolean
  readonly progress: boolean
  readonly quick: boolean
}

const FULL: ClusterBenchOptions = {
  nodes: [3, 5, 10],
  writes: 1000,
  keys: 250,
  types: ALL_TYPES,
  workloads: WORKLOADS,
  repeats: 5,
  concurrency: 16,
  batchSize: 100,
  batchConcurrency: 2,
  clients: 8,
  latencySamples: 2000,
  n: 3,
  r: 2,
  w: 2,
  pollIntervalMs: 20,
  timeoutMs: 60_000,
  idleMs: 3000,
  verifyKeys: 100,
  heal: true,
  seed: 1,
  outDir: DEFAULT_RESULTS_DIR,
  withPeers: false,
  peerSystems: SYSTEM_NAMES,
  peerRepeats: 5,
  peerTimeoutMs: DEFAULT_PEER_OPTIONS.convergeTimeoutMs,
  plots: true,
  progress: process.stderr.isTTY === true,
  quick: false,
}

/** Same workload shapes, fewer and smaller runs: under five minutes on a 2-core machine. */
const QUICK: ClusterBenchOptions = {
  ...FULL,
  nodes: [3, 5],
  writes: 300,
  keys: 75,
  repeats: 2,
  latencySamples: 200,
  timeoutMs: 30_000,
  idleMs: 2000,
  verifyKeys: 40,
  quick: true,
}

export const USAGE = `usage: npm run bench -- cluster [--quick] [--nodes 3,5,10] [--writes N] [--keys N] [--types all|gcounter,pncounter,orset,lww]
             [--workloads burst,burst-batched,concurrent,partition,latency] [--repeats N] [--concurrency N]
             [--batch-size N] [--batch-concurrency N] [--clients N]
             [--latency-samples N] [--n N] [--r N] [--w N] [--poll-ms MS] [--timeout-ms MS] [--seed N]
             [--out DIR] [--peers FILE] [--no-plots]
             [--with-peers [--peer-systems orbitdb,automerge,gun] [--peer-repeats N] [--peer-timeout-s S]]
       npm run bench -- cluster --render <date>-cluster.json [--out DIR]   (redraws the report and plots of a run)
       npm run bench -- cluster --equal-work [--quick] …   (rumordb against the peers on equal work, each node its own process; --equal-work --help)
       (or: rumordb bench cluster …)
  burst sends its writes to node 0 one POST /v1/kv/:key each, --concurrency in flight; burst-batched
  sends the same writes as POST /v1/batch requests of --batch-size (1 … ${MAX_BATCH_SIZE}, default 100) writes,
  --batch-concurrency (default 2) in flight.
  --with-peers runs the peer systems of bench/peers on the same burst (install them first:
  bash bench/peers/install.sh); --peer-repeats defaults to --repeats, --peer-timeout-s to ${DEFAULT_PEER_OPTIONS.convergeTimeoutMs / 1000}.`

export function parseOptions(args: string[]): ClusterBenchOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean' },
      nodes: { type: 'string' },
      writes: { type: 'string' },
      keys: { type: 'string' },
      types: { type: 'string' },
      workloads: { type: 'string' },
      repeats: { type: 'string' },
      concurrency: { type: 'string' },
      'batch-size': { type: 'string' },
      'batch-concurrency': { type: 'string' },
      clients: { type: 'string' },
      'latency-samples': { type: 'string' },
      n: { type: 'string' },
      r: { type: 'string' },
      w: { type: 'string' },
      'poll-ms': { type: 'string' },
      'timeout-ms': { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      peers: { type: 'string' },
      'no-plots': { type: 'boolean' },
      'with-peers': { type: 'boolean' },
      'peer-systems': { type: 'string' },
      'peer-repeats': { type: 'string' },
      'peer-timeout-s': { type: 'string' },
    },
  })
  const base = values.quick === true ? QUICK : FULL
  const writes = positiveInt('--writes', values.writes, base.writes)
  const nodes = values.nodes === undefined ? base.nodes : values.nodes.split(',').map((t) => positiveInt('--nodes', t.trim(), 0))
  if (nodes.some((n) => n < 2 || n > 64)) throw new RangeError(`--nodes must list cluster sizes from 2 to 64, got ${values.nodes}`)
  const types = parseTypes(values.types)
  const n = positiveInt('--n', values.n, base.n)
  const repeats = positiveInt('--repeats', values.repeats, base.repeats)
  const workloads = parseWorkloads(values.workloads)
  const withPeers = values['with-peers'] === true
  if (!withPeers) {
    for (const flag of ['peer-systems', 'peer-repeats', 'peer-timeout-s'] as const) {
      if (values[flag] !== undefined) throw new RangeError(`--${flag} only applies with --with-peers`)
    }
  } else {
    if (values.peers !== undefined) throw new RangeError('--peers FILE and --with-peers exclude each other: --with-peers runs the peers in this run instead of reading a file')
    if (!workloads.includes('burst') && !workloads.includes('burst-batched')) {
      throw new RangeError('--with-peers compares the burst workload: include burst or burst-batched in --workloads')
    }
  }
  if (!workloads.includes('burst-batched')) {
    for (const flag of ['batch-size', 'batch-concurrency'] as const) {
      if (values[flag] !== undefined) throw new RangeError(`--${flag} only applies to the burst-batched workload: include it in --workloads`)
    }
  }
  const batchSize = positiveInt('--batch-size', values['batch-size'], base.batchSize)
  if (batchSize > MAX_BATCH_SIZE) throw new RangeError(`--batch-size must be from 1 to ${MAX_BATCH_SIZE} (the most POST /v1/batch takes), got ${batchSize}`)
  const options: ClusterBenchOptions = {
    ...base,
    nodes: [...new Set(nodes)].sort((a, b) => a - b),
    writes,
    keys: positiveInt('--keys', values.keys, values.writes === undefined ? base.keys : Math.max(types.length, Math.round(writes / 4))),
    types,
    workloads,
    repeats,
    concurrency: positiveInt('--concurrency', values.concurrency, base.concurrency),
    batchSize,
    batchConcurrency: positiveInt('--batch-concurrency', values['batch-concurrency'], base.batchConcurrency),
    clients: positiveInt('--clients', values.clients, base.clients),
    latencySamples: positiveInt('--latency-samples', values['latency-samples'], base.latencySamples),
    n,
    r: positiveInt('--r', values.r, Math.min(base.r, n)),
    w: positiveInt('--w', values.w, Math.min(base.w, n)),
    pollIntervalMs: positiveInt('--poll-ms', values['poll-ms'], base.pollIntervalMs),
    timeoutMs: positiveInt('--timeout-ms', values['timeout-ms'], base.timeoutMs),
    seed: positiveInt('--seed', values.seed, base.seed),
    outDir: values.out ?? base.outDir,
    ...(values.peers === undefined ? {} : { peersFile: values.peers }),
    withPeers,
    peerSystems: parseSystems(values['peer-systems']),
    peerRepeats: positiveInt('--peer-repeats', values['peer-repeats'], repeats),
    peerTimeoutMs: 1000 * positiveInt('--peer-timeout-s', values['peer-timeout-s'], base.peerTimeoutMs / 1000),
    plots: values['no-plots'] !== true,
  }
  if (options.r > n || options.w > n) throw new RangeError(`--r and --w cannot exceed --n (${n})`)
  return options
}

function parseTypes(text: string | undefined): CrdtTypeName[] {
  if (text === undefined || text === 'all') return [...ALL_TYPES]
  const types = text.split(',').map((t) => t.trim())
  for (const t of types) if (!isCrdtTypeName(t)) throw new RangeError(`--types: unknown type ${t}; use all or some of ${ALL_TYPES.join(',')}`)
  return [...new Set(types)] as CrdtTypeName[]
}

function parseSystems(text: string | undefined): SystemName[] {
  if (text === undefined || text === 'all') return [...SYSTEM_NAMES]
  const chosen = text.split(',').map((t) => t.trim())
  for (const s of chosen) if (!isSystemName(s)) throw new RangeError(`--peer-systems: unknown system ${s}; use all or some of ${SYSTEM_NAMES.join(',')}`)
  return SYSTEM_NAMES.filter((s) => chosen.includes(s))
}

function parseWorkloads(text: string | undefined): Workload[] {
  if (text === undefined || text === 'all') return [...WORKLOADS]
  const chosen = text.split(',').map((t) => t.trim())
  for (const w of chosen) if (!(WORKLOADS as readonly string[]).includes(w)) throw new RangeError(`--workloads: unknown workload ${w}; use some of ${WORKLOADS.join(',')}`)
  return WORKLOADS.filter((w) => chosen.includes(w))
}

