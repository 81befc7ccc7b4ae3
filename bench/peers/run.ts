// `node --import tsx bench/peers/run.ts [--install] [--systems orbitdb,automerge,gun]
//   [--nodes 3,5] [--writes 1000] [--keys K] [--repeat 3] [--timeout 120] [--out DIR|FILE.json]`
//
// Runs the peer benchmark (see index.ts), prints a table and writes the raw numbers to
// <out>/<YYYY-MM-DD>-peers.json (bench/results by default), or to FILE.json.
// --install first runs bench/peers/install.sh, which installs the peers' packages unless
// bench/peers/node_modules already matches its lock file.
import '../../node/polyfill/index.js'
import { execFileSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { positiveInt } from '../lib/args.js'
import { describeMachine, machineInfo, type MachineInfo } from '../lib/machine.js'
import { startProgress } from '../lib/progress.js'
import { DEFAULT_RESULTS_DIR, writeReport, type BenchReport } from '../lib/report.js'
import { formatNumber, formatTable } from '../lib/table.js'
import {
  DEFAULT_PEER_OPTIONS,
  installedVersion,
  PEERS_DIR,
  runPeerBenchmark,
  SYSTEM_NAMES,
  SYSTEMS,
  type PeerBenchOptions,
  type PeerResult,
  type PeerTrial,
} from './index.js'
import { isSystemName, type SystemName } from './systems/catalog.js'

export interface PeerCliOptions extends PeerBenchOptions {
  readonly install: boolean
  /** A folder (the report is named by date) or a path ending in .json. */
  readonly out: string
  readonly progress: boolean
}

export type PeerReport = BenchReport<PeerCliOptions, { readonly versions: Record<string, string>; readonly rows: PeerResult[] }>

export function parseOptions(args: string[]): PeerCliOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      install: { type: 'boolean' },
      systems: { type: 'string' },
      nodes: { type: 'string' },
      writes: { type: 'string' },
      keys: { type: 'string' },
      repeat: { type: 'string' },
      timeout: { type: 'string' },
      out: { type: 'string' },
    },
  })
  const systems = values.systems === undefined ? [...SYSTEM_NAMES] : values.systems.split(',').map((s) => s.trim())
  for (const s of systems) {
    if (!isSystemName(s)) throw new RangeError(`--systems: unknown system ${s}; known: ${SYSTEM_NAMES.join(', ')}`)
  }
  const nodes =
    values.nodes === undefined ? [...DEFAULT_PEER_OPTIONS.nodes] : values.nodes.split(',').map((n) => positiveInt('--nodes', n.trim(), 0))
  if (nodes.some((n) => n < 2)) throw new RangeError('--nodes: every cluster needs at least 2 nodes')
  const writes = positiveInt('--writes', values.writes, DEFAULT_PEER_OPTIONS.writes)
  return {
    ...DEFAULT_PEER_OPTIONS,
    install: values.install === true,
    systems: systems as SystemName[],
    nodes,
    writes,
    keys: Math.min(writes, positiveInt('--keys', values.keys, writes)),
    repeat: positiveInt('--repeat', values.repeat, DEFAULT_PEER_OPTIONS.repeat),
    convergeTimeoutMs: 1000 * positiveInt('--timeout', values.timeout, DEFAULT_PEER_OPTIONS.convergeTimeoutMs / 1000),
    out: values.out ?? DEFAULT_RESULTS_DIR,
    progress: process.stderr.isTTY === true,
  }
}

export async function main(args: string[]): Promise<void> {
  const o = parseOptions(args)
  // install.sh is idempotent (a no-op when node_modules matches the lock file).
  if (o.install) execFileSync('bash', [join(PEERS_DIR, 'install.sh')], { stdio: 'inherit' })
  const date = new Date().toISOString()
  const machine = machineInfo()
  const bar = startProgress('peers: trials', o.systems.length * o.nodes.length * o.repeat, o.progress)
  const rows = await runPeerBenchmark({
    ...o,
    onTrial: (done, total, trial) => {
      bar.update(done)
      if (!o.progress) console.error(`peers: ${done}/${total} ${describeTrial(trial)}`)
    },
  })
  bar.stop()
  const versions = Object.fromEntries(o.systems.map((s) => [SYSTEMS[s].packageName, installedVersion(SYSTEMS[s].packageName)]))
  const report: PeerReport = { benchmark: 'peers', date, options: o, machine, machineAfter: machineInfo(), results: { versions, rows } }
  console.log(formatReport(report))
  console.log(`\nresults: ${writePeerReport(o.out, report)}`)
}

function describeTrial(t: PeerTrial): string {
  const head = `${t.system} n=${t.nodes} #${t.repeat}`
  const o = t.outcome
  return o.ok ? `${head}: converged in ${seconds(o.convergeMs)} (burst ${seconds(o.burstMs)})` : `${head}: FAILED in ${o.phase}: ${o.reason}`
}

export function writePeerReport(out: string, report: PeerReport): string {
  if (!out.endsWith('.json')) return writeReport(out, report)
  const path = resolve(out)
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`)
  return path
}

export function formatReport(report: PeerReport): string {
  const o = report.options
  const rows = report.results.rows
  const lines = [
    `peers: a burst of ${formatNumber(o.writes)} counter-like writes (${formatNumber(o.keys ?? o.writes)} keys) on node 0,` +
      ` then the time until every node holds them all; ${o.repeat} fresh cluster(s) per row, loopback only`,
    `machine: ${describeMachine(report.machine)}`,
    `load after: ${loadOf(report.machineAfter)}`,
    '',
    formatTable(
      ['system', 'version', 'nodes', 'writes', 'converge p50', 'converge max', 'burst p50', 'bytes p50', 'peak RSS', 'status'],
      rows.map((r) => [
        r.system,
        r.version,
        String(r.nodes),
        formatNumber(r.writes),
        r.convergeMs === undefined ? '-' : seconds(r.convergeMs.p50),
        r.convergeMs === undefined ? '-' : seconds(r.convergeMs.max),
        r.burstMs === undefined ? '-' : seconds(r.burstMs.p50),
        r.bytesSent === undefined ? '-' : `${formatNumber(r.bytesSent.p50 / 1024)} KiB`,
        `${formatNumber(r.peakRssBytes / 2 ** 20)} MiB`,
        r.status === 'ok' ? 'ok' : 'FAILED',
      ]),
    ),
    '',
    'converge: first write of the burst until every node held every write; burst: until node 0 had applied the last write',
    `(writes awaited one at a time); bytes: what all peers wrote to their TCP sockets in that time; peak RSS: the one`,
    `process that ran all the peers of a trial. Times are polled every ${o.pollMs} ms.`,
  ]
  const failed = rows.filter((r) => r.status === 'failed')
  if (failed.length > 0) {
    lines.push('', 'FAILED:')
    for (const r of failed) lines.push(`  ${r.system} n=${r.nodes}: ${r.failure ?? ''}`)
  }
  lines.push('', 'converged means:')
  for (const s of o.systems) lines.push(`  ${s}: ${SYSTEMS[s].convergedMeans}`)
  lines.push('topology:')
  for (const s of o.systems) lines.push(`  ${s}: ${SYSTEMS[s].topology}`)
  return lines.join('\n')
}

function seconds(ms: number): string {
  return ms < 1000 ? `${formatNumber(ms)} ms` : `${formatNumber(ms / 1000, 2)} s`
}

function loadOf(m: MachineInfo | undefined): string {
  return m === undefined ? 'unknown' : m.loadAverage.join(' ')
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2))
}
