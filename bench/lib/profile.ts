// CPU profiles of one measured window (not the whole process, whose warm-up and set-up
// would drown the phase of interest), written as .cpuprofile files that Chrome DevTools
// and VS Code open, plus a self-time summary to print.
import { writeFileSync } from 'node:fs'
import { Session, type Profiler } from 'node:inspector'

export interface ProfileEntry {
  /** `function file:line`. */
  readonly name: string
  readonly selfMs: number
  readonly share: number
}

/** Profiles `fn`, writes the profile to `path` and returns fn's result with the profile. */
export async function withCpuProfile<T>(path: string, fn: () => Promise<T>): Promise<{ result: T; profile: Profiler.Profile }> {
  const session = new Session()
  session.connect()
  const post = <R>(method: string, params?: object): Promise<R> =>
    new Promise((resolve, reject) => {
      session.post(method, params ?? {}, (err, res) => (err === null ? resolve(res as R) : reject(err)))
    })
  try {
    await post('Profiler.enable')
    await post('Profiler.setSamplingInterval', { interval: SAMPLING_INTERVAL_US })
    await post('Profiler.start')
    const result = await fn()
    const { profile } = await post<{ profile: Profiler.Profile }>('Profiler.stop')
    writeFileSync(path, JSON.stringify(profile))
    return { result, profile }
  } finally {
    session.disconnect()
  }
}

/** Profiler sampling interval (µs) used by withCpuProfile. */
const SAMPLING_INTERVAL_US = 100
/**
 * A gap between samples longer than this means the thread was not running (preempted by
 * the OS on a shared machine): it is booked as NOT_SAMPLED instead of to the next sample.
 */
const MAX_SAMPLE_GAP_US = 10 * SAMPLING_INTERVAL_US
export const NOT_SAMPLED = '(no samples: thread not scheduled)'

/** The `limit` functions with the most self time over all `profiles`, by name, file and line. */
export function topSelfTime(profiles: readonly Profiler.Profile[], limit = 20): ProfileEntry[] {
  const self = new Map<string, number>()
  let total = 0
  for (const profile of profiles) total += addSelfTimes(profile, self)
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, us]) => ({ name, selfMs: us / 1000, share: total > 0 ? us / total : 0 }))
}

/** Adds each function's self time (µs) in `profile` to `self`; returns the profile's duration. */
function addSelfTimes(profile: Profiler.Profile, self: Map<string, number>): number {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  let total = 0
  const samples = profile.samples ?? []
  const deltas = profile.timeDeltas ?? []
  for (let i = 0; i < samples.length; i++) {
    const node = nodes.get(samples[i] as number)
    const delta = deltas[i] ?? 0
    const us = Math.min(delta, MAX_SAMPLE_GAP_US)
    if (delta > us) self.set(NOT_SAMPLED, (self.get(NOT_SAMPLED) ?? 0) + delta - us)
    total += delta
    if (node === undefined) continue
    const f = node.callFrame
    const file = f.url.replace(/^file:\/\//, '').replace(/^.*?\/(src|crdts|bench|node_modules)\//, '$1/')
    const where = file === '' ? (f.functionName.startsWith('(') ? '' : '[native]') : `${file}:${f.lineNumber + 1}`
    const name = `${f.functionName || '(anonymous)'} ${where}`.trimEnd()
    self.set(name, (self.get(name) ?? 0) + us)
  }
  return total
}
