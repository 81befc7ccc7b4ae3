// db.map(key): a document whose fields are CRDTs (crdts/ormap.ts). Field handles write one
// field through the key's ordinary write path (a map `update` or `remove` operation), so a
// field write has everything a write has: quorum, idempotency keys, a session token.
import { ORMap, visibleEntries, type JsonValue, type KeyContent, type ORMapState } from '../../crdts/index.js'
import type { CrdtTypeName } from '../../crdts/types.js'
import { FieldTypeMismatchError } from '../base/errors.js'
import type { FieldOperation } from '../base/operations.js'
import { checkOptions } from '../base/options.js'
import { validateAmount, validateFieldPath } from '../base/validation.js'
import { crdtOf } from '../replica/replica.js'
import { Handle, READ_OPTIONS, type KeyAccess, type ReadOptions, type WriteOptions, type WriteResult } from './handles.js'

/** A map's value: its fields as JSON (nested maps as objects, a field conflict as `{ $conflict: [{ type, value }] }`). */
export type MapDocument = { [field: string]: JsonValue }

/** A map: `db.map('profile:7')`. Its fields' handles: counter, gcounter, set, register and map (nested). */
export class MapHandle extends Handle<'map'> {
  private readonly root: MapFields
  constructor(access: KeyAccess, key: string) {
    super(access, key, 'map')
    this.root = new MapFields(this, [])
  }
  counter(field: string): MapCounterField {
    return this.root.counter(field)
  }
  gcounter(field: string): MapGCounterField {
    return this.root.gcounter(field)
  }
  set(field: string): MapSetField {
    return this.root.set(field)
  }
  register(field: string): MapRegisterField {
    return this.root.register(field)
  }
  /** A map nested in field `field` (created by the first write under it). */
  map(field: string): MapFields {
    return this.root.map(field)
  }
  /** Removes the field as the applying replica holds it (observed-remove: a concurrent write to it elsewhere survives). */
  async remove(field: string, options?: WriteOptions): Promise<WriteResult<MapDocument>> {
    return this.root.remove(field, options)
  }

  /** @internal A write to the field at `path`. */
  updateField(path: readonly string[], update: FieldOperation, options: WriteOptions | undefined, method: string): Promise<WriteResult<MapDocument>> {
    return this.write({ type: 'map', op: 'update', path, update }, options, `${describePath(path)}.${method}`)
  }

  /** @internal Removes the field at `path`. */
  removeField(path: readonly string[], options: WriteOptions | undefined): Promise<WriteResult<MapDocument>> {
    return this.write({ type: 'map', op: 'remove', path }, options, `remove(${JSON.stringify(path[path.length - 1])})`)
  }

  /** @internal What the field at `path` holds (undefined: never written). */
  async fieldContent(path: readonly string[], options: ReadOptions | undefined, method: string): Promise<KeyContent | undefined> {
    checkOptions(options, READ_OPTIONS, () => this.where(`${describePath(path)}.${method}`))
    const state = (await this.access.readState(this.key, 'map', options)) as ORMapState
    return ORMap.at(state, path)
  }
}

/** The fields of a map nested at `prefix` (the map itself for an empty prefix). */
export class MapFields {
  constructor(
    private readonly root: MapHandle,
    readonly prefix: readonly string[],
  ) {}
  counter(field: string): MapCounterField {
    return new MapCounterField(this.root, this.path(field))
  }
  gcounter(field: string): MapGCounterField {
    return new MapGCounterField(this.root, this.path(field))
  }
  set(field: string): MapSetField {
    return new MapSetField(this.root, this.path(field))
  }
  register(field: string): MapRegisterField {
    return new MapRegisterField(this.root, this.path(field))
  }
  map(field: string): MapFields {
    return new MapFields(this.root, this.path(field))
  }
  async remove(field: string, options?: WriteOptions): Promise<WriteResult<MapDocument>> {
    return this.root.removeField(this.path(field), options)
  }
  /** This map's fields as a document ({} when nothing was written under it). */
  async value(options?: ReadOptions): Promise<MapDocument> {
    if (this.prefix.length === 0) return this.root.value(options)
    const content = await this.root.fieldContent(this.prefix, options, 'value')
    return (fieldValue(this.root.key, this.prefix, content, 'map') ?? {}) as MapDocument
  }
  private path(field: string): string[] {
    const path = [...this.prefix, field]
    validateFieldPath(path)
    return path
  }
}

abstract class MapField<V> {
  constructor(
    protected readonly root: MapHandle,
    readonly path: readonly string[],
    private readonly type: FieldOperation['type'],
  ) {}
  /** The field's value (the type's empty value when the field was never written or was removed). */
  async value(options?: ReadOptions): Promise<V> {
    const content = await this.root.fieldContent(this.path, options, 'value')
    return (fieldValue(this.root.key, this.path, content, this.type) ?? crdtOf(this.type).value(crdtOf(this.type).empty())) as V
  }
  protected write(update: FieldOperation, options: WriteOptions | undefined): Promise<WriteResult<MapDocument>> {
    return this.root.updateField(this.path, update, options, update.op)
  }
}

export class MapCounterField extends MapField<number> {
  constructor(root: MapHandle, path: readonly string[]) {
    super(root, path, 'pncounter')
  }
  async increment(amount = 1, options?: WriteOptions): Promise<WriteResult<MapDocument>> {
    validateAmount(amount)
    return this.write({ type: 'pncounter', op: 'increment', amount }, options)
  }
  async decrement(amount = 1, options?: WriteOptions): Promise<WriteResult<MapDocument>> {
    validateAmount(amount)
    return this.write({ type: 'pncounter', op: 'decrement', amount }, options)
  }
}

export class MapGCounterField extends MapField<number> {
  constructor(root: MapHandle, path: readonly string[]) {
    super(root, path, 'gcounter')
  }
  async increment(amount = 1, options?: WriteOptions): Promise<WriteResult<MapDocument>> {
    validateAmount(amount)
    return this.write({ type: 'gcounter', op: 'increment', amount }, options)
  }
}

export class MapSetField extends MapField<JsonValue[]> {
  constructor(root: MapHandle, path: readonly string[]) {
    super(root, path, 'orset')
  }
  async add(element: JsonValue, options?: WriteOptions): Promise<WriteResult<MapDocument>> {
    return this.write({ type: 'orset', op: 'add', element }, options)
  }
  /** Removes one element (the map's remove(field) removes the whole field). */
  async remove(element: JsonValue, options?: WriteOptions): Promise<WriteResult<MapDocument>> {
    return this.write({ type: 'orset', op: 'remove', element }, options)
  }
}

export class MapRegisterField extends MapField<JsonValue | undefined> {
  constructor(root: MapHandle, path: readonly string[]) {
    super(root, path, 'lww')
  }
  async set(value: JsonValue, options?: WriteOptions): Promise<WriteResult<MapDocument>> {
    return this.write({ type: 'lww', op: 'set', value }, options)
  }
}

/** The value of `type` a field shows; undefined when it shows nothing. Throws FieldTypeMismatchError when it shows only other types. */
function fieldValue(key: string, path: readonly string[], content: KeyContent | undefined, type: CrdtTypeName): unknown {
  const visible = content === undefined ? [] : visibleEntries(content)
  if (visible.length === 0) return undefined
  const entry = visible.find((e) => e.type === type)
  if (entry === undefined) throw new FieldTypeMismatchError(key, path, (visible[0] as { type: CrdtTypeName }).type, type)
  return crdtOf(type).value(entry.state)
}

function describePath(path: readonly string[]): string {
  return path.map((p) => `field(${JSON.stringify(p)})`).join('.')
}
