// Session tokens whose header is fine but whose CRDT witness is not: refused at the
// boundary with InvalidTokenError, never a CrdtDecodeError from deep in the read path.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { InvalidTokenError, openDatabase, type Database } from '../../src/index.js'
import { decodeSessionToken, encodeSessionToken } from '../../src/replica/session-token.js'

/** Version, type tag and the 8-byte key hash come before the witness. */
const HEADER_BYTES = 10

let dir: string
let db: Database

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-token-'))
  db = await openDatabase({ dataDir: join(dir, 'data') })
})

afterEach(async () => {
  await db.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Keeps the token's header and replaces its witness with `change(witness)`. */
function withWitness(token: string, change: (witness: Uint8Array) => Uint8Array): string {
  const bytes = new Uint8Array(Buffer.from(token, 'base64url'))
  const witness = change(bytes.slice(HEADER_BYTES))
  const out = new Uint8Array(HEADER_BYTES + witness.length)
  out.set(bytes.subarray(0, HEADER_BYTES))
  out.set(witness, HEADER_BYTES)
  return Buffer.from(out).toString('base64url')
}

const corruptions: [string, (w: Uint8Array) => Uint8Array][] = [
  ['truncated by one byte', (w) => w.subarray(0, w.length - 1)],
  ['emptied', () => new Uint8Array()],
  ['with a byte appended', (w) => Uint8Array.from([...w, 0])],
  ['with every byte flipped', (w) => w.map((b) => b ^ 0xff)],
  ['with its version byte changed', (w) => Uint8Array.from([w[0]!, 0xee, ...w.subarray(2)])],
]

/** A fresh write of each type on `key`, and the token it returned. */
const writers: [string, (d: Database, key: string) => Promise<string>][] = [
  ['gcounter', async (d, key) => (await d.gcounter(key).increment(2)).token],
  ['pncounter', async (d, key) => (await d.counter(key).decrement(1)).token],
  ['orset', async (d, key) => (await d.set(key).add({ sku: 'apple' })).token],
  ['lww', async (d, key) => (await d.register(key).set('Ada')).token],
  ['delete', async (d, key) => {
    await d.counter(key).increment(3)
    return (await d.delete(key)).token as string
  }],
]

describe('decodeSessionToken', () => {
  it.each(writers)('refuses a %s token whose witness is malformed, in every way tried, with InvalidTokenError', async (_type, write) => {
    const token = await write(db, 'k')
    expect(decodeSessionToken('k', token).witness.length).toBeGreaterThan(0)
    for (const [how, change] of corruptions) {
      const bad = withWitness(token, change)
      expect(() => decodeSessionToken('k', bad), how).toThrow(InvalidTokenError)
      expect(() => decodeSessionToken('k', bad), how).toThrow(/witness/)
    }
  })

  it('refuses a well-formed witness of another type under the token\'s type tag', async () => {
    const gcounterToken = (await db.gcounter('k').increment()).token
    const witness = decodeSessionToken('k', gcounterToken).witness
    expect(() => decodeSessionToken('k', encodeSessionToken('k', 'pncounter', witness))).toThrow(InvalidTokenError)
  })
})

describe('reads with a corrupted token', () => {
  it.each(writers)('a %s read refuses it with InvalidTokenError, through get() and through the handle', async (type, write) => {
    const token = await write(db, 'k')
    for (const [how, change] of corruptions) {
      const bad = withWitness(token, change)
      await expect(db.get('k', { token: bad }), how).rejects.toThrow(InvalidTokenError)
      const handle = type === 'gcounter' ? db.gcounter('k') : type === 'pncounter' ? db.counter('k') : type === 'orset' ? db.set('k') : db.register('k')
      await expect(handle.value({ token: bad }), how).rejects.toThrow(InvalidTokenError)
    }
  })

  it('refuses it on a key that holds nothing yet', async () => {
    const { token } = await db.register('elsewhere').set('Ada')
    const bad = withWitness(encodeSessionToken('fresh', 'lww', decodeSessionToken('elsewhere', token).witness), (w) => w.subarray(0, 3))
    await expect(db.get('fresh', { token: bad })).rejects.toThrow(InvalidTokenError)
  })

  it.each(writers)('still reads its own %s write with the token the write returned', async (type, write) => {
    const token = await write(db, 'k')
    const expected = await db.get('k')
    expect(expected === undefined).toBe(type === 'delete')
    await expect(db.get('k', { token })).resolves.toEqual(expected)
  })
})
