// Results files: every benchmark writes `<out>/<YYYY-MM-DD>-<name>.json` with its options,
// the machine it ran on and its raw numbers, so runs can be compared later.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { MachineInfo } from './machine.js'

/** bench/results of this repository, whatever the working directory. */
export const DEFAULT_RESULTS_DIR = fileURLToPath(new URL('../results', import.meta.url))

export interface BenchReport<Options, Results> {
  readonly benchmark: string
  /** ISO 8601 time the run started. */
  readonly date: string
  readonly options: Options
  readonly machine: MachineInfo
  /** Machine info taken again at the end: a load that changed during the run shows here. */
  readonly machineAfter?: MachineInfo
  readonly results: Results
}

/** Writes the report (creating `outDir`) and returns the file's absolute path. */
export function writeReport<O, R>(outDir: string, report: BenchReport<O, R>): string {
  const dir = resolve(outDir)
  mkdirSync(dir, { recursive: true })
  const path = join(dir, reportFileName(report.benchmark, report.date))
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`)
  return path
}

/** `<YYYY-MM-DD>-<name>.json`, the day taken from the ISO date (UTC). */
export function reportFileName(benchmark: string, isoDate: string): string {
  return `${isoDate.slice(0, 10)}-${benchmark}.json`
}
