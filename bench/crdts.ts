// `npm run bench -- crdts [--quick] [--rounds N] [--sample-ms N] [--warmup-ms N] [--seed N] [--out DIR]`
//
// rumordb's crdts/ against delta-crdts (the JS delta-state CRDT library), same process,
// same work, same actor ids and elements:
//   - mutator ops/s: make the delta and merge it into the replica's state;
//   - merges/s of realistic states: counters with 50 writers, OR-sets of 1,000 elements
//     from 5 writers (two diverged replicas, and a one-add delta into a full state), LWW
//     registers;
//   - encoded bytes of those states, theirs through delta-crdts-msgpack-codec.
// It prints ours, theirs and ours/theirs, judges the goals (merges at least 2× theirs,
// encodings no larger), lists what is not like-for-like, and writes the raw numbers to
// <out>/<YYYY-MM-DD>-crdts.json.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { positiveInt } from './lib/args.js'
import {
  buildFixtures,
  checkAgreement,
  encodedSizes,
  mergeCases,
  mutatorCases,
  type CaseGroup,
  type CrdtWorkloadOptions,
  type SizeCase,
  type ThroughputCase,
} from './lib/crdt-workloads.js'
import { PEER_PACKAGES } from './lib/delta-crdts-peer.js'
import { describeMachine, machineInfo, packageVersion } from './lib/machine.js'
import { pairTimingSteps, timePair, type PairTiming } from './lib/paired-timing.js'
import { startProgress } from './lib/progress.js'
import { DEFAULT_RESULTS_DIR, writeReport, type BenchReport } from './lib/report.js'
import { formatNumber, formatTable } from './lib/table.js'
import { benchMain } from './lib/bench-main.js'

/** The issue's goals: merges at least twice delta-crdts' throughput, encodings no larger. */
export const GOALS = { minMergeRatio: 2, maxBytesRatio: 1 } as const

export interface CrdtBenchOptions extends CrdtWorkloadOptions {
  /** Timed samples per side and case; the median is reported. */
  readonly rounds: number
  /** Target milliseconds of one timed sample. */
  readonly sampleMs: number
  /** Untimed milliseconds per side and case before the first sample. */
  readonly warmupMs: number
  readonly outDir: string
  readonly progress: boolean
}

const FULL: CrdtBenchOptions = {
  counterActors: 50,
  setElements: 1_000,
  setActors: 5,
  setDivergence: 100,
  seed: 1,
  rounds: 15,
  sampleMs: 100,
  warmupMs: 500,
  outDir: DEFAULT_RESULTS_DIR,
  progress: process.stderr.isTTY === true,
}

/** Same states (so sizes and per-op costs compare), fewer and shorter samples. */
const QUICK: CrdtBenchOptions = { ...FULL, rounds: 5, sampleMs: 25, warmupMs: 100 }

export interface ThroughputResult extends PairTiming {
  readonly group: CaseGroup
  readonly type: ThroughputCase['type']
  readonly workload: string
  /** Merges only: ratio ≥ GOALS.minMergeRatio. */
  readonly pass?: boolean
}

export interface SizeResult extends SizeCase {
  /** ours ÷ theirs. */
  readonly ratio: number
  readonly pass: boolean
}

export interface CrdtResults {
  readonly versions: { readonly rumordb: string; readonly node: string } & Readonly<Record<string, string>>
  readonly goals: typeof GOALS
  readonly mutators: ThroughputResult[]
  readonly merges: ThroughputResult[]
  readonly sizes: SizeResult[]
  readonly pass: { readonly merges: boolean; readonly sizes: boolean }
  /** What is not like-for-like between the two libraries, with this run's numbers. */
  readonly notes: string[]
}

export type CrdtReport = BenchReport<CrdtBenchOptions, CrdtResults>

export async function main(args: string[]): Promise<void> {
  await benchMain(args, { usage: USAGE, parse: parseOptions, run: runCrdtBenchmark, format: formatReport })
}

const USAGE = `usage: npm run bench -- crdts [--quick] [--rounds N] [--sample-ms N] [--warmup-ms N] [--seed N] [--out DIR]`

export function parseOptions(args: string[]): CrdtBenchOptions {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      quick: { type: 'boolean' },
      rounds: { type: 'string' },
      'sample-ms': { type: 'string' },
      'warmup-ms': { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
    },
  })
  const base = values.quick === true ? QUICK : FULL
  return {
    ...base,
    rounds: positiveInt('--rounds', values.rounds, base.rounds),
    sampleMs: positiveInt('--sample-ms', values['sample-ms'], base.sampleMs),
    warmupMs: positiveInt('--warmup-ms', values['warmup-ms'], base.warmupMs),
    seed: positiveInt('--seed', values.seed, base.seed),
    outDir: values.out ?? base.outDir,
  }
}

/** Builds the fixtures, times every case, writes the report and returns it with its path. */
export async function runCrdtBenchmark(o: CrdtBenchOptions): Promise<{ report: CrdtReport; path: string }> {
  const date = new Date().toISOString()
  const machine = machineInfo([...PEER_PACKAGES, 'msgpack5'])
  const fixtures = buildFixtures(o)
  checkAgreement(fixtures)
  const mutators = timeCases('crdts: mutators', mutatorCases(fixtures), o)
  const merges = timeCases('crdts: merges', mergeCases(fixtures), o)
  // The timed loops must have left their inputs as they were.
  checkAgreement(fixtures)
  const sizes = encodedSizes(fixtures).map((s): SizeResult => {
    const ratio = s.ours / s.theirs
    return { ...s, ratio, pass: ratio <= GOALS.maxBytesRatio }
  })
  const results: CrdtResults = {
    versions: {
      rumordb: ownVersion(),
      node: process.version,
      ...Object.fromEntries(PEER_PACKAGES.map((name) => [name, packageVersion(name)])),
    },
    goals: GOALS,
    mutators,
    merges,
    sizes,
    pass: { merges: merges.every((m) => m.pass === true), sizes: sizes.every((s) => s.pass) },
    notes: fairnessNotes(o, sizes),
  }
  const report: CrdtReport = { benchmark: 'crdts', date, options: o, machine, machineAfter: machineInfo([...PEER_PACKAGES, 'msgpack5']), results }
  return { report, path: writeReport(o.outDir, report) }
}

function timeCases(label: string, cases: readonly ThroughputCase[], o: CrdtBenchOptions): ThroughputResult[] {
  const timing = { rounds: o.rounds, sampleMs: o.sampleMs, warmupMs: o.warmupMs }
  const bar = startProgress(label, cases.length * pairTimingSteps(timing), o.progress)
  let done = 0
  try {
    return cases.map(({ group, type, workload, ours, theirs }): ThroughputResult => {
      const t = timePair(ours, theirs, { ...timing, onStep: () => bar.update(++done) })
      return { group, type, workload, ...t, ...(group === 'merge' ? { pass: t.ratio >= GOALS.minMergeRatio } : {}) }
    })
  } finally {
    bar.stop()
  }
}

function ownVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version?: unknown }
  return String(pkg.version ?? 'unknown')
}

/** The differences a reader needs to weigh the ratios, with this run's numbers in them. */
function fairnessNotes(o: CrdtBenchOptions, sizes: readonly SizeResult[]): string[] {
  const set = sizes.find((s) => s.theirsStrayEntries !== undefined)
  const lww = sizes.find((s) => s.oursActorBytes !== undefined)
  const notes = [
    'delta-crdts counters only increment by 1, so both sides increment by 1. Their PN-counter delta carries ' +
      "the replica's whole other half (inc returns [delta, s[1]]), which their join then walks; ours carries one entry.",
  ]
  if (set !== undefined) {
    const fixed = set.theirsWithoutStray as number
    notes.push(
      'delta-crdts 0.10.3 OR-set remove calls insertDot([actor, counter]) with the dot as one argument: a remove ' +
        'delta alone does not remove the element on another replica (the full states merged here do), and every ' +
        `removed dot leaves a stray causal-context entry. The merged set holds ${set.theirsStrayEntries} of them; ` +
        `without them their encoding would be ${formatNumber(fixed)} bytes (ours/theirs ${(set.ours / fixed).toFixed(2)}×). ` +
        'Their OR-set mutator samples accumulate up to one per remove as well.',
    )
  }
  const delta = sizes.find((s) => s.theirsAddReturn !== undefined)
  if (delta !== undefined) {
    notes.push(
      "delta-crdts' OR-set add() returns s.join(s.removeValue(v), s.add(id, v)), a join into the replica's whole state, " +
        `so the "delta" it hands out is the full state (${formatNumber(delta.theirsAddReturn as number)} bytes here). The delta rows ` +
        'use the one-dot delta their DotSet.add builds instead (their best case); their mutator rows pay for the full one.',
    )
  }
  notes.push('OR-set elements are strings on both sides: delta-crdts compares strings by identity (objects by hash-it), ours keys elements by canonical JSON.')
  if (lww !== undefined) {
    const without = lww.ours - (lww.oursActorBytes as number)
    notes.push(
      "LWW: theirs stores [timestamp number, value] and breaks timestamp ties by comparing values; ours stores an 8-byte " +
        `HLC timestamp and the writer's actor id (${lww.oursActorBytes} bytes here) so ties never depend on the value. ` +
        `Without the actor id ours would be ${without} bytes (ours/theirs ${(without / lww.theirs).toFixed(2)}×). ` +
        'Mutator loop: ours takes each timestamp from a HybridLogicalClock over Date.now, theirs from Date.now.',
    )
  }
  notes.push(
    `Encodings: ours start with a type tag and a version byte; theirs carry no type. States: ${o.counterActors}-actor counters, ` +
      `a ${formatNumber(o.setElements)}-element set from ${o.setActors} writers with ${o.setDivergence} removes and ${o.setDivergence} adds per diverged replica, seed ${o.seed}.`,
  )
  return notes
}

export function formatReport(report: CrdtReport): string {
  const { options: o, results: r } = report
  const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL')
  const times = (x: number): string => `${x.toFixed(2)}×`
  const rate = (t: ThroughputResult, goal: string): string[] => [
    t.type,
    t.workload,
    formatNumber(t.ours.opsPerSecond.p50),
    formatNumber(t.theirs.opsPerSecond.p50),
    times(t.ratio),
    `${times(t.roundRatios.min)}–${times(t.roundRatios.max)}`,
    t.pass === undefined ? goal : `${verdict(t.pass)} (≥ ${times(GOALS.minMergeRatio)})`,
  ]
  const header = ['type', 'workload', 'ours', 'theirs', 'ours/theirs', 'per-round range', 'goal']
  const sizeRows = r.sizes.map((s) => [
    s.type,
    s.workload,
    formatNumber(s.ours),
    formatNumber(s.theirs),
    times(s.ratio),
    `${verdict(s.pass)} (≤ ${times(GOALS.maxBytesRatio)})`,
  ])
  const failedSizes = r.sizes.filter((s) => !s.pass).map((s) => `${s.type} ${s.workload}`)
  const failedMerges = r.merges.filter((m) => m.pass !== true).map((m) => `${m.type} ${m.workload}`)
  const versions = r.versions
  return [
    `crdts: rumordb ${versions.rumordb} vs delta-crdts ${versions['delta-crdts']} (codec delta-crdts-msgpack-codec ` +
      `${versions['delta-crdts-msgpack-codec']}), median of ${o.rounds} interleaved rounds of ~${o.sampleMs} ms per side, ` +
      `${o.warmupMs} ms warm-up`,
    `machine: ${describeMachine(report.machine)}`,
    `after:   load ${report.machineAfter?.loadAverage.join(' ') ?? '?'}`,
    '',
    'Mutator ops/s (make the delta, merge it into the replica state)',
    formatTable(header, r.mutators.map((t) => rate(t, '-'))),
    '',
    'Merges/s',
    formatTable(header, r.merges.map((t) => rate(t, ''))),
    '',
    'Encoded bytes (theirs: delta-crdts-msgpack-codec)',
    formatTable(['type', 'workload', 'ours', 'theirs', 'ours/theirs', 'goal'], sizeRows),
    '',
    `goal: merges ≥ ${times(GOALS.minMergeRatio)} theirs: ${verdict(r.pass.merges)}` +
      (failedMerges.length > 0 ? ` (below: ${failedMerges.join('; ')})` : ` (${r.merges.length}/${r.merges.length})`),
    `goal: encodings no larger than theirs: ${verdict(r.pass.sizes)}` +
      (failedSizes.length > 0 ? ` (larger: ${failedSizes.join('; ')})` : ` (${r.sizes.length}/${r.sizes.length})`),
    '',
    'Not like-for-like:',
    ...r.notes.map((n, i) => `  ${i + 1}. ${n}`),
  ].join('\n')
}
