// Which actor id a write of this node uses, once tombstones are purged (src/cluster/purge).
//
// Counters and OR-sets identify a node's writes by its actor id and a count per key: a
// counter's total, a set's dot counter. A delete's tombstone covers the counts it saw, and
// purging forgets them here. Another replica may still hold that tombstone for a while (it
// purges on its own schedule, or was asked to keep it), so a write here that started the
// counts again from zero would be covered by it there and vanish there, and from there
// everywhere the tombstone goes. So writes after a purge use a new *incarnation* of the
// actor, `actor.<epoch>` with the epoch (base 36) the time of this node's latest purge: no
// tombstone made before that purge can cover a count of it.
//
// Per key and type the write continues the newest incarnation the key already holds of
// this node (so a counter goes on counting in one entry), or, holding none, takes the
// current one: the plain actor until this node first purges, then `actor.<epoch>`.
// Registers are ordered by their timestamps, which a purge does not reset, so they keep
// the plain actor.
import { contextMax, type GCounterState, type ORSetState, type PNCounterState } from '../../crdts/index.js'
import type { CrdtTypeName } from '../../crdts/types.js'

const SEPARATOR = '.'

/** The actor id of incarnation `epoch` of `self` (0: the plain actor, before any purge). */
export function incarnationActor(self: string, epoch: number): string {
  return epoch === 0 ? self : `${self}${SEPARATOR}${epoch.toString(36)}`
}

/** The epoch of `actor` when it is an incarnation of `self` (0 for the plain actor), else undefined. */
export function incarnationOf(actor: string, self: string): number | undefined {
  if (actor === self) return 0
  if (actor.length <= self.length + 1 || !actor.startsWith(self) || actor[self.length] !== SEPARATOR) return undefined
  const text = actor.slice(self.length + 1)
  if (!/^[1-9a-z][0-9a-z]{0,10}$/.test(text)) return undefined
  const epoch = parseInt(text, 36)
  return Number.isSafeInteger(epoch) && epoch > 0 ? epoch : undefined
}

/** The actors a state of `type` counts or dots writes under (none for registers and maps). */
export function actorsOf(type: CrdtTypeName, state: unknown): Iterable<string> {
  switch (type) {
    case 'gcounter':
      return (state as GCounterState).actors
    case 'pncounter': {
      const s = state as PNCounterState
      return [...s.p.actors, ...s.n.actors]
    }
    case 'orset': {
      const ctx = (state as ORSetState).context
      return [...ctx.keys()].filter((actor) => contextMax(ctx, actor) > 0)
    }
    default:
      return []
  }
}

/**
 * The actor a write of `type` by `self` uses on `state` (everything the key holds of the
 * type, what tombstones removed included): the newest incarnation of `self` in it, else
 * the current one (`epoch`, this node's latest purge; 0 before any).
 */
export function writerActor(self: string, epoch: number, type: CrdtTypeName, state: unknown): string {
  if (type === 'lww' || type === 'map') return self
  let newest: string | undefined
  let newestEpoch = -1
  for (const actor of actorsOf(type, state)) {
    const e = incarnationOf(actor, self)
    if (e !== undefined && e > newestEpoch) {
      newest = actor
      newestEpoch = e
    }
  }
  return newest ?? incarnationActor(self, epoch)
}
