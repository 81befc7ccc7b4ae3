// The in-memory overlay of writes issued since the last commit. Reads consult it before
// the committed data; the commit applies it as one transaction. Later writes to the same
// row replace earlier ones, so a turn that bumps one counter 1,000 times commits one row.
import { joinPaging } from '../../crdts/orset-pages.js'
import { crdtTypeNames, isCrdtTypeName } from '../../crdts/registry.js'
import type { CrdtTypeName } from '../../crdts/types.js'
import { pagedDigest, stateDigest } from './digest.js'
import { InvalidStoreArgumentError } from './errors.js'
import type { MetaWrite, StatePage, StoredHint, StoredKey, WriteBatch } from './store.js'

/** A row the purge deletes if it still has this digest and shows nothing. */
export interface PurgedKey {
  readonly key: string
  readonly digest: Uint8Array
}

/** What a commit reports: per pruneIdempotency call the entries it deleted, per purge call the rows. */
export interface CommitCounts {
  readonly pruned: number[]
  readonly purged: number[]
}

export interface IdempotencyEntry {
  result: Uint8Array
  expiresAt: number
}

export class StagedChanges {
  readonly keys = new Map<string, StoredKey>()
  /** `null` marks a deletion. */
  readonly meta = new Map<string, Uint8Array | null>()
  readonly idempotency = new Map<string, IdempotencyEntry>()
  /** In id order, because ids are handed out in increasing order. */
  readonly hintsAdded = new Map<number, StoredHint>()
  readonly hintsRemoved = new Set<number>()
  /** `null` marks a removal. */
  readonly members = new Map<string, Uint8Array | null>()
  /** `nowMs` of each pruneIdempotency call, applied after everything else. */
  readonly prunes: number[] = []
  /** The keys of each purge call (Store.purge), applied after the keys and before meta. */
  readonly purges: (readonly PurgedKey[])[] = []
  /** How many write()/pruneIdempotency()/purge() calls this overlay holds. */
  operations = 0

  /** Adds an already validated batch. Bytes are copied so callers may reuse their buffers. */
  stage(batch: WriteBatch, nextHintId: () => number): void {
    this.operations++
    for (const k of batch.keys ?? []) {
      const state = copy(k.state)
      this.keys.set(
        k.key,
        k.pages === undefined ? stagedKey(k.key, k.type, state, copy(k.hlc), k.digest, k.expiresAt, k.deletedAt) : stagedPagedKey(k.key, k.type, state, copy(k.hlc), k.pages),
      )
    }
    for (const m of batch.meta ?? []) this.meta.set(m.name, m.value === null ? null : copy(m.value))
    for (const e of batch.idempotency ?? []) {
      this.idempotency.set(e.id, { result: copy(e.result), expiresAt: e.expiresAt })
    }
    for (const h of batch.hints?.add ?? []) {
      const id = nextHintId()
      this.hintsAdded.set(id, { id, target: h.target, key: h.key, type: h.type, state: copy(h.state), createdAt: h.createdAt })
    }
    for (const id of batch.hints?.remove ?? []) {
      this.hintsAdded.delete(id)
      this.hintsRemoved.add(id)
    }
    for (const m of batch.members?.upsert ?? []) this.members.set(m.peerId, copy(m.record))
    for (const peerId of batch.members?.remove ?? []) this.members.set(peerId, null)
  }

  stagePrune(nowMs: number): number {
    this.operations++
    return this.prunes.push(nowMs) - 1
  }

  stagePurge(keys: readonly PurgedKey[], meta: readonly MetaWrite[]): number {
    this.operations++
    for (const m of meta) this.meta.set(m.name, m.value === null ? null : copy(m.value))
    return this.purges.push(keys.map((k) => ({ key: k.key, digest: copy(k.digest) }))) - 1
  }
}

/**
 * A staged key whose digest is computed on first use: a key written many times in one
 * turn is hashed once, at commit, instead of once per write. A plain object with an own
 * enumerable getter, so copies and comparisons see an ordinary StoredKey.
 */
function stagedKey(key: string, type: CrdtTypeName, state: Uint8Array, hlc: Uint8Array, known?: Uint8Array, expiresAt?: number, deletedAt?: number): StoredKey {
  let digest = known === undefined ? undefined : copy(known)
  return {
    key,
    type,
    state,
    hlc,
    get digest() {
      digest ??= stateDigest(state)
      return digest
    },
    ...(expiresAt === undefined ? {} : { expiresAt }),
    ...(deletedAt === undefined ? {} : { deletedAt }),
  }
}

/** A staged state in pages: the whole state is joined only if someone reads it. */
function stagedPagedKey(key: string, type: CrdtTypeName, prefix: Uint8Array, hlc: Uint8Array, pages: readonly StatePage[]): StoredKey {
  let state: Uint8Array | undefined
  let digest: Uint8Array | undefined
  return {
    key,
    type,
    get state() {
      state ??= joinPaging({ prefix, pages })
      return state
    },
    hlc,
    get digest() {
      digest ??= pagedDigest(prefix, pages.map((p) => p.digest))
      return digest
    },
    paged: { prefix, pages },
  }
}

function copy(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes)
}

/**
 * Rejects what the store could not keep faithfully, before anything is staged, so a bad
 * batch never poisons the transaction it would share with other callers' writes.
 */
export function validateBatch(batch: WriteBatch): void {
  if (typeof batch !== 'object' || batch === null) fail('write() expects a batch object')
  for (const k of list(batch.keys, 'keys')) {
    text(k.key, 'keys[].key')
    crdtType(k.type, 'keys[].type')
    bytes(k.state, 'keys[].state')
    bytes(k.hlc, 'keys[].hlc')
    if (k.digest !== undefined) {
      bytes(k.digest, 'keys[].digest')
      if (k.digest.length !== 16) fail(`keys[].digest must be 16 bytes, got ${k.digest.length}`)
    }
    if (k.expiresAt !== undefined && !(Number.isSafeInteger(k.expiresAt) && k.expiresAt >= 0)) fail(`keys[].expiresAt must be a non-negative integer, got ${String(k.expiresAt)}`)
    if (k.expiresAt !== undefined && k.pages !== undefined) fail('keys[].expiresAt is not kept for a state in pages')
    if (k.deletedAt !== undefined && !(Number.isSafeInteger(k.deletedAt) && k.deletedAt >= 0)) fail(`keys[].deletedAt must be a non-negative integer, got ${String(k.deletedAt)}`)
    if (k.deletedAt !== undefined && k.pages !== undefined) fail('keys[].deletedAt is not kept for a state in pages')
    if (k.pages !== undefined) {
      for (const p of list(k.pages, 'keys[].pages')) {
        bytes(p.bytes, 'keys[].pages[].bytes')
        bytes(p.digest, 'keys[].pages[].digest')
        if (p.digest.length !== 16) fail(`keys[].pages[].digest must be 16 bytes, got ${p.digest.length}`)
      }
    }
  }
  for (const m of list(batch.meta, 'meta')) {
    text(m.name, 'meta[].name')
    if (m.value !== null) bytes(m.value, 'meta[].value')
  }
  for (const e of list(batch.idempotency, 'idempotency')) {
    text(e.id, 'idempotency[].id')
    bytes(e.result, 'idempotency[].result')
    time(e.expiresAt, 'idempotency[].expiresAt')
  }
  for (const h of list(batch.hints?.add, 'hints.add')) {
    text(h.target, 'hints.add[].target')
    text(h.key, 'hints.add[].key')
    crdtType(h.type, 'hints.add[].type')
    bytes(h.state, 'hints.add[].state')
    time(h.createdAt, 'hints.add[].createdAt')
  }
  for (const id of list(batch.hints?.remove, 'hints.remove')) {
    if (!Number.isSafeInteger(id)) fail(`hints.remove expects hint ids (integers), got ${String(id)}`)
  }
  for (const m of list(batch.members?.upsert, 'members.upsert')) {
    text(m.peerId, 'members.upsert[].peerId')
    bytes(m.record, 'members.upsert[].record')
  }
  for (const peerId of list(batch.members?.remove, 'members.remove')) text(peerId, 'members.remove[]')
}

/** For read arguments (scan bounds, names): same rule as for stored strings. */
export function validateText(value: unknown, what: string): asserts value is string {
  text(value, what)
}

function list<T>(value: readonly T[] | undefined, what: string): readonly T[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) fail(`${what} must be an array`)
  return value
}

function text(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string') fail(`${what} must be a string, got ${typeof value}`)
  if (!value.isWellFormed()) fail(`${what} contains a lone surrogate, which has no UTF-8 encoding`)
}

function crdtType(value: unknown, what: string): void {
  if (!isCrdtTypeName(value)) {
    fail(`${what} must be one of ${crdtTypeNames.join(', ')}, got ${String(value)}`)
  }
}

function bytes(value: unknown, what: string): void {
  if (!(value instanceof Uint8Array)) fail(`${what} must be a Uint8Array`)
}

function time(value: unknown, what: string): void {
  if (!Number.isSafeInteger(value)) fail(`${what} must be an integer number of milliseconds, got ${String(value)}`)
}

function fail(reason: string): never {
  throw new InvalidStoreArgumentError(reason)
}
