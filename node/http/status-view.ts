// /v1/status and /metrics (metrics.ts) come from one source: the engine's status,
// db.status(), which holds every counter of every part of the engine. statusCounters()
// walks it, so a counter added to a part's stats shows in both without code here. A
// database with the network off reports an idle engine (every counter 0), so clients and
// dashboards see the same fields whether the network is on or off. /v1/status also keeps
// the groups earlier versions answered with (gossip, largeMessages, clock.mergesRefused),
// built from the same counters.
import { idleEngineStatus, STATUS_ALIASES, type EngineStatus } from '../../src/cluster/engine.js'
import type { DatabaseStatus } from '../../src/index.js'

/** One number of the engine's status. */
export interface StatusCounter {
  /** Where it is in the status: 'antiEntropy.keysSent', or 'keys' at the top level. */
  readonly path: string
  /** Its group ('antiEntropy'), or undefined at the top level. */
  readonly group: string | undefined
  readonly name: string
  /** Booleans count as 1 and 0. */
  readonly value: number
}

export type CounterGroup = Readonly<Record<string, number>>

export interface StatusView {
  readonly id: string
  readonly networked: boolean
  readonly keys: number
  readonly pendingHints: number
  readonly members: CounterGroup
  /** Every other number of the engine's status: top-level ones, and groups of counters per part (antiEntropy, handoff, …). */
  readonly [field: string]: string | boolean | number | CounterGroup
}

/** The engine's status behind `status`: its own, or an idle one while the network is off. */
export function engineStatusOf(status: DatabaseStatus): EngineStatus {
  if (status.networked) return status
  // The replica counts with the network off too (tombstones purged): the rest stays at zero.
  return { ...idleEngineStatus(status), replica: { ...status.replica } }
}

/** Every number of `status` (top-level and one level down), in status order; aliases left out. */
export function statusCounters(status: EngineStatus): StatusCounter[] {
  const out: StatusCounter[] = []
  const add = (group: string | undefined, name: string, value: unknown): void => {
    if (typeof value !== 'number' && typeof value !== 'boolean') return
    const path = group === undefined ? name : `${group}.${name}`
    if (STATUS_ALIASES.has(path)) return
    out.push({ path, group, name, value: Number(value) })
  }
  for (const [field, value] of Object.entries(status)) {
    if (typeof value === 'object' && value !== null) {
      for (const [name, inner] of Object.entries(value as Record<string, unknown>)) add(field, name, inner)
    } else {
      add(undefined, field, value)
    }
  }
  return out
}

/** Groups /v1/status answered with before it was generated: the same counters under their old names. */
const LEGACY_GROUPS: Readonly<Record<string, (s: EngineStatus) => CounterGroup>> = {
  gossip: (s) => ({
    rumorsMerged: s.rumors.rumorsMerged,
    rumorsIgnored: s.rumors.rumorsIgnored,
    broadcastsSent: s.messages.broadcastsSent,
    broadcastsReceived: s.messages.broadcastsReceived,
    requestsSent: s.messages.requestsSent,
    requestsFailed: s.messages.requestsFailed,
    requestsReceived: s.messages.requestsReceived,
    bytesSent: s.messages.bytesSent,
    bytesReceived: s.messages.bytesReceived,
  }),
  largeMessages: (s) => ({
    sent: s.messages.largeSent,
    received: s.messages.largeReceived,
    refused: s.messages.largeRefused,
    dropped: s.messages.largeDropped,
    bytesHeld: s.messages.largeBytesHeld,
  }),
}

export function statusView(status: DatabaseStatus): StatusView {
  const engine = engineStatusOf(status)
  const view: Record<string, string | boolean | number | Record<string, number>> = { id: engine.id, networked: status.networked }
  for (const c of statusCounters(engine)) {
    if (c.group === undefined) {
      view[c.name] = c.value
    } else {
      const group = (view[c.group] ??= {}) as Record<string, number>
      group[c.name] = c.value
    }
  }
  // Registers from peers refused on merge, under the name the clock group had.
  ;(view.clock as Record<string, number>).mergesRefused = engine.replica.clockDriftRefused
  for (const [name, build] of Object.entries(LEGACY_GROUPS)) view[name] = build(engine)
  return view as unknown as StatusView
}
