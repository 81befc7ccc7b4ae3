// Results of the peer systems' run (`npm run bench:peers`, or this benchmark's
// --with-peers, which writes the same file), read so the cluster report and plots can put
// them beside rumordb's. Each row names a system, a
// cluster size and a burst size; its times are per trial (`trials[].outcome.convergeMs`)
// or a plain `convergeMs: number[]`; a failed row (status 'failed' or convergeMs null)
// has no times. Read leniently, wherever the rows sit in the file, because that file's
// shape is its own.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { basename, join } from 'node:path'

export interface PeerResult {
  readonly system: string
  readonly nodes: number
  readonly writes: number
  /** Distinct keys the writes cycle over, where the file says. */
  readonly keys?: number
  /** First write → converged per run, ms; null when the system did not converge (FAILED). */
  readonly convergeMs: readonly number[] | null
  /** Bytes per node per run (the peer benchmark: TCP bytes all peers wrote ÷ nodes), where measured. */
  readonly bytesPerNode?: number
}

export interface PeerResults {
  readonly file: string
  /** When the peers ran: the file's `date` (ISO), else the date in its name; null when neither says. */
  readonly date: string | null
  /**
   * True when the peers ran in this very run (--with-peers), under the same load and build
   * as rumordb's runs; false for numbers read from an earlier run's file, which are shown
   * but not judged against the goal.
   */
  readonly ranInThisRun: boolean
  readonly entries: readonly PeerResult[]
}

/** The newest `<date>-peers.json` in `dir`, or `file` when given; null when there is none. */
export function loadPeerResults(dir: string, file?: string): PeerResults | null {
  const path = file ?? newestPeersFile(dir)
  if (path === undefined || !existsSync(path)) return null
  return readPeerResults(path, false)
}

/** The peer results in `path`; `ranInThisRun` says whether this run wrote them. */
export function readPeerResults(path: string, ranInThisRun: boolean): PeerResults {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown
  const date = (parsed as { date?: unknown } | null)?.date
  const named = /^(\d{4}-\d{2}-\d{2})-/.exec(basename(path))?.[1]
  return { file: path, date: typeof date === 'string' ? date : (named ?? null), ranInThisRun, entries: findEntries(parsed) }
}

function newestPeersFile(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}-\d{2}-\d{2}-peers\.json$/.test(f))
    .sort()
  const last = files[files.length - 1]
  return last === undefined ? undefined : join(dir, last)
}

/** Every object in the tree that looks like a peer result, depth-first (bounded depth). */
export function findEntries(value: unknown, depth = 0): PeerResult[] {
  if (depth > 4 || value === null || typeof value !== 'object') return []
  if (Array.isArray(value)) return value.flatMap((v) => findEntries(v, depth + 1))
  const entry = asPeerResult(value as Record<string, unknown>)
  if (entry !== null) return [entry]
  return Object.values(value).flatMap((v) => findEntries(v, depth + 1))
}

function asPeerResult(o: Record<string, unknown>): PeerResult | null {
  const { system, nodes, writes } = o
  if (typeof system !== 'string' || typeof nodes !== 'number' || typeof writes !== 'number') return null
  const times = o.status === 'failed' ? null : timesOf(o)
  if (times === undefined) return null
  const bytes = typeof o.bytesPerNode === 'number' ? o.bytesPerNode : medianOf(o.bytesSent, nodes)
  return {
    system,
    nodes,
    writes,
    ...(typeof o.keys === 'number' ? { keys: o.keys } : {}),
    convergeMs: times,
    ...(bytes === undefined ? {} : { bytesPerNode: bytes }),
  }
}

/** Per-run times: `convergeMs` as an array, or the successful trials' outcomes; undefined when neither is there. */
function timesOf(o: Record<string, unknown>): number[] | null | undefined {
  const { convergeMs, trials } = o
  if (convergeMs === null) return null
  if (Array.isArray(convergeMs)) return convergeMs.every((v) => typeof v === 'number') ? (convergeMs as number[]) : undefined
  if (!Array.isArray(trials)) return undefined
  const times: number[] = []
  for (const t of trials as { outcome?: { ok?: unknown; convergeMs?: unknown } }[]) {
    if (t?.outcome?.ok !== true) return null // a row with a failed trial has no time
    if (typeof t.outcome.convergeMs === 'number') times.push(t.outcome.convergeMs)
  }
  return times.length === 0 ? null : times
}

/** A bytes summary's median ÷ nodes (the peer benchmark sums all peers' sockets). */
function medianOf(summary: unknown, nodes: number): number | undefined {
  const p50 = (summary as { p50?: unknown } | null)?.p50
  return typeof p50 === 'number' && nodes > 0 ? p50 / nodes : undefined
}
