// The replicated types by name and by tag, so storage and the wire can hold any of them and
// dispatch on the tag byte that starts every encoding.
import { FORMAT_VERSION } from './codec.js'
import { CrdtDecodeError } from './errors.js'
import { GCounter, type GCounterState } from './gcounter.js'
import { LWWRegister, type LWWRegisterState } from './lww-register.js'
import { ORMap, type ORMapState } from './ormap.js'
import { ORSet, type ORSetState } from './orset.js'
import { ORSET_PAGED_VERSION } from './orset-pages.js'
import { PNCounter, type PNCounterState } from './pncounter.js'
import { removals } from './removal.js'
import { installTypeTable, type TypeTable } from './type-table.js'
import type { CrdtTypeName, JsonValue } from './types.js'

export const crdtTypes = Object.freeze({
  gcounter: GCounter,
  pncounter: PNCounter,
  orset: ORSet,
  lww: LWWRegister,
  map: ORMap,
})

export type CrdtTypes = typeof crdtTypes

/** State type of each named CRDT. */
export interface CrdtStates {
  gcounter: GCounterState
  pncounter: PNCounterState
  orset: ORSetState
  lww: LWWRegisterState
  map: ORMapState
}

/** Value type of each named CRDT. */
export interface CrdtValues {
  gcounter: number
  pncounter: number
  orset: JsonValue[]
  lww: JsonValue | undefined
  map: { [field: string]: JsonValue }
}

/** The names of `crdtTypes`, in its order: the one list of type names. */
export const crdtTypeNames: readonly CrdtTypeName[] = Object.freeze(Object.keys(crdtTypes) as CrdtTypeName[])

// Key contents and map fields hold every type: they find them in this table (type-table.ts).
installTypeTable({
  names: [...crdtTypeNames].sort((a, b) => crdtTypes[a].tag - crdtTypes[b].tag),
  types: crdtTypes as unknown as TypeTable['types'],
  removals: removals as unknown as TypeTable['removals'],
  typeOfEncoded: (bytes) => typeOfEncoded(bytes),
})

export function isCrdtTypeName(name: unknown): name is CrdtTypeName {
  return typeof name === 'string' && Object.hasOwn(crdtTypes, name)
}

const tags = new Map<number, CrdtTypeName>(crdtTypeNames.map((name) => [crdtTypes[name].tag, name]))
const byTag = (): Map<number, CrdtTypeName> => tags

/** The type of an encoded state, read from its tag and version bytes (OR-sets: version 1 or 2). */
export function typeOfEncoded(bytes: Uint8Array): CrdtTypeName {
  if (!(bytes instanceof Uint8Array)) throw new CrdtDecodeError('expected a Uint8Array')
  if (bytes.length < 2) throw new CrdtDecodeError('encoding shorter than its 2-byte header')
  const name = byTag().get(bytes[0] as number)
  if (name === undefined) throw new CrdtDecodeError(`unknown CRDT type tag ${bytes[0]}`)
  const paged = name === 'orset' && bytes[1] === ORSET_PAGED_VERSION
  if (bytes[1] !== FORMAT_VERSION && !paged) throw new CrdtDecodeError(`unsupported ${name} format version ${bytes[1]}`)
  return name
}
