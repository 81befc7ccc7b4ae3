// Messages between the harness and a node process (node-child.ts), over Node's IPC
// channel. Requests carry a sequence number that their reply repeats; progress reports
// are pushed by the node while it watches a workload's keys.
import type { NodeInfo } from './drivers/node-driver.js'
import type { ViewProgress } from './node-view.js'

export type ParentMessage =
  | { readonly type: 'start'; readonly seq: number; readonly system: string; readonly index: number; readonly nodes: number; readonly dir: string; readonly earlier: readonly NodeInfo[]; readonly settings: Readonly<Record<string, string>> }
  /** Resolves once the node sees as many peers as its system's readyWhen asks. */
  | { readonly type: 'await-ready'; readonly seq: number; readonly timeoutMs: number }
  /** Watch these keys (replacing any earlier watch) and push progress at most every pollMs; also marks the byte counter. */
  | { readonly type: 'watch'; readonly seq: number; readonly prefix: string; readonly keys: readonly string[]; readonly expected: readonly number[] | null; readonly pollMs: number }
  /** Applies the writes in order, at most `inFlight` awaited at once (1: each awaited before the next is issued); 'increment' adds each value to a counter. */
  | { readonly type: 'write'; readonly seq: number; readonly op: 'set' | 'increment'; readonly writes: readonly (readonly [string, number])[]; readonly inFlight: number }
  /** Creates these counters at 0 where the system needs that before concurrent increments (answers whether it did). */
  | { readonly type: 'create-counters'; readonly seq: number; readonly keys: readonly string[] }
  /** Drops every message to and from these nodes until heal (a cut is every node blocking the other side). */
  | { readonly type: 'cut'; readonly seq: number; readonly blocked: readonly NodeInfo[] }
  | { readonly type: 'heal'; readonly seq: number }
  /** The watched keys' change times, a fresh local read of their values, bytes since the watch began, peak RSS. */
  | { readonly type: 'collect'; readonly seq: number }
  /** Starts a CPU profile of this process (inspector, 100 µs samples), or stops it and writes it to `path`. */
  | { readonly type: 'profile'; readonly seq: number; readonly action: 'start' | 'stop'; readonly path?: string }
  | { readonly type: 'stop'; readonly seq: number }

export type ChildMessage =
  | { readonly type: 'loaded' }
  | { readonly type: 'started'; readonly seq: number; readonly info: NodeInfo }
  | { readonly type: 'ready'; readonly seq: number; readonly peers: number }
  | { readonly type: 'watching'; readonly seq: number }
  /** `watch`: the seq of the watch request it reports on. */
  | { readonly type: 'progress'; readonly watch: number; readonly progress: ViewProgress; readonly sentAt: number }
  /** issuedAt[j]: when write j was handed to the system (epoch ms); doneAt: when the last had applied. */
  | { readonly type: 'written'; readonly seq: number; readonly issuedAt: readonly number[]; readonly doneAt: number }
  | { readonly type: 'counters-created'; readonly seq: number; readonly created: boolean }
  /** at: when this node's links were cut or healed (epoch ms). */
  | { readonly type: 'cut-done'; readonly seq: number; readonly at: number }
  | { readonly type: 'healed'; readonly seq: number; readonly at: number }
  | {
      readonly type: 'collected'
      readonly seq: number
      readonly changedAt: readonly (number | null)[]
      /** Each watched key's value in a fresh local read (null where the read has no value). */
      readonly values: readonly unknown[]
      readonly bytesSent: number
      /** CPU time (user + system) this process used since the watch began (ms). */
      readonly cpuMs: number
      /** Of cpuMs, the time in the kernel (system calls: sockets, disk). */
      readonly cpuSystemMs: number
      readonly peakRssBytes: number
    }
  | { readonly type: 'profiled'; readonly seq: number }
  | { readonly type: 'stopped'; readonly seq: number }
  | { readonly type: 'failed'; readonly seq: number; readonly message: string }

export type ChildReply = Exclude<ChildMessage, { type: 'loaded' } | { type: 'progress' }>

export function isChildMessage(m: unknown): m is ChildMessage {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string'
}

export function isReply(m: ChildMessage): m is ChildReply {
  return m.type !== 'loaded' && m.type !== 'progress'
}

/** Wall-clock time with sub-millisecond resolution, comparable between processes on one machine. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now()
}
