// How a read sees what a key holds (crdts/key-content.ts): one type's state, or a type
// conflict, which reads report instead of picking a side.
import { visibleEntries, type ContentEntry, type KeyContent } from '../../crdts/index.js'
import type { CrdtTypeName } from '../../crdts/types.js'
import { TypeConflictError, TypeMismatchError } from '../base/errors.js'
import { crdtOf } from './replica.js'

/**
 * The state a typed read sees: the one visible type's state (checked against `type`), the
 * type's empty state for a missing key. Throws TypeConflictError while two types are visible.
 */
export function typedView(key: string, type: CrdtTypeName | undefined, content: KeyContent | undefined): { type: CrdtTypeName | undefined; state: unknown } {
  if (content === undefined) return { type, state: type === undefined ? undefined : crdtOf(type).empty() }
  const visible = visibleEntries(content)
  if (visible.length > 1) throw new TypeConflictError(key, visible.map((e) => ({ type: e.type, value: crdtOf(e.type).value(e.state) })))
  const only = visible[0]
  if (only === undefined) return { type, state: type === undefined ? undefined : crdtOf(type).empty() }
  if (type !== undefined && only.type !== type) throw new TypeMismatchError(key, only.type, type)
  return { type: only.type, state: only.state }
}

/** Every visible side (visibleEntries) of a key in a type conflict, with its value; undefined when there is no conflict. */
export function conflictOf(visible: readonly ContentEntry[]): { type: CrdtTypeName; value: unknown }[] | undefined {
  return visible.length > 1 ? visible.map((e) => ({ type: e.type, value: crdtOf(e.type).value(e.state) })) : undefined
}
