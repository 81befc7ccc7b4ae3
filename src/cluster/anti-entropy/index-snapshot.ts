// The anti-entropy index saved at a clean close, so that the next open does not build it
// from the store: at a million keys a build reads every row's index entry (about a second
// of CPU on a 2-core machine); loading this costs about half of that.
//
// The snapshot is a cache, and a stale one would be worse than none (anti-entropy would
// compare the wrong fingerprints and could miss a difference), so it is only ever used
// when it is exactly the store's state:
//   - it is written at close, after the engine stopped and the replica refuses writes,
//     when every key write the replica staged has committed and been indexed
//     (Database.close, Engine.indexSnapshot);
//   - it lives in a file beside the store (Store.writeAside), vouched for by a meta row that
//     holds its SHA-256, and every open deletes that row before anything else can write
//     (takeIndexSnapshot, createDatabase), local opens included, so a process that
//     crashes, or one that writes with the network off, leaves no usable snapshot behind
//     and the next networked open rebuilds from the store;
//   - the file must hash to what the row says, and hold as many keys as the store has keys
//     that show something (tombstones are not indexed).
//
// Layout (little-endian): magic (8 bytes) ‖ count u32 ‖ key bytes u32 ‖ per key its UTF-8
// length u16 ‖ the keys' UTF-8 bytes ‖ zero padding to 8 ‖ positions (u64 each) ‖ digests
// (four u32 words each) ‖ fingerprints (four u32 words each) ‖ SHA-256 of all before.
import { createHash } from 'node:crypto'
import { endianness } from 'node:os'
import { MAX_KEY_BYTES } from '../../base/validation.js'
import type { Store } from '../../store/store.js'

/** The meta row that vouches for a saved snapshot: its SHA-256. */
export const INDEX_SNAPSHOT_META = 'anti-entropy-index'
/** The snapshot itself, beside the store (Store.writeAside): rumordb.sqlite.anti-entropy-index. */
export const INDEX_SNAPSHOT_ASIDE = 'anti-entropy-index'

// Version 2: tombstones are left out (version 1 indexed them).
const MAGIC = Buffer.from('RDBAEIX2', 'latin1')
const HEADER_BYTES = MAGIC.length + 8
const HASH_BYTES = 32
/** Bytes hashed between two pauses while a snapshot is checked. */
const HASH_CHUNK_BYTES = 8 * 1024 * 1024
/** Larger snapshots are not written (about ten million keys): the next open rebuilds instead. */
export const MAX_INDEX_SNAPSHOT_BYTES = 512 * 1024 * 1024

/** The typed arrays are copied byte for byte: only little-endian hosts write or read snapshots. */
const SUPPORTED = endianness() === 'LE'

/** Keys in ascending (UTF-16) order, each with its ring position, state digest and fingerprint (four words each). */
export interface IndexSnapshot {
  readonly keys: readonly string[]
  readonly positions: BigUint64Array
  readonly digests: Uint32Array
  readonly prints: Uint32Array
}

export class IndexSnapshotError extends Error {
  override readonly name = 'IndexSnapshotError'
}

/** The snapshot's bytes; undefined when it would exceed MAX_INDEX_SNAPSHOT_BYTES or the host is big-endian. */
export function encodeIndexSnapshot(s: IndexSnapshot): Uint8Array | undefined {
  if (!SUPPORTED) return undefined
  const count = s.keys.length
  let keyBytes = 0
  for (const key of s.keys) keyBytes += Buffer.byteLength(key, 'utf8')
  const arraysAt = align8(HEADER_BYTES + count * 2 + keyBytes)
  const total = arraysAt + count * (8 + 16 + 16) + HASH_BYTES
  if (total > MAX_INDEX_SNAPSHOT_BYTES) return undefined
  const out = Buffer.alloc(total)
  MAGIC.copy(out, 0)
  out.writeUInt32LE(count, MAGIC.length)
  out.writeUInt32LE(keyBytes, MAGIC.length + 4)
  let lengthAt = HEADER_BYTES
  let at = HEADER_BYTES + count * 2
  for (const key of s.keys) {
    const length = out.write(key, at, 'utf8')
    out.writeUInt16LE(length, lengthAt)
    lengthAt += 2
    at += length
  }
  at = arraysAt
  for (const array of [s.positions, s.digests, s.prints]) {
    out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), at)
    at += array.byteLength
  }
  createHash('sha256').update(out.subarray(0, at)).digest().copy(out, at)
  return out
}

/** A snapshot whose size and checksum were checked; its keys are decoded a range at a time. */
export interface IndexSnapshotReader {
  readonly count: number
  readonly positions: BigUint64Array
  readonly digests: Uint32Array
  readonly prints: Uint32Array
  /** Keys [from, to), called for consecutive ranges; throws IndexSnapshotError unless they ascend. */
  keys(from: number, to: number): string[]
}

/**
 * Checks a snapshot's layout and that it hashes to `vouched` (a few milliseconds of
 * hashing between pauses), then reads it. Throws IndexSnapshotError for anything but the
 * exact bytes encodeIndexSnapshot wrote.
 */
export async function readIndexSnapshot(bytes: Uint8Array, vouched: Uint8Array, pause: () => Promise<void>): Promise<IndexSnapshotReader> {
  if (!SUPPORTED) throw new IndexSnapshotError('index snapshots are only read on little-endian hosts')
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.length < HEADER_BYTES + HASH_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC)) throw new IndexSnapshotError('not an index snapshot')
  const body = buf.length - HASH_BYTES
  const hash = createHash('sha256')
  for (let at = 0; at < body; at += HASH_CHUNK_BYTES) {
    hash.update(buf.subarray(at, Math.min(body, at + HASH_CHUNK_BYTES)))
    await pause()
  }
  const digest = hash.digest()
  if (!digest.equals(buf.subarray(body)) || !digest.equals(vouched)) throw new IndexSnapshotError('the file does not hash to what the store recorded')
  const count = buf.readUInt32LE(MAGIC.length)
  const keyBytes = buf.readUInt32LE(MAGIC.length + 4)
  const keysEnd = HEADER_BYTES + count * 2 + keyBytes
  const arraysAt = align8(keysEnd)
  if (arraysAt + count * 40 !== body) throw new IndexSnapshotError('its size does not match its key count')
  // Typed arrays need aligned offsets: a buffer of its own is (readFile's is), else copy.
  const aligned = (buf.byteOffset + arraysAt) % 8 === 0
  const arrays = aligned ? buf.buffer : buf.buffer.slice(buf.byteOffset + arraysAt, buf.byteOffset + body)
  const base = aligned ? buf.byteOffset + arraysAt : 0
  let next = 0
  let at = HEADER_BYTES + count * 2
  let previous: string | undefined
  return {
    count,
    positions: new BigUint64Array(arrays, base, count),
    digests: new Uint32Array(arrays, base + count * 8, count * 4),
    prints: new Uint32Array(arrays, base + count * 24, count * 4),
    keys(from: number, to: number): string[] {
      if (from !== next || to < from || to > count) throw new Error(`IndexSnapshotReader.keys(${from}, ${to}) out of sequence`)
      const keys = new Array<string>(to - from)
      for (let i = from; i < to; i++) {
        const length = buf.readUInt16LE(HEADER_BYTES + i * 2)
        if (length === 0 || length > MAX_KEY_BYTES || at + length > keysEnd) throw new IndexSnapshotError(`key #${i} has a bad length`)
        const key = buf.toString('utf8', at, at + length)
        at += length
        if (previous !== undefined && !(previous < key)) throw new IndexSnapshotError('its keys are not in ascending order')
        keys[i - from] = key
        previous = key
      }
      next = to
      return keys
    },
  }
}

/** A saved snapshot an open took out of the store: read it (once) to use it. */
export interface SavedIndex {
  /** The file's bytes (and removes the file); undefined when it is gone. Check them with readIndexSnapshot. */
  read(): Promise<Uint8Array | undefined>
  /** The SHA-256 the store recorded for it. */
  readonly vouched: Uint8Array
  /** Keys the store held when opened that show something: what the snapshot must hold. */
  readonly keys: number
}

/**
 * Takes the saved snapshot out of the store: deletes the meta row that vouches for it,
 * staged before anything else this open writes, so a snapshot never outlives the state it
 * describes. Every open of a store calls this, whether it will use the snapshot or not;
 * the file is read later (SavedIndex.read), off the open's path.
 */
export async function takeIndexSnapshot(store: Store): Promise<SavedIndex | undefined> {
  const row = store.getMeta(INDEX_SNAPSHOT_META)
  if (row === undefined) {
    store.removeAside(INDEX_SNAPSHOT_ASIDE)
    return undefined
  }
  const vouched = new Uint8Array(row)
  await store.write({ meta: [{ name: INDEX_SNAPSHOT_META, value: null }] })
  return {
    vouched,
    keys: store.countShownKeys(),
    async read() {
      const bytes = await store.readAside(INDEX_SNAPSHOT_ASIDE)
      store.removeAside(INDEX_SNAPSHOT_ASIDE)
      return bytes
    },
  }
}

/**
 * Saves a snapshot (encodeIndexSnapshot) beside the store and vouches for it with a meta
 * row holding its SHA-256. Only call it when nothing will write keys before the store closes.
 */
export async function saveIndexSnapshot(store: Store, bytes: Uint8Array): Promise<void> {
  store.writeAside(INDEX_SNAPSHOT_ASIDE, bytes)
  await store.write({ meta: [{ name: INDEX_SNAPSHOT_META, value: bytes.subarray(bytes.length - HASH_BYTES) }] })
}

function align8(n: number): number {
  return (n + 7) & ~7
}
