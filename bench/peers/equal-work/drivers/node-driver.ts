// The one interface every system implements for the equal-work comparison, rumordb
// included: one node, in its own process. The harness starts node 0, then each other node
// with what the nodes before it published (addresses, a document or database address),
// waits until each sees its peers, and drives writes into node 0 (or every node) the same
// way for every system: in-process, through the system's own embedded API, each write
// awaited until this node has applied it.

/** What a node publishes for the nodes started after it (JSON: it crosses processes). */
export type NodeInfo = Readonly<Record<string, string>>

export interface NodeStartContext {
  readonly index: number
  readonly nodes: number
  /** This node's own folder (its files only). */
  readonly dir: string
  /** What nodes 0 … index − 1 published, in order. */
  readonly earlier: readonly NodeInfo[]
  /** Per-system settings given on the command line (e.g. rumordb's write quorum). */
  readonly settings: Readonly<Record<string, string>>
}

/** A change to this node's local state: keys with their new local values, or null for "something changed, read me". */
export type ChangeListener = (changes: Iterable<readonly [string, unknown]> | null) => void

export interface NodeDriver {
  /** What the nodes started after this one need to reach it. */
  readonly info: NodeInfo
  /** Peers this node is connected to in the system's own terms (ready when ≥ what `readyWhen` says). */
  connectedPeers(): number | Promise<number>
  /** Writes key → value here and resolves once this node has applied it locally. */
  write(key: string, value: number): Promise<void>
  /** Calls `listener` whenever this node's local state changes (its own writes included). */
  onChange(listener: ChangeListener): void
  /** Reads every key under `prefix` from this node's local state (no network). */
  readLocal(prefix: string): Promise<Map<string, unknown>>
  /** Stops the node and closes everything it opened. Idempotent. */
  stop(): Promise<void>
  /** The counter workload's counters, in the system's own terms; absent where the system has none here. */
  readonly counters?: CounterAbility
  /** Cuts and heals this node's links at the system's network boundary; absent where not built. */
  readonly links?: LinkCutter
}

/** A field node `info` published, or an error naming what is missing. */
export function published(info: NodeInfo, field: string): string {
  const value = info[field]
  if (value === undefined) throw new RangeError(`a node published no ${field} (it published ${JSON.stringify(info)})`)
  return value
}

export interface CounterAbility {
  /**
   * Adds `delta` (a negative delta subtracts) to the counter `key` here and resolves once
   * this node has applied it; readLocal and onChange then give the counter as its total.
   */
  increment(key: string, delta: number): Promise<void>
  /**
   * Creates the counters at 0 on this node, before any node adds to them, where concurrent
   * first increments would conflict (Automerge: two nodes each putting a new Counter at
   * one key keep only one of them). Absent where a counter needs no creating.
   */
  create?(keys: readonly string[]): Promise<void>
}

/**
 * A partition as each system's network boundary sees it: every message to and from the
 * blocked nodes is dropped, not queued, until heal(); the system recovers with its own
 * mechanisms afterwards. A cut is made by every node blocking the nodes of the other side.
 */
export interface LinkCutter {
  /** Blocks these nodes (what each published), replacing any earlier cut. */
  cut(blocked: readonly NodeInfo[]): void | Promise<void>
  /** Unblocks every node. */
  heal(): void | Promise<void>
}

export interface NodeSystem {
  readonly name: string
  /** Peers node `index` of `nodes` must see before the cluster is ready (a star's leaves see only the hub). */
  readyWhen(index: number, nodes: number): number
  start(context: NodeStartContext): Promise<NodeDriver>
}
