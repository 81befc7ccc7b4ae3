// A hint is a delta kept for a replica that could not take it (hinted handoff): the rows a
// write, a replicate request or a local fallback commits together with the delta.
import { decodeRecord, isMultiTypeEncoding, typeOfEncoded, type ContentEntry } from '../../../crdts/index.js'
import type { CrdtTypeName } from '../../../crdts/types.js'
import type { BatchExtras } from '../../replica/replica.js'

/** The rows that keep `state` as a hint for `target`, dated `createdAt`: when the write that made it began, as far as known. */
export function hintExtras(target: string, key: string, state: Uint8Array, createdAt: number): BatchExtras {
  return { hints: { add: [{ target, key, type: typeColumnOf(state), state, createdAt }] } }
}

/** The `type` a store row gets for an encoding: its type, or a conflict's first type. */
function typeColumnOf(state: Uint8Array): CrdtTypeName {
  return isMultiTypeEncoding(state) ? (decodeRecord(state).content[0] as ContentEntry).type : typeOfEncoded(state)
}
