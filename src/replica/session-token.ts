// Session tokens: what a write returns so that a later read can require a state that
// includes it (read-your-writes in an AP store). Opaque to callers; inside it is
// [version, type tag, 8-byte key hash, CRDT witness], base64url-encoded. A delete's token
// carries the key-content tag and the delete itself (its tombstones) as the witness: a state
// that joined it includes the delete.
import { crdtTypes, CrdtDecodeError } from '../../crdts/index.js'
import { contentEquals, decodeContent, joinContent, KEY_CONTENT_TAG, visibleEntries, type KeyContent } from '../../crdts/key-content.js'
import type { CrdtTypeName } from '../../crdts/types.js'
import { InvalidTokenError } from '../base/errors.js'
import type { TypedView } from './key-view.js'

const TOKEN_VERSION = 1
const KEY_HASH_BYTES = 8
/** Longest token accepted (and issued: a delete whose tombstones would not fit gets none). */
export const MAX_TOKEN_CHARS = 8192

/** What a token names: a write of one type, or a delete. */
export type TokenKind = CrdtTypeName | 'delete'

export interface SessionToken {
  readonly type: TokenKind
  readonly witness: Uint8Array
}

/**
 * 64-bit FNV-1a over the key's UTF-16 code units. The hash only catches a token passed with
 * the wrong key; it guards against mistakes, not forgery, so a cheap hash does.
 */
function keyHash(key: string): Uint8Array {
  let h1 = 0x84222325
  let h0 = 0xcbf29ce4
  for (let i = 0; i < key.length; i++) {
    h1 ^= key.charCodeAt(i)
    // Multiply the 64-bit (h0:h1) by the FNV prime 0x100000001b3 in 32-bit halves.
    const lo = Math.imul(h1, 0x1b3)
    const carry = Math.floor(((h1 >>> 0) * 0x1b3) / 0x100000000)
    h0 = (Math.imul(h0, 0x1b3) + Math.imul(h1, 0x100) + carry) >>> 0
    h1 = lo >>> 0
  }
  const out = new Uint8Array(KEY_HASH_BYTES)
  const view = new DataView(out.buffer)
  view.setUint32(0, h0 >>> 0)
  view.setUint32(4, h1 >>> 0)
  return out
}

export function encodeSessionToken(key: string, type: CrdtTypeName, witness: Uint8Array): string {
  return encodeToken(key, crdtTypes[type].tag, witness)
}

/** A delete's token; undefined when its tombstones are too big for a token (a key written by hundreds of nodes). */
export function encodeDeleteToken(key: string, delta: Uint8Array): string | undefined {
  if (Math.ceil(((2 + KEY_HASH_BYTES + delta.length) * 4) / 3) > MAX_TOKEN_CHARS) return undefined
  return encodeToken(key, KEY_CONTENT_TAG, delta)
}

function encodeToken(key: string, tag: number, witness: Uint8Array): string {
  const out = new Uint8Array(2 + KEY_HASH_BYTES + witness.length)
  out[0] = TOKEN_VERSION
  out[1] = tag
  out.set(keyHash(key), 2)
  out.set(witness, 2 + KEY_HASH_BYTES)
  return Buffer.from(out).toString('base64url')
}

/** Parses a token for `key`; throws InvalidTokenError when it is malformed or for another key. */
export function decodeSessionToken(key: string, token: string): SessionToken {
  if (typeof token !== 'string' || token.length === 0 || token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) {
    throw new InvalidTokenError('not a base64url string of a sensible length')
  }
  const bytes = new Uint8Array(Buffer.from(token, 'base64url'))
  if (bytes.length < 2 + KEY_HASH_BYTES) throw new InvalidTokenError('too short')
  if (bytes[0] !== TOKEN_VERSION) throw new InvalidTokenError(`unknown version ${bytes[0]}`)
  const type: TokenKind | undefined = bytes[1] === KEY_CONTENT_TAG ? 'delete' : (Object.keys(crdtTypes) as CrdtTypeName[]).find((t) => crdtTypes[t].tag === bytes[1])
  if (type === undefined) throw new InvalidTokenError(`unknown type tag ${bytes[1]}`)
  const expected = keyHash(key)
  for (let i = 0; i < KEY_HASH_BYTES; i++) {
    if (bytes[2 + i] !== expected[i]) throw new InvalidTokenError(`it was issued for another key than ${JSON.stringify(key)}`)
  }
  const witness = bytes.subarray(2 + KEY_HASH_BYTES)
  assertWellFormedWitness(type, witness)
  return { type, witness }
}

/**
 * Decodes the witness once, here, so that a garbled one is the caller's InvalidTokenError
 * and not a CrdtDecodeError from deep in a read (or a read that waits for a state no
 * replica can have). `covers` decodes the whole witness before it compares, and checks
 * the witness's own type tag, so asking it about the empty state is a complete check.
 */
function assertWellFormedWitness(type: TokenKind, witness: Uint8Array): void {
  try {
    if (type === 'delete') {
      decodeContent(witness)
      return
    }
    const crdt = crdtTypes[type] as unknown as { covers(s: unknown, w: Uint8Array): boolean; empty(): unknown }
    crdt.covers(crdt.empty(), witness)
  } catch (err) {
    if (err instanceof CrdtDecodeError) throw new InvalidTokenError('its witness is corrupt or truncated')
    throw err
  }
}

/**
 * Whether an encoded state includes the write a token names. decodeSessionToken has
 * already checked the witness; the catch keeps a witness from elsewhere an InvalidTokenError.
 */
export function stateCovers(type: CrdtTypeName, state: unknown, witness: Uint8Array): boolean {
  try {
    return (crdtTypes[type] as unknown as { covers(s: unknown, w: Uint8Array): boolean }).covers(state, witness)
  } catch (err) {
    if (err instanceof CrdtDecodeError) throw new InvalidTokenError('its witness is corrupt or truncated')
    throw err
  }
}

/**
 * Whether what a replica (or a read's join) holds of the key includes what the token names:
 * the write, in the state of its type (everything that type has held, deleted or not), or
 * the delete, in the key's content (joining the delete again changes nothing).
 */
export function tokenCovered(token: SessionToken, content: KeyContent | undefined, view: () => TypedView): boolean {
  if (token.type !== 'delete') {
    const v = view()
    return v.type !== undefined && stateCovers(v.type, v.seen, token.witness)
  }
  const deletion = decodeContent(token.witness)
  // The delete of a key its replica never held removed nothing: every state includes it.
  const removedNothing = deletion.every((e) => e.tombstone === undefined || crdtTypes[e.type].equals(e.tombstone as never, crdtTypes[e.type].empty() as never))
  if (removedNothing) return true
  // A replica that shows nothing of the key shows nothing the delete removed: it never held
  // the key, or deleted it too, or purged its tombstone (tombstone-purge.ts).
  if (content === undefined || visibleEntries(content).length === 0) return true
  return contentEquals(joinContent(content, deletion), content)
}
