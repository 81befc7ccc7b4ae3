// Hints of one key for one owner are handed over as one delta, their join. Each hint is a
// delta of the key, and the join of deltas is a delta the owner merges to the same state as
// each of them in turn, so a burst written while the owner was away costs it one merge (and
// one item of a replicate-batch) per key, not one per write: in a 5-node counter run, 100
// hints per owner over 10 keys.
import { CrdtDecodeError, decodeRecord, encodeRecord, joinRecords } from '../../../crdts/index.js'
import type { StoredHint } from '../../store/store.js'

/** One delta to hand over, and the hints it stands for (removed together once the owner has it). */
export interface HintGroup {
  readonly key: string
  readonly state: Uint8Array
  readonly hints: readonly StoredHint[]
}

/** No expiry is judged while joining: the owner judges it when it merges, by its own clock. */
const NO_TIME = Number.NEGATIVE_INFINITY

/** `hints` by key, in the order of each key's first hint; a key whose hints do not decode goes hint by hint. */
export function groupHints(hints: readonly StoredHint[]): HintGroup[] {
  const byKey = new Map<string, StoredHint[]>()
  for (const hint of hints) {
    const same = byKey.get(hint.key)
    if (same === undefined) byKey.set(hint.key, [hint])
    else same.push(hint)
  }
  const groups: HintGroup[] = []
  for (const [key, same] of byKey) {
    const joined = same.length === 1 ? (same[0] as StoredHint).state : joinedState(same)
    if (joined !== undefined) groups.push({ key, state: joined, hints: same })
    else for (const hint of same) groups.push({ key, state: hint.state, hints: [hint] })
  }
  return groups
}

function joinedState(hints: readonly StoredHint[]): Uint8Array | undefined {
  try {
    const records = hints.map((hint) => decodeRecord(hint.state))
    return encodeRecord(records.reduce((a, b) => joinRecords(a, b, NO_TIME)))
  } catch (err) {
    if (err instanceof CrdtDecodeError) return undefined
    throw err
  }
}
