// How a read sees what a key holds (crdts/key-content.ts): one type's state, or a type
// conflict, which reads report instead of picking a side.
import { everSeen, visibleEntries, type ContentEntry, type KeyContent } from '../../crdts/index.js'
import type { CrdtTypeName } from '../../crdts/types.js'
import { TypeConflictError, TypeMismatchError } from '../base/errors.js'
import { crdtOf } from './replica.js'

/** What a typed read sees of a key (typedView). */
export interface TypedView {
  /** The key's type, or the type asked for; undefined for a missing key read without a type. */
  readonly type: CrdtTypeName | undefined
  /** The state a reader sees (the type's empty state for a missing or deleted key). */
  readonly state: unknown
  /** Everything the key has held of `type`, deleted or not: where a session token's write is looked for. */
  readonly seen: unknown
}

/**
 * The state a typed read sees: the one visible type's state (checked against `type`), the
 * type's empty state for a missing or deleted key. Throws TypeConflictError while two types
 * are visible.
 */
export function typedView(key: string, type: CrdtTypeName | undefined, content: KeyContent | undefined): TypedView {
  const visible = content === undefined ? [] : visibleEntries(content)
  if (visible.length > 1) throw new TypeConflictError(key, visible.map((e) => ({ type: e.type, value: crdtOf(e.type).value(e.state) })))
  const only = visible[0]
  if (only === undefined) {
    const state = type === undefined ? undefined : crdtOf(type).empty()
    return { type, state, seen: type === undefined ? undefined : everSeen(content, type) }
  }
  if (type !== undefined && only.type !== type) throw new TypeMismatchError(key, only.type, type)
  return { type: only.type, state: only.state, seen: only.tombstone === undefined ? only.state : everSeen(content, only.type) }
}

/** Every visible side (visibleEntries) of a key in a type conflict, with its value; undefined when there is no conflict. */
export function conflictOf(visible: readonly ContentEntry[]): { type: CrdtTypeName; value: unknown }[] | undefined {
  return visible.length > 1 ? visible.map((e) => ({ type: e.type, value: crdtOf(e.type).value(e.state) })) : undefined
}

/** Whether nothing of the key is visible: it was deleted (and not written since). */
export function isDeleted(content: KeyContent): boolean {
  return visibleEntries(content).length === 0
}
