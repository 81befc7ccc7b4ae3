// What a replica refuses to merge from another node, before anything is staged. A state
// from a peer may carry entries of every actor (that is how state-based CRDTs spread), but
// no peer knows more of this node's own writes than this node: an entry or dot context for
// this node's actor above its own is forged, and merging it would make every later local
// write fail (a counter entry at 2^53 − 1, a dot counter exhausted) or delete elements this
// node added. States that would push a value past the safe integer range, or leave any
// actor's dot counter without room, are refused for the same reason: no honest history
// reaches them.
import { contextMax, type CausalContext, type GCounterState, type ORSetState, type PNCounterState } from '../../crdts/index.js'
import { everSeen, ORMap, type KeyContent, type ORMapState } from '../../crdts/index.js'
import { RumorDbError } from '../base/error-base.js'

/** Room every counter entry and dot counter must keep: 2^32 more writes. */
export const SAFE_HEADROOM = 2 ** 32
const LIMIT = Number.MAX_SAFE_INTEGER - SAFE_HEADROOM

export class RemoteStateRefusedError extends RumorDbError {
  readonly key: string
  constructor(key: string, reason: string) {
    super('REMOTE_STATE_REFUSED', `refused a state of ${JSON.stringify(key)} from another node: ${reason}; nothing was merged`)
    this.key = key
  }
}

/**
 * Throws RemoteStateRefusedError when `incoming` (a peer's state of `key`) must not be
 * merged into `current` (this replica's, if any) on the replica whose actor is `self`.
 */
export function checkRemoteState(key: string, incoming: KeyContent, current: KeyContent | undefined, self: string): void {
  const reason = contentRefusal(incoming, current, self)
  if (reason !== undefined) throw new RemoteStateRefusedError(key, reason)
}

function contentRefusal(incoming: KeyContent, current: KeyContent | undefined, self: string): string | undefined {
  for (const entry of incoming) {
    // Everything this node holds of the type, what a delete removed included: its own
    // writes the delete covered are still its own.
    const mine = current === undefined ? undefined : everSeen(current, entry.type)
    for (const state of entry.tombstone === undefined ? [entry.state] : [entry.state, entry.tombstone]) {
      const reason = refusal(entry.type, state, mine, self)
      if (reason !== undefined) return reason
    }
  }
  return undefined
}

function refusal(type: string, state: unknown, mine: unknown, self: string): string | undefined {
  switch (type) {
    case 'map': {
      // Each field as a key: its counters and dots of this node no higher than this node's.
      for (const field of (state as ORMapState).fields) {
        const held = mine === undefined ? undefined : ORMap.field(mine as ORMapState, field.name)
        const reason = contentRefusal(field.content, held, self)
        if (reason !== undefined) return `map field ${JSON.stringify(field.name)}: ${reason}`
      }
      return undefined
    }
    case 'gcounter':
      return counterRefusal(state as GCounterState, mine as GCounterState | undefined, self, '')
    case 'pncounter': {
      const s = state as PNCounterState
      const m = mine as PNCounterState | undefined
      return counterRefusal(s.p, m?.p, self, 'increments: ') ?? counterRefusal(s.n, m?.n, self, 'decrements: ')
    }
    case 'orset': {
      const s = state as ORSetState
      return contextRefusal(s.context, (mine as ORSetState | undefined)?.context, self)
    }
    default:
      return undefined // registers: their timestamps are checked against this node's clock on merge
  }
}

function counterRefusal(s: GCounterState, mine: GCounterState | undefined, self: string, part: string): string | undefined {
  let sum = 0
  for (let i = 0; i < s.actors.length; i++) {
    const actor = s.actors[i] as string
    const count = s.counts[i] as number
    if (count > LIMIT) return `${part}the entry of ${actor} (${count}) leaves no room below Number.MAX_SAFE_INTEGER`
    if (actor === self && count > countOf(mine, self)) return `${part}it claims more writes of this node (${count}) than this node made (${countOf(mine, self)})`
    sum += count
  }
  // Merging takes the larger entry per actor: the merged sum is at most both sums together.
  if (sum > LIMIT) return `${part}its entries add up to ${sum}, past the safe integer range`
  return undefined
}

function countOf(s: GCounterState | undefined, actor: string): number {
  if (s === undefined) return 0
  const i = s.actors.indexOf(actor)
  return i < 0 ? 0 : (s.counts[i] as number)
}

function contextRefusal(ctx: CausalContext, mine: CausalContext | undefined, self: string): string | undefined {
  for (const actor of ctx.keys()) {
    const max = contextMax(ctx, actor)
    if (max > LIMIT) return `the dot counter of ${actor} (${max}) leaves no room below Number.MAX_SAFE_INTEGER`
  }
  const claimed = contextMax(ctx, self)
  const known = mine === undefined ? 0 : contextMax(mine, self)
  if (claimed > known) return `it claims more writes of this node (dot ${claimed}) than this node made (${known})`
  return undefined
}
