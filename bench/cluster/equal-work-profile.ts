// Where a node's CPU goes, from a .cpuprofile of one workload: self time by category
// (transport, store, codec, …), each sample booked to the category of its innermost frame
// that has a URL (native frames to their nearest JavaScript caller). Gaps between samples longer than a
// millisecond (the profiler samples every 100 µs) are booked apart: on a busy machine the
// thread was not running then, and the shares are of the time it was. Pure.
import type { Profiler } from 'node:inspector'

export interface ProfileCategory {
  readonly category: string
  readonly ms: number
  /** Of the sampled busy time (idle and gaps left out). */
  readonly share: number
}

export interface ProfileBreakdown {
  readonly windowMs: number
  readonly busyMs: number
  readonly idleMs: number
  /** Time between samples more than GAP_US apart: the thread was not scheduled. */
  readonly gapMs: number
  readonly categories: readonly ProfileCategory[]
}

const GAP_US = 1_000

/** rumordb's own files (packages have src/ and dist/src/ folders too). */
const own = (url: string, folder: RegExp): boolean => !url.includes('/node_modules/') && folder.test(url)

/** Ordered: the first rule that matches a frame's URL names its category. */
const RULES: readonly (readonly [string, (url: string) => boolean])[] = [
  ['harness (bench/)', (url) => own(url, /\/bench\//)],
  ['SQLite store (src/store, better-sqlite3)', (url) => own(url, /\/src\/store\//) || url.includes('better-sqlite3')],
  ['anti-entropy (index, exchange)', (url) => own(url, /\/src\/cluster\/anti-entropy\//)],
  ['wire codec (src/wire, protons)', (url) => own(url, /\/src\/wire\//) || url.includes('protons-runtime')],
  ['crdts (encode, decode, merge)', (url) => own(url, /\/crdts\//)],
  ['coordinator, messaging, engine', (url) => own(url, /\/src\/cluster\/(coordinator|messaging)\/|\/src\/cluster\/(engine|request-router)\.ts/)],
  ['membership, ring, handoff, other cluster', (url) => own(url, /\/src\/cluster\//)],
  ['replica, database, subscriptions', (url) => own(url, /\/src\/(replica|database)\//)],
  ['other src/', (url) => own(url, /\/src\//)],
  ['gossipsub', (url) => url.includes('gossipsub')],
  [
    'libp2p transport (noise, yamux, streams, node/libp2p)',
    (url) => own(url, /\/node\/libp2p\//) || /libp2p|yamux|noise|chacha|\/it-|uint8arraylist|race-signal|multiformats|wasm:/.test(url),
  ],
  ['harness: IPC to the harness', (url) => url.startsWith('node:internal/child_process')],
  ['Node.js crypto (hashes, random bytes, signatures)', (url) => url.startsWith('node:internal/crypto') || url === 'node:crypto'],
  ['Node.js sockets and streams', (url) => /node:internal\/(streams|net|stream_base|js_stream)|^node:(net|stream|buffer)$/.test(url)],
  ['Node.js events, timers, AbortSignals', (url) => /node:internal\/(event_target|abort_controller|timers|process\/task_queues)|^node:(events|timers)$/.test(url)],
]

/** The category of a sample whose frames, innermost first, are `frames`; null when no frame names one. */
export function categoryOf(frames: readonly { readonly url: string; readonly functionName: string }[]): string | null {
  // Reads of the local state that the benchmark's driver makes count as the harness's, whatever they call.
  if (frames.some((f) => f.url.includes('/bench/peers/equal-work/') && (f.functionName === 'readKey' || f.functionName === 'readLocal'))) return 'harness: local reads'
  for (const f of frames) {
    if (f.url === '') continue
    for (const [name, test] of RULES) if (test(f.url)) return name
    return `other: ${f.url.replace(/.*node_modules\//, '').split('/')[0]}`
  }
  return null
}

export function profileBreakdown(profile: Profiler.Profile): ProfileBreakdown {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const memo = new Map<number, string>()
  const totals = new Map<string, number>()
  let busy = 0
  let idle = 0
  let gaps = 0
  const deltas = profile.timeDeltas ?? []
  profile.samples?.forEach((id, i) => {
    const us = deltas[i] ?? 0
    if (us > GAP_US) {
      gaps += us
      return
    }
    const name = byId.get(id)?.callFrame.functionName
    if (name === '(idle)' || name === '(program)') {
      idle += us
      return
    }
    let category = memo.get(id)
    if (category === undefined) {
      if (name === '(garbage collector)') category = 'garbage collector'
      else {
        const frames: { url: string; functionName: string }[] = []
        for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
          const f = byId.get(cur)?.callFrame
          if (f !== undefined) frames.push({ url: f.url, functionName: f.functionName })
        }
        category = categoryOf(frames) ?? 'native, no JavaScript caller'
      }
      memo.set(id, category)
    }
    busy += us
    totals.set(category, (totals.get(category) ?? 0) + us)
  })
  const categories = [...totals]
    .map(([category, us]) => ({ category, ms: us / 1000, share: busy === 0 ? 0 : us / busy }))
    .sort((a, b) => b.ms - a.ms)
  return { windowMs: (profile.endTime - profile.startTime) / 1000, busyMs: busy / 1000, idleMs: idle / 1000, gapMs: gaps / 1000, categories }
}
