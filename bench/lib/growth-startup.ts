// Start-up of a stored database (bench/storage-growth.ts): how long `openDatabase` takes,
// local and networked; for a networked node, how long until its anti-entropy index is
// whole (the sync status stops saying 'building the anti-entropy index'); the longest
// event-loop stall meanwhile (a node answers /healthz only between stalls); and the
// memory the open database holds per key. Each open runs in a fresh child process
// (measureStartupInChild), so its memory is that of a node that just started, not of a
// benchmark that has been filling stores for minutes.
import { spawn } from 'node:child_process'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { openDatabase, type Database } from '../../src/index.js'
import type { SynchronousMode } from '../../src/store/sqlite-open.js'
import { LoneTransport } from './lone-transport.js'
import { topSelfTime, withCpuProfile, type ProfileEntry } from './profile.js'

/**
 * 'networked': the first networked open after local use, which builds the anti-entropy
 * index from the store; 'restart': a networked open after a clean networked close, which
 * loads the index that close saved (src/cluster/anti-entropy/index-snapshot.ts).
 */
export type OpenMode = 'local' | 'networked' | 'restart'

/** What the sync status says while the index is built (src/cluster/engine.ts). */
export const INDEXING_PREFIX = 'building the anti-entropy index'
const INDEX_FAILED_PREFIX = 'the anti-entropy index could not be built'
/** monitorEventLoopDelay's sampling interval: a stall reads up to this much longer than it was. */
export const STALL_RESOLUTION_MS = 5
const CHILD = fileURLToPath(new URL('./growth-startup-child.ts', import.meta.url))
const REPO_ROOT = resolve(dirname(CHILD), '../..')
const PEER_ID = 'growth-bench-node'

export interface StartupOptions {
  readonly dataDir: string
  readonly mode: OpenMode
  readonly synchronous: SynchronousMode
  /** Interval between readiness checks (db.syncStatus()). */
  readonly pollMs: number
  /** Gives up (rejects) when the index is not whole by then. */
  readonly timeoutMs: number
  /** When set, the open runs under the CPU profiler and the .cpuprofile is written here. */
  readonly profilePath?: string
}

export interface MemoryReading {
  readonly rss: number
  readonly heapUsed: number
  readonly external: number
  readonly arrayBuffers: number
}

export interface StartupResult {
  readonly mode: OpenMode
  /** Keys the opened database holds. */
  readonly keys: number
  /** From calling openDatabase until it resolved. */
  readonly openMs: number
  /** From calling openDatabase until the anti-entropy index was whole (local: = openMs, there is none). */
  readonly readyMs: number
  /** This process's CPU time (all threads) over readyMs: far less means other processes had the cores. */
  readonly readyCpuMs: number
  /** Readiness checks made. */
  readonly polls: number
  /**
   * The longest time between two readiness checks beyond the poll interval (networked;
   * 0 for local opens), and the sync status reason the later check read: where in the
   * index build the longest stall after open fell. `cpuMs`: this process's CPU time in that
   * gap; much less than `ms` means the OS ran other processes meanwhile.
   */
  readonly longestPollGap: PollGap
  /** The longest event-loop delay from the call until ready (monitorEventLoopDelay max, resolution STALL_RESOLUTION_MS). */
  readonly maxStallMs: number
  /**
   * The longest event-loop delay from openDatabase resolving until ready: what a node's
   * clients see (`rumordb start` listens for HTTP only once openDatabase resolved).
   */
  readonly maxStallAfterOpenMs: number
  /** Whether gc() ran before each memory reading (the child runs with --expose-gc). */
  readonly gc: boolean
  /** Before openDatabase, and once ready (the database still open). */
  readonly before: MemoryReading
  readonly after: MemoryReading
  /** The process's peak RSS by the time it was ready. */
  readonly peakRssBytes: number
  /** (after - before) / keys. */
  readonly rssPerKey: number
  readonly heapPerKey: number
  /** With a profile path: the functions with the most self time from the call until ready. */
  readonly profile?: ProfileEntry[]
}

/** Opens the database in this process, waits until it is ready, measures, closes it. */
export async function measureStartup(o: StartupOptions): Promise<StartupResult> {
  const before = readMemory()
  const delay = monitorEventLoopDelay({ resolution: STALL_RESOLUTION_MS })
  const afterOpen = monitorEventLoopDelay({ resolution: STALL_RESOLUTION_MS })
  const opened: { db?: Database; openMs?: number; polls?: Polls } = {}
  let started = 0
  let startedCpu = process.cpuUsage()
  const open = async (): Promise<void> => {
    started = performance.now()
    startedCpu = process.cpuUsage()
    const transport = o.mode !== 'local' ? { transport: new LoneTransport(PEER_ID) } : {}
    opened.db = await openDatabase({ dataDir: o.dataDir, synchronous: o.synchronous, ...transport })
    opened.openMs = performance.now() - started
    afterOpen.enable()
    opened.polls = o.mode !== 'local' ? await untilIndexed(opened.db, started, o) : { polls: 0, longestGap: { ms: 0, cpuMs: 0, reason: '' } }
  }
  delay.enable()
  try {
    // The monitor records nothing until its timer has fired once: a stall right after
    // enable() (SQLite's open is synchronous) would go unseen.
    await sleep(4 * STALL_RESOLUTION_MS)
    let profile: ProfileEntry[] | undefined
    if (o.profilePath === undefined) {
      await open()
    } else {
      profile = topSelfTime([(await withCpuProfile(o.profilePath, open)).profile], 15)
    }
    const readyMs = performance.now() - started
    const readyCpuMs = cpuMsBetween(startedCpu, process.cpuUsage())
    // A stall that lasted until now is recorded when the monitor's next timer fires.
    await sleep(2 * STALL_RESOLUTION_MS)
    delay.disable()
    afterOpen.disable()
    const after = readMemory()
    const keys = (opened.db as Database).status().keys
    const perKey = (pick: (m: MemoryReading) => number): number => (keys === 0 ? 0 : (pick(after) - pick(before)) / keys)
    return {
      mode: o.mode,
      keys,
      openMs: opened.openMs as number,
      readyMs,
      readyCpuMs,
      polls: (opened.polls as Polls).polls,
      longestPollGap: (opened.polls as Polls).longestGap,
      maxStallMs: delay.max / 1e6,
      maxStallAfterOpenMs: afterOpen.max / 1e6,
      gc: gcFunction() !== undefined,
      before,
      after,
      peakRssBytes: process.resourceUsage().maxRSS * 1024,
      rssPerKey: perKey((m) => m.rss),
      heapPerKey: perKey((m) => m.heapUsed),
      ...(profile === undefined ? {} : { profile }),
    }
  } finally {
    delay.disable()
    afterOpen.disable()
    await opened.db?.close()
  }
}

export interface PollGap {
  readonly ms: number
  readonly cpuMs: number
  readonly reason: string
}

interface Polls {
  readonly polls: number
  readonly longestGap: PollGap
}

/** Polls the sync status until the index is whole. */
async function untilIndexed(db: Database, started: number, o: StartupOptions): Promise<Polls> {
  let longestGap: PollGap = { ms: 0, cpuMs: 0, reason: '' }
  let previous: { at: number; cpu: NodeJS.CpuUsage } | undefined
  for (let polls = 1; ; polls++) {
    const now = { at: performance.now(), cpu: process.cpuUsage() }
    const reason = db.syncStatus().reason ?? ''
    const gap = previous === undefined ? 0 : now.at - previous.at - o.pollMs
    if (previous !== undefined && gap > longestGap.ms) longestGap = { ms: gap, cpuMs: cpuMsBetween(previous.cpu, now.cpu), reason }
    previous = now
    if (reason.startsWith(INDEX_FAILED_PREFIX)) throw new Error(`${o.dataDir}: ${reason}`)
    if (!reason.startsWith(INDEXING_PREFIX)) return { polls, longestGap }
    if (now.at - started > o.timeoutMs) throw new Error(`${o.dataDir}: index not built within ${o.timeoutMs} ms (${reason})`)
    await sleep(o.pollMs)
  }
}

function cpuMsBetween(a: NodeJS.CpuUsage, b: NodeJS.CpuUsage): number {
  return (b.user + b.system - a.user - a.system) / 1000
}

function gcFunction(): (() => void) | undefined {
  const gc = (globalThis as { gc?: unknown }).gc
  return typeof gc === 'function' ? (gc as () => void) : undefined
}

/** process.memoryUsage() after a full collection, when gc is exposed. */
function readMemory(): MemoryReading {
  const gc = gcFunction()
  gc?.()
  gc?.()
  const { rss, heapUsed, external, arrayBuffers } = process.memoryUsage()
  return { rss, heapUsed, external, arrayBuffers }
}

/** measureStartup in a fresh Node (with --expose-gc), which prints its result as one JSON line. */
export function measureStartupInChild(o: StartupOptions): Promise<StartupResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--expose-gc', CHILD, JSON.stringify(o)], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4_000)))
    child.once('error', reject)
    child.once('exit', (code, signal) => {
      const line = stdout.trim().split('\n').pop() ?? ''
      if (code !== 0) {
        reject(new Error(`start-up child (${o.mode}, ${o.dataDir}) exited with ${code ?? signal}: ${stderr.trim()}`))
        return
      }
      try {
        resolvePromise(JSON.parse(line) as StartupResult)
      } catch {
        reject(new Error(`start-up child (${o.mode}, ${o.dataDir}) printed no result: ${stdout.slice(-500)} ${stderr.trim()}`))
      }
    })
  })
}
