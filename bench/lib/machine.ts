// What a benchmark ran on, recorded beside its numbers: results from different machines
// or loads are not comparable, and the report has to say so.
import { createRequire } from 'node:module'
import os from 'node:os'

export interface MachineInfo {
  readonly cpuModel: string
  /** Cores this process may use. */
  readonly cores: number
  readonly memoryBytes: number
  readonly freeMemoryBytes: number
  /** 1, 5 and 15 minute load averages when the info was taken (other jobs share the machine). */
  readonly loadAverage: readonly number[]
  readonly platform: string
  readonly arch: string
  readonly osRelease: string
  readonly node: string
  /** Installed version of each package asked for ('unknown' when it cannot be found). */
  readonly packages: Readonly<Record<string, string>>
}

const require = createRequire(import.meta.url)

export function machineInfo(packages: readonly string[] = []): MachineInfo {
  const cpus = os.cpus()
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    freeMemoryBytes: os.freemem(),
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    platform: os.platform(),
    arch: os.arch(),
    osRelease: os.release(),
    node: process.version,
    packages: Object.fromEntries(packages.map((name) => [name, packageVersion(name)])),
  }
}

export function packageVersion(name: string): string {
  try {
    return String((require(`${name}/package.json`) as { version?: unknown }).version ?? 'unknown')
  } catch {
    return 'unknown'
  }
}

/** One line for the top of a printed report. */
export function describeMachine(m: MachineInfo): string {
  const gib = (m.memoryBytes / 2 ** 30).toFixed(1)
  return `${m.cpuModel}, ${m.cores} cores, ${gib} GiB, node ${m.node}, load ${m.loadAverage.join(' ')}`
}
