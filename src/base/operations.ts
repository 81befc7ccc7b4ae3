// A write is one operation on one key. The union is discriminated on `type` (the key's
// CRDT) and `op`; the HTTP API accepts exactly this shape and the coordinator forwards it.
import { crdtTypeNames, type CrdtValues } from '../../crdts/registry.js'
import type { CrdtTypeName, JsonValue } from '../../crdts/types.js'

export type Operation = FieldOperation | MapOperation

/** A write of one of the types a map field can hold directly (nested maps come from paths). */
export type FieldOperation =
  | { readonly type: 'gcounter'; readonly op: 'increment'; readonly amount: number }
  | { readonly type: 'pncounter'; readonly op: 'increment' | 'decrement'; readonly amount: number }
  | { readonly type: 'orset'; readonly op: 'add' | 'remove'; readonly element: JsonValue }
  | { readonly type: 'lww'; readonly op: 'set'; readonly value: JsonValue }

/**
 * A write to a map (crdts/ormap.ts): `update` applies a field write to the field at `path`
 * (maps on the way are created), `remove` removes that field (observed-remove).
 */
export type MapOperation =
  | { readonly type: 'map'; readonly op: 'update'; readonly path: readonly string[]; readonly update: FieldOperation }
  | { readonly type: 'map'; readonly op: 'remove'; readonly path: readonly string[] }

/**
 * Removes what the applying replica holds of the key, whatever its type (observed-remove,
 * crdts/key-content.ts): a write it had not seen survives.
 */
export interface DeleteOperation {
  readonly op: 'delete'
}

/** What the write path applies: a typed write, or a delete. */
export type KeyOperation = Operation | DeleteOperation

export const DELETE: DeleteOperation = Object.freeze({ op: 'delete' })

export type OperationName = Operation['op']

/** The value a key of each type reads as (crdts/'s registry). */
export type ValueOf = CrdtValues

/** The replicated types by name: crdts/'s registry, under the engine's public name. */
export const CRDT_TYPE_NAMES: readonly CrdtTypeName[] = crdtTypeNames

/** Which operations each type accepts. */
export const OPERATIONS_OF: { readonly [T in CrdtTypeName]: readonly OperationName[] } = {
  gcounter: ['increment'],
  pncounter: ['increment', 'decrement'],
  orset: ['add', 'remove'],
  lww: ['set'],
  map: ['update', 'remove'],
}

/** The types a map field write (`update`) can name. */
export const FIELD_TYPE_NAMES: readonly FieldOperation['type'][] = ['gcounter', 'pncounter', 'orset', 'lww']
