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
import { incarnationOf } from './incarnations.js'

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

/** The replica judging a state: its actor, and its purge epoch (incarnations.ts; 0 before any purge). */
interface Self {
  readonly actor: string
  readonly epoch: number
}

/**
 * Throws RemoteStateRefusedError when `incoming` (a peer's state of `key`) must not be
 * merged into `current` (this replica's, if any) on the replica whose actor is `self` and
 * whose latest purge was at `epoch` (0: none).
 *
 * Writes of this node go by incarnations of its actor (incarnations.ts). Of the current
 * incarnation, and of any incarnation this replica holds some of in the key, it knows every
 * write (a purge drops a key only when it shows nothing, and the key then keeps all of a
 * purged incarnation or none), so a claim above is forged. Of an older incarnation this
 * replica holds none of in the key, it may have purged the key: another replica's tombstone
 * of it is taken as it comes. A newer incarnation than this node's latest purge is forged.
 */
export function checkRemoteState(key: string, incoming: KeyContent, current: KeyContent | undefined, self: string, epoch = 0): void {
  const reason = contentRefusal(incoming, current, { actor: self, epoch })
  if (reason !== undefined) throw new RemoteStateRefusedError(key, reason)
}

function contentRefusal(incoming: KeyContent, current: KeyContent | undefined, self: Self): string | undefined {
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

function refusal(type: string, state: unknown, mine: unknown, self: Self): string | undefined {
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

function counterRefusal(s: GCounterState, mine: GCounterState | undefined, self: Self, part: string): string | undefined {
  let sum = 0
  for (let i = 0; i < s.actors.length; i++) {
    const actor = s.actors[i] as string
    const count = s.counts[i] as number
    if (count > LIMIT) return `${part}the entry of ${actor} (${count}) leaves no room below Number.MAX_SAFE_INTEGER`
    const reason = claimRefusal(actor, count, countOf(mine, actor), self)
    if (reason !== undefined) return `${part}${reason}`
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

function contextRefusal(ctx: CausalContext, mine: CausalContext | undefined, self: Self): string | undefined {
  for (const actor of ctx.keys()) {
    const max = contextMax(ctx, actor)
    if (max > LIMIT) return `the dot counter of ${actor} (${max}) leaves no room below Number.MAX_SAFE_INTEGER`
    const reason = claimRefusal(actor, max, mine === undefined ? 0 : contextMax(mine, actor), self, 'dot ')
    if (reason !== undefined) return reason
  }
  return undefined
}

/** Why a claim of `claimed` writes of `actor` is forged, when it is one of this node's incarnations (see checkRemoteState). */
function claimRefusal(actor: string, claimed: number, known: number, self: Self, unit = ''): string | undefined {
  const epoch = incarnationOf(actor, self.actor)
  if (epoch === undefined || claimed <= known) return undefined
  if (epoch > self.epoch) return `it names an incarnation of this node (${actor}) newer than its latest purge`
  if (epoch === self.epoch || known > 0) return `it claims more writes of this node (${unit}${claimed}) than this node made (${known})`
  return undefined
}
