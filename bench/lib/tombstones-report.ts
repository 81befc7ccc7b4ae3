// The tombstone benchmark's results (bench/tombstones.ts): their shape, the verdicts on the
// issue's goal, and the printed report.
import type { BenchReport } from './report.js'
import { describeMachine } from './machine.js'
import { formatNumber, formatTable } from './table.js'
import type { CatchUp, Convergence, StateMeasure } from './tombstones-measure.js'
import type { PurgeSupport } from './tombstones-purge.js'
import type { KeyKind, LoadResult } from './tombstones-workload.js'

/** The issue's goal: after the purge window, files and anti-entropy within this multiple of an empty store. */
export const GOALS = { maxRatioToEmpty: 2 } as const

export interface TombstonesOptions {
  readonly keys: number
  readonly type: KeyKind
  readonly concurrency: number
  readonly seed: number
  /** Virtual ms to run after the deletes converged before measuring "purged"; undefined: see purgeWait(). */
  readonly purgeWaitMs: number | undefined
  /** Extra engine options (the purge window, once it has one), given as --engine name=value. */
  readonly engine: Readonly<Record<string, number | boolean | string>>
  readonly outDir: string
  readonly keepData: boolean
  /** Leave out the refill of a wiped node (the catch-up measure) in every phase. */
  readonly skipCatchUp: boolean
  readonly progress: boolean
}

export type PhaseName = 'empty' | 'written' | 'deleted' | 'purged'

export interface Phase {
  readonly name: PhaseName
  /** The writes or deletes of the phase (none for empty and purged). */
  readonly load?: LoadResult
  /** Virtual time waited for the purge (purged only). */
  readonly waitedMs?: number
  readonly convergence: Convergence
  readonly measure: StateMeasure
  /** A node wiped and refilled by anti-entropy after the measure (empty, deleted and purged phases). */
  readonly catchUp?: CatchUp
  /** The whole phase: load, convergence and measurement. */
  readonly wallMs: number
}

export interface Verdict {
  readonly description: string
  readonly pass: boolean
  readonly measured: string
  readonly ratio?: number
}

export interface TombstonesResults {
  readonly goals: typeof GOALS
  /** Nodes in the cluster, each holding every key (n = nodes). */
  readonly nodes: number
  readonly phases: readonly Phase[]
  readonly purge: PurgeSupport & { readonly counters: Record<string, number> }
  readonly verdicts: { readonly files: Verdict; readonly antiEntropy: Verdict; readonly catchUp: Verdict }
  readonly wallMs: number
  readonly peakRssBytes: number
  readonly command: string
  readonly notes: readonly string[]
}

export type TombstonesReport = BenchReport<TombstonesOptions, TombstonesResults>

// ---------------------------------------------------------------- verdicts

/** Per node, the phase's SQLite bytes ÷ the empty store's; the largest. */
export function filesRatio(phase: Phase, empty: Phase): number {
  return Math.max(...phase.measure.nodes.map((n, i) => n.files.sqliteBytes / (empty.measure.nodes[i]?.files.sqliteBytes ?? NaN)))
}

export function antiEntropyRatio(phase: Phase, empty: Phase): number {
  return phase.measure.antiEntropy.bytes / empty.measure.antiEntropy.bytes
}

/** Anti-entropy bytes to refill a wiped node ÷ the empty store's; undefined when either was not measured. */
export function catchUpRatio(phase: Phase, empty: Phase): number | undefined {
  if (phase.catchUp === undefined || empty.catchUp === undefined) return undefined
  return phase.catchUp.bytes / empty.catchUp.bytes
}

interface Judged {
  readonly description: string
  readonly ratio: (phase: Phase, empty: Phase) => number | undefined
  /** The after-purge and empty numbers the ratio comes from. */
  readonly detail: (phase: Phase, empty: Phase) => string
  /** Whether what was measured had settled: a number taken before the cluster converged is not judged a pass. */
  readonly settled: (phase: Phase) => boolean
}

export function judge(phases: readonly Phase[], purge: PurgeSupport): TombstonesResults['verdicts'] {
  const at = (name: PhaseName): Phase | undefined => phases.find((p) => p.name === name)
  const [empty, deleted, purged] = [at('empty'), at('deleted'), at('purged')]
  const max = GOALS.maxRatioToEmpty
  const rows = (p: Phase): string => `${formatNumber(mean(p.measure.nodes.map((n) => n.storedKeys)))} rows left per node`
  const one = (j: Judged): Verdict => {
    if (empty === undefined || deleted === undefined) return { description: j.description, pass: false, measured: 'not measured: the run did not get that far' }
    const before = j.ratio(deleted, empty)
    if (before === undefined) return { description: j.description, pass: false, measured: 'not measured (--skip-catch-up)' }
    const withTombstones = `with tombstones ${formatRatio(before)}`
    if (purged === undefined) return { description: j.description, pass: false, measured: `purge: not implemented — tombstones stay (${withTombstones})` }
    const ratio = j.ratio(purged, empty) ?? NaN
    const seen = purge.implemented ? '' : '; no purge found in this build'
    const settled = j.settled(purged)
    return {
      description: j.description,
      pass: settled && ratio <= max,
      ratio,
      measured: `${formatRatio(ratio)}: ${j.detail(purged, empty)}, ${rows(purged)}${seen}${settled ? '' : '; NOT CONVERGED'} (${withTombstones})`,
    }
  }
  return {
    files: one({
      description: `after the purge window, every node's SQLite files (db + WAL) ≤ ${max} × the empty store's`,
      ratio: filesRatio,
      detail: (p, e) => `${bytesText(maxOf(p, (n) => n.files.sqliteBytes))} vs ${bytesText(maxOf(e, (n) => n.files.sqliteBytes))}`,
      settled: (p) => p.convergence.converged,
    }),
    antiEntropy: one({
      description: `after the purge window, one anti-entropy round between converged nodes (bytes) ≤ ${max} × the empty store's`,
      ratio: antiEntropyRatio,
      detail: (p, e) => `${formatNumber(p.measure.antiEntropy.bytes)} vs ${formatNumber(e.measure.antiEntropy.bytes)} bytes`,
      settled: (p) => p.convergence.converged,
    }),
    catchUp: one({
      description: `after the purge window, anti-entropy refilling a wiped node (bytes) ≤ ${max} × the empty store's`,
      ratio: catchUpRatio,
      detail: (p, e) => `${formatNumber(p.catchUp?.bytes ?? NaN)} vs ${formatNumber(e.catchUp?.bytes ?? NaN)} bytes`,
      settled: (p) => p.catchUp?.converged === true,
    }),
  }
}

// ---------------------------------------------------------------- report

export function formatReport(report: TombstonesReport): string {
  const { options: o, results: r } = report
  const empty = r.phases.find((p) => p.name === 'empty')
  const rows = r.phases.map((p) => {
    const m = p.measure
    const ae = m.antiEntropy
    return [
      p.name,
      formatNumber(mean(m.nodes.map((n) => n.storedKeys))),
      formatNumber(m.visibleKeys),
      bytesText(mean(m.nodes.map((n) => n.files.sqliteBytes))),
      bytesText(mean(m.nodes.map((n) => n.files.usedBytes))),
      empty === undefined ? '' : formatRatio(filesRatio(p, empty)),
      bytesText(mean(m.nodes.map((n) => n.files.savedIndexBytes))),
      formatNumber(mean(m.nodes.map((n) => n.indexKeys))),
      `${formatNumber(ae.bytes)} / ${ae.messages}`,
      empty === undefined ? '' : formatRatio(antiEntropyRatio(p, empty)),
      formatNumber(ae.ms, 1),
      Object.entries(ae.outcomes).map(([k, v]) => `${v} ${k}`).join(', ') + (ae.extraRounds > 0 ? ` (+${ae.extraRounds})` : ''),
      `${bytesText(m.memory.heapUsedBytes)} / ${bytesText(m.memory.rssBytes)}`,
    ]
  })
  const timing = r.phases.map((p) => [
    p.name,
    p.load === undefined ? (p.waitedMs === undefined ? '' : `waited ${formatNumber(p.waitedMs / 1000)} virtual s`) : `${formatNumber(p.load.ops)} ops`,
    p.load === undefined ? '' : formatNumber(p.load.wallMs / 1000, 1),
    p.load === undefined ? '' : formatNumber(p.load.cpuMs / 1000, 1),
    p.load === undefined ? '' : formatNumber(p.load.opsPerSecond),
    p.load === undefined ? '' : formatNumber(p.load.virtualMs),
    p.load === undefined ? '' : formatNumber(p.load.quorumMissed),
    `${formatNumber(p.convergence.virtualMs / 1000, 1)} s` + (p.convergence.converged ? '' : ` NOT CONVERGED (${p.convergence.reason ?? '?'})`),
    formatNumber(p.wallMs / 1000, 1),
  ])
  const refills = r.phases.flatMap((p) => {
    const x = p.catchUp
    if (x === undefined) return []
    return [
      [
        p.name,
        x.node,
        formatNumber(x.rows),
        formatNumber(x.keysReceived),
        formatNumber(x.bytes),
        empty === undefined ? '' : formatRatio(catchUpRatio(p, empty) ?? NaN),
        formatNumber(x.otherBytes),
        formatNumber(x.rounds),
        formatNumber(x.virtualMs / 1000, 1) + (x.converged ? '' : ` NOT CONVERGED (${x.reason ?? '?'})`),
        formatNumber(x.wallMs / 1000, 1),
      ],
    ]
  })
  const verdict = (v: Verdict): string => `goal: ${v.description}: ${v.pass ? 'PASS' : 'FAIL'} (${v.measured})`
  return [
    `tombstones: ${r.nodes} nodes, n = ${r.nodes}, ${formatNumber(o.keys)} ${o.type === 'counter' ? 'counters' : 'registers'} written then deleted, seed ${o.seed}`,
    `machine: ${describeMachine(report.machine)}`,
    `after:   load ${report.machineAfter?.loadAverage.join(' ') ?? '?'}, peak RSS ${bytesText(r.peakRssBytes)}, ${formatNumber(r.wallMs / 1000, 1)} s in all`,
    '',
    `Per phase, once converged (bytes: mean per node; × empty: the largest node's ratio; AE round: all ${r.nodes * (r.nodes - 1)} exchanges):`,
    formatTable(
      ['phase', 'rows/node', 'visible keys', 'SQLite db+wal', 'used pages', '× empty', 'saved index', 'index keys', 'AE round bytes / msgs', '× empty', 'AE ms', 'outcomes', `heap / RSS${r.phases[0]?.measure.memory.afterGc === true ? ' (after gc)' : ''}`],
      rows,
    ),
    '',
    ...perKeyLines(r.phases, o.keys),
    '',
    formatTable(['phase', 'load', 'wall s', 'CPU s', 'ops/s', 'virtual ms', 'quorum missed', 'converged in', 'phase wall s'], timing),
    '',
    ...(refills.length === 0
      ? []
      : [
          'A node that lost its disk, refilled by anti-entropy until the cluster converged again (after the phase was measured):',
          formatTable(['phase', 'node', 'rows refilled', 'keys merged', 'AE bytes', '× empty', 'other bytes', 'AE rounds', 'virtual s', 'wall s'], refills),
          '',
        ]),
    r.phases.some((p) => p.name === 'purged')
      ? `purge: ${r.purge.implemented ? `found (${r.purge.evidence.join(', ')})` : 'none found in this build'}; counters ${JSON.stringify(r.purge.counters)}`
      : 'purge: not implemented — tombstones stay',
    verdict(r.verdicts.files),
    verdict(r.verdicts.antiEntropy),
    verdict(r.verdicts.catchUp),
    '',
    `reproduce: ${r.command}`,
    '',
    'Notes:',
    ...r.notes.map((n, i) => `  ${i + 1}. ${n}`),
  ].join('\n')
}

/** Bytes each written key and each tombstone costs, from the phases' differences. */
function perKeyLines(phases: readonly Phase[], keys: number): string[] {
  const at = (name: PhaseName): Phase | undefined => phases.find((p) => p.name === name)
  const [empty, written, deleted] = [at('empty'), at('written'), at('deleted')]
  if (empty === undefined || written === undefined || deleted === undefined) return []
  const perKey = (p: Phase, pick: (n: StateMeasure['nodes'][number]) => number): string =>
    formatNumber((mean(p.measure.nodes.map(pick)) - mean(empty.measure.nodes.map(pick))) / keys, 1)
  const stateOf = (p: Phase): string => formatNumber(mean(p.measure.nodes.map((n) => (n.rows.rows === 0 ? 0 : n.rows.stateBytes / n.rows.rows))), 1)
  return [
    `per key, per node: written ${perKey(written, (n) => n.files.sqliteBytes)} B of files (${perKey(written, (n) => n.files.savedIndexBytes)} B saved index), ` +
      `deleted ${perKey(deleted, (n) => n.files.sqliteBytes)} B of files (${perKey(deleted, (n) => n.files.savedIndexBytes)} B saved index)`,
    `mean stored state: ${stateOf(written)} B live, ${stateOf(deleted)} B as a tombstone (rows also hold the key, an 8-byte HLC and a 16-byte digest)`,
  ]
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length
}

function maxOf(p: Phase, pick: (n: StateMeasure['nodes'][number]) => number): number {
  return Math.max(...p.measure.nodes.map(pick))
}

function formatRatio(x: number): string {
  return `${x >= 100 ? formatNumber(x) : x.toFixed(2)}×`
}

function bytesText(bytes: number): string {
  if (bytes >= 2 ** 20) return `${formatNumber(bytes / 2 ** 20, 1)} MiB`
  if (bytes >= 2 ** 10) return `${formatNumber(bytes / 2 ** 10, 1)} KiB`
  return `${formatNumber(bytes)} B`
}
