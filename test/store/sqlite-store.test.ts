import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { afterEach, describe, expect, it } from 'vitest'
import {
  CorruptDatabaseError,
  DatabaseLockedError,
  DatabaseOpenError,
  ForeignDatabaseError,
  UnsupportedSchemaVersionError,
} from '../../src/store/errors.js'
import { APPLICATION_ID, MIGRATIONS, migrate, type Migration } from '../../src/store/migrations.js'
import { indexEntryOf } from '../../src/base/key-hashes.js'
import { SqliteStore, type SqliteStoreOptions } from '../../src/store/sqlite-store.js'
import { PAGE_CACHE_BYTES, WAL_AUTOCHECKPOINT_PAGES } from '../../src/store/sqlite-open.js'
import type { KeyWrite } from '../../src/store/store.js'
import { stateDigest } from '../../src/store/digest.js'
import { sqliteHarness, tempDir } from './harness.js'
import { runStoreTests } from './store-acceptance.js'

runStoreTests('SqliteStore', sqliteHarness)

const fixture = fileURLToPath(new URL('./fixtures/store-process.ts', import.meta.url))
const kw = (key: string, state = new Uint8Array([1])): KeyWrite => ({ key, type: 'lww', state, hlc: new Uint8Array(8) })

describe('SqliteStore', () => {
  // Everything a test opens or creates is released here, even when it fails.
  const cleanups: (() => unknown)[] = []
  afterEach(async () => {
    for (const fn of cleanups.splice(0).reverse()) await fn()
  })
  function scratch(): string {
    const { dir, remove } = tempDir()
    cleanups.push(remove)
    return dir
  }
  async function open(opts: SqliteStoreOptions): Promise<SqliteStore> {
    const store = await SqliteStore.open(opts)
    cleanups.push(() => store.close())
    return store
  }
  /** A store whose commits throw before they commit while `failCommits(true)` holds. */
  async function failableStore(path: string): Promise<{ store: SqliteStore; failCommits: (on: boolean) => void }> {
    let fail = false
    const store = await open({
      path,
      hooks: {
        beforeCommit: () => {
          if (fail) throw new Error('injected')
        },
      },
    })
    return { store, failCommits: (on) => (fail = on) }
  }

  describe('exclusive ownership', () => {
    function startProcess(mode: 'hold' | 'try-open' | 'churn', path: string) {
      const child = spawn(process.execPath, ['--import', 'tsx', fixture, mode, path], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      cleanups.push(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      })
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      /** Resolves with the first line the child prints; rejects if it exits first. */
      const firstLine = new Promise<string>((resolve, reject) => {
        let out = ''
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString()
          const nl = out.indexOf('\n')
          if (nl >= 0) resolve(out.slice(0, nl))
        })
        child.on('exit', (code) => reject(new Error(`child exited (${code}) before printing: ${stderr}`)))
      })
      return { child, firstLine }
    }

    it('refuses a file held by another live process, and opens it once that process was killed', async () => {
      const path = join(scratch(), 'data.db')
      const holder = startProcess('hold', path)
      expect(await holder.firstLine).toBe('ready')

      const err = await SqliteStore.open({ path }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DatabaseLockedError)
      expect((err as Error).message).toContain(path)
      expect((err as Error).message).toMatch(/another rumordb process/)
      expect((err as Error).message).toMatch(/stop that process or pick another data directory/)

      const exited = once(holder.child, 'exit')
      holder.child.kill('SIGKILL')
      expect((await exited)[1]).toBe('SIGKILL')

      const store = await open({ path })
      // The holder's acknowledged write survived kill -9.
      expect(store.getKey('held')?.state).toEqual(new Uint8Array([42]))
      expect(store.integrityCheck()).toBe('ok')
    })

    it('makes a second process fail with DatabaseLockedError while this one holds the file', async () => {
      const path = join(scratch(), 'data.db')
      await open({ path })
      const other = startProcess('try-open', path)
      const outcome = JSON.parse(await other.firstLine) as { opened: boolean; name?: string; message?: string }
      expect(outcome).toMatchObject({ opened: false, name: 'DatabaseLockedError' })
      expect(outcome.message).toContain(path)
    })

    it('keeps every acknowledged write when the writing process is killed mid-stream', async () => {
      const path = join(scratch(), 'data.db')
      const writer = startProcess('churn', path)
      await writer.firstLine
      // Let it run until a few hundred writes were acknowledged, then kill it wherever it is.
      let lastAck = -1
      await new Promise<void>((resolve, reject) => {
        writer.child.on('exit', (code) => reject(new Error(`the writer exited early (${code})`)))
        writer.child.stdout.on('data', (d: Buffer) => {
          const acks = d.toString().match(/ack (\d+)/g) ?? []
          for (const a of acks) lastAck = Number(a.slice(4))
          if (lastAck >= 500) resolve()
        })
      })
      const exited = once(writer.child, 'exit')
      writer.child.kill('SIGKILL')
      await exited

      const store = await open({ path })
      expect(store.integrityCheck()).toBe('ok')
      for (let n = 0; n <= lastAck; n++) expect(store.getKey(`w${n}`), `w${n}`).toBeDefined()
      expect(store.countKeys()).toBeGreaterThanOrEqual(lastAck + 1)
    })

    it('refuses a second store on the same file in the same process', async () => {
      const path = join(scratch(), 'data.db')
      const first = await open({ path })
      await expect(SqliteStore.open({ path, busyTimeoutMs: 0 })).rejects.toThrow(DatabaseLockedError)
      await first.close()
      const second = await open({ path })
      expect(second.countKeys()).toBe(0)
    })
  })

  describe('files that are not ours', () => {
    it.each([
      ['a long text file', 'this is not a database, just text. '.repeat(100)],
      ['a short text file', 'hello'],
      ['random bytes', Buffer.from(Array.from({ length: 8192 }, (_, i) => (i * 7919 + 13) % 251))],
    ])('refuses %s with CorruptDatabaseError naming the path, and leaves it alone', async (_what, content) => {
      const path = join(scratch(), 'data.db')
      writeFileSync(path, content)
      const before = readFileSync(path)
      const err = await SqliteStore.open({ path }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CorruptDatabaseError)
      expect((err as Error).message).toContain(path)
      expect((err as Error).message).toMatch(/restore it from a backup|pick another data directory/)
      expect(readFileSync(path)).toEqual(before)
    })

    it('refuses an SQLite file of another application (tables, no mark) and leaves it alone', async () => {
      const path = join(scratch(), 'other.db')
      const other = new Database(path)
      other.exec('CREATE TABLE notes (body TEXT)')
      other.close()
      const before = readFileSync(path)
      const err = await SqliteStore.open({ path }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(ForeignDatabaseError)
      expect((err as Error).message).toContain(path)
      expect((err as Error).message).toMatch(/notes/)
      expect(readFileSync(path)).toEqual(before)
    })

    it('refuses an SQLite file with another application_id', async () => {
      const path = join(scratch(), 'other.db')
      const other = new Database(path)
      other.pragma('application_id = 1234')
      other.close()
      const before = readFileSync(path)
      await expect(SqliteStore.open({ path })).rejects.toThrow(ForeignDatabaseError)
      await expect(SqliteStore.open({ path })).rejects.toThrow(/0x4d2/)
      expect(readFileSync(path)).toEqual(before)
    })

    it('refuses a file written by a newer schema version', async () => {
      const path = join(scratch(), 'data.db')
      const newer = new Database(path)
      newer.pragma(`application_id = ${APPLICATION_ID}`)
      newer.pragma('user_version = 99')
      newer.close()
      const err = await SqliteStore.open({ path }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(UnsupportedSchemaVersionError)
      expect((err as Error).message).toContain(path)
      expect((err as Error).message).toMatch(/upgrade rumordb/)
    })

    it('reports a directory in place of the file as DatabaseOpenError', async () => {
      const path = join(scratch(), 'data.db')
      mkdirSync(path)
      const err = await SqliteStore.open({ path }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(DatabaseOpenError)
      expect((err as Error).message).toContain(path)
    })
  })

  describe('schema', () => {
    it('migrates an empty SQLite file from version 0 to the latest and marks it as rumordb', async () => {
      const path = join(scratch(), 'data.db')
      new Database(path).close()
      const store = await open({ path })
      const latest = MIGRATIONS.at(-1)?.version
      expect(latest).toBe(6)
      expect(store.diagnostics()).toMatchObject({ userVersion: latest, applicationId: APPLICATION_ID, openedAtVersion: 0 })
      await store.close()
      const again = await open({ path })
      expect(again.diagnostics().openedAtVersion).toBe(6)
    })

    it('gives the rows of a version 5 file their index entries, which an index build then reads', async () => {
      const path = join(scratch(), 'v5.db')
      const db = new Database(path)
      migrate(db, path, MIGRATIONS.slice(0, 5))
      const insert = db.prepare('INSERT INTO keys (key, type, state, hlc, digest, deleted_at) VALUES (?, ?, ?, ?, ?, ?)')
      const state = (i: number) => new TextEncoder().encode(`state ${i}`)
      for (let i = 0; i < 300; i++) insert.run(`k${i}`, 'lww', state(i), new Uint8Array(8), stateDigest(state(i)), i % 10 === 0 ? 5 : null)
      db.close()
      const store = await open({ path })
      expect(store.diagnostics().openedAtVersion).toBe(5)
      const page = store.scanIndexEntries(undefined, 1000)
      const shown = Array.from({ length: 300 }, (_, i) => i).filter((i) => i % 10 !== 0)
      expect([...page.keys].sort()).toEqual(shown.map((i) => `k${i}`).sort())
      page.keys.forEach((key, j) => {
        const digest = stateDigest(state(Number(key.slice(1))))
        expect(page.records.subarray(j * 40, j * 40 + 16)).toEqual(digest)
        expect(page.records.subarray(j * 40 + 16, j * 40 + 40)).toEqual(indexEntryOf(key, digest))
      })
    })

    it('creates new files with incremental vacuum, so purged rows give their pages back', async () => {
      const path = join(scratch(), 'vacuum.db')
      const store = await open({ path })
      const big = new Uint8Array(3000).fill(7)
      const rows: KeyWrite[] = Array.from({ length: 400 }, (_, i) => ({ key: `k${i}`, type: 'lww', state: big, hlc: new Uint8Array(8), deletedAt: 1 }))
      await store.write({ keys: rows })
      expect(store.releaseFreePages(1024)).toBe(0)
      expect(await store.purge(rows.map((r) => ({ key: r.key, digest: stateDigest(big) })))).toBe(400)
      // At most the pages asked for, then the rest, then none.
      expect(store.releaseFreePages(100)).toBe(100)
      expect(store.releaseFreePages(10_000)).toBeGreaterThan(200)
      expect(store.releaseFreePages(10_000)).toBe(0)
      await store.close()
      const db = new Database(path, { readonly: true, fileMustExist: true })
      expect(Number(db.pragma('auto_vacuum', { simple: true }))).toBe(2)
      expect(Number(db.pragma('freelist_count', { simple: true }))).toBe(0)
      db.close()
    })

    it('creates a missing data directory', async () => {
      const path = join(scratch(), 'nested', 'deeper', 'data.db')
      const store = await open({ path })
      expect(statSync(path).isFile()).toBe(true)
      expect(store.countKeys()).toBe(0)
    })

    it('runs only the migrations above the file version, all in one transaction', () => {
      const path = join(scratch(), 'data.db')
      const db = new Database(path)
      cleanups.push(() => db.close())
      expect(migrate(db, path, MIGRATIONS.slice(0, 1))).toEqual({ from: 0, to: 1 })
      let v1Runs = 0
      const list: Migration[] = [{ version: 1, description: 'v1', up: () => void v1Runs++ }, MIGRATIONS[1]!]
      expect(migrate(db, path, list)).toEqual({ from: 1, to: 2 })
      expect(v1Runs).toBe(0)
      expect(db.pragma('user_version', { simple: true })).toBe(2)
      expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'key_pages'").pluck().get()).toBe(1)

      const broken: Migration = { version: 3, description: 'fails half way', up: (d) => {
        d.exec('CREATE TABLE half (x)')
        throw new Error('boom')
      } }
      expect(() => migrate(db, path, [...list, broken])).toThrow('boom')
      expect(db.pragma('user_version', { simple: true })).toBe(2)
      expect(db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'half'").pluck().get()).toBe(0)
    })
  })

  describe('states in pages', () => {
    it('keeps one row per listed page: a new version writes its new pages and deletes those it dropped', async () => {
      const path = join(scratch(), 'data.db')
      const page = (...b: number[]) => ({ digest: stateDigest(Uint8Array.from(b)), bytes: Uint8Array.from(b) })
      const [p1, p2, p3] = [page(1), page(2), page(3)]
      const paged = (pages: { digest: Uint8Array; bytes: Uint8Array }[]): KeyWrite => ({ ...kw('set', new Uint8Array([9])), type: 'orset', pages })
      const rows = (): unknown[] => {
        const db = new Database(path, { readonly: true })
        try {
          return db.prepare('SELECT hex(digest) AS digest FROM key_pages ORDER BY 1').pluck().all()
        } finally {
          db.close()
        }
      }
      const hexOf = (p: { digest: Uint8Array }) => Buffer.from(p.digest).toString('hex').toUpperCase()
      let store = await open({ path })
      await store.write({ keys: [paged([p1, p2])] })
      // Two versions in one turn: only the last is committed, so p2 is never written.
      const a = store.write({ keys: [paged([p2, p3])] })
      const b = store.write({ keys: [paged([p1, p3])] })
      await Promise.all([a, b])
      await store.close()
      expect(rows()).toEqual([p1, p3].map(hexOf).sort())
      store = await open({ path })
      expect(store.getKey('set')?.state).toEqual(new Uint8Array([9, 1, 3]))
      await store.write({ keys: [kw('set', new Uint8Array([4]))] })
      await store.close()
      expect(rows()).toEqual([])
    })

    it('refuses to read a key whose page is missing, naming the file', async () => {
      const path = join(scratch(), 'data.db')
      let store = await open({ path })
      await store.write({ keys: [{ ...kw('set'), type: 'orset', pages: [{ digest: stateDigest(new Uint8Array([1])), bytes: new Uint8Array([1]) }] }] })
      await store.close()
      const db = new Database(path)
      db.exec('DELETE FROM key_pages')
      db.close()
      store = await open({ path })
      expect(() => store.getKey('set')).toThrow(/lists a page it does not have/)
    })
  })

  describe('settings', () => {
    it('uses WAL, exclusive locking and synchronous NORMAL by default', async () => {
      const store = await open({ path: join(scratch(), 'data.db') })
      expect(store.diagnostics()).toMatchObject({ journalMode: 'wal', lockingMode: 'exclusive', synchronous: 'NORMAL', walAutocheckpoint: WAL_AUTOCHECKPOINT_PAGES, pageCacheBytes: PAGE_CACHE_BYTES })
    })

    it('gives the page cache its size back after the count at open and after an index build\'s scan (held small during them)', async () => {
      const path = join(scratch(), 'data.db')
      let store = await open({ path })
      await store.write({ keys: Array.from({ length: 3_000 }, (_, i) => kw(`k${String(i).padStart(5, '0')}`, new Uint8Array(500).fill(i % 251))) })
      await store.close()
      store = await open({ path })
      expect(store.countKeys()).toBe(3_000)
      expect(store.diagnostics().pageCacheBytes).toBe(PAGE_CACHE_BYTES)
      expect(store.scanIndexEntries(undefined, 2_000).keys).toHaveLength(2_000)
      expect(store.diagnostics().pageCacheBytes).toBe(PAGE_CACHE_BYTES)
    })

    it('applies synchronous FULL when asked', async () => {
      const store = await open({ path: join(scratch(), 'data.db'), synchronous: 'FULL' })
      expect(store.diagnostics().synchronous).toBe('FULL')
    })

    it('rejects an unknown synchronous mode', async () => {
      const path = join(scratch(), 'data.db')
      await expect(SqliteStore.open({ path, synchronous: 'OFF' as 'FULL' })).rejects.toThrow(DatabaseOpenError)
    })
  })

  describe('rewriting a key in one process', () => {
    // A commit remembers the rows it wrote whole instead of reading them again (row-facts.ts):
    // counts and pages must stay exact through every kind of row a key can become.
    it('keeps the counts and the pages exact through tombstones, pages, a failed commit and a purge', async () => {
      const path = join(scratch(), 'data.db')
      const { store, failCommits } = await failableStore(path)
      const page = (b: number) => ({ digest: stateDigest(Uint8Array.from([b])), bytes: Uint8Array.from([b]) })
      const counts = () => [store.countKeys(), store.countShownKeys()]
      const tomb = (state: number): KeyWrite => ({ ...kw('k', new Uint8Array([state])), deletedAt: 5 })
      await store.write({ keys: [kw('k'), kw('other')] })
      expect(counts()).toEqual([2, 2])
      await store.write({ keys: [tomb(2)] })
      expect(counts()).toEqual([2, 1])
      await store.write({ keys: [kw('k', new Uint8Array([3]))] })
      expect(counts()).toEqual([2, 2])
      await store.write({ keys: [{ ...kw('k', new Uint8Array([9])), type: 'orset', pages: [page(1), page(2)] }] })
      expect(store.getKey('k')?.paged?.pages.length).toBe(2)
      await store.write({ keys: [kw('k', new Uint8Array([4]))] })
      expect(counts()).toEqual([2, 2])
      // Rolled back: the row is still the live one, so the next tombstone counts once.
      failCommits(true)
      await expect(store.write({ keys: [tomb(5)] })).rejects.toThrow(/none of them was stored/)
      failCommits(false)
      expect(counts()).toEqual([2, 2])
      await store.write({ keys: [tomb(6)] })
      expect(counts()).toEqual([2, 1])
      expect(await store.purge([{ key: 'k', digest: stateDigest(new Uint8Array([6])) }])).toBe(1)
      expect(counts()).toEqual([1, 1])
      // A new row again.
      await store.write({ keys: [kw('k', new Uint8Array([7]))] })
      expect(counts()).toEqual([2, 2])
      await store.close()
      const db = new Database(path, { readonly: true })
      try {
        expect(db.prepare('SELECT count(*) FROM key_pages').pluck().get()).toBe(0)
      } finally {
        db.close()
      }
      const again = await open({ path })
      expect([again.countKeys(), again.countShownKeys()]).toEqual([2, 2])
      // What a read found serves the next commit of the key as well.
      expect(again.getKey('k')?.state).toEqual(new Uint8Array([7]))
      await again.write({ keys: [tomb(8)] })
      expect([again.countKeys(), again.countShownKeys()]).toEqual([2, 1])
      expect(again.getKey('k')?.state).toEqual(new Uint8Array([8]))
      await again.write({ keys: [kw('k', new Uint8Array([9]))] })
      expect([again.countKeys(), again.countShownKeys()]).toEqual([2, 2])
    })
  })

  describe('group commit on disk', () => {
    it('writes one turn of writes as one transaction (counted in WAL frames)', async () => {
      const path = join(scratch(), 'data.db')
      const store = await open({ path })
      await store.write({ keys: [kw('warm-up')] })
      const frameBytes = store.diagnostics().pageSize + 24
      const walFrames = () => statSync(`${path}-wal`).size / frameBytes

      // Every committed transaction appends at least one frame (the changed leaf page).
      const start = walFrames()
      await Promise.all(Array.from({ length: 200 }, (_, i) => store.write({ keys: [kw(`same-turn-${i}`)] })))
      const sameTurn = walFrames() - start
      for (let i = 0; i < 50; i++) await store.write({ keys: [kw(`own-turn-${i}`)] })
      const ownTurns = walFrames() - start - sameTurn

      // 200 rows of about 90 bytes: a few leaf pages, the index pages and the header.
      expect(sameTurn).toBeLessThanOrEqual(12)
      expect(ownTurns).toBeGreaterThanOrEqual(50)
      expect(store.countKeys()).toBe(251)
    })

    it('rolls back a transaction that failed after its statements ran', async () => {
      const path = join(scratch(), 'data.db')
      const { store, failCommits } = await failableStore(path)
      await store.write({ keys: [kw('a')], meta: [{ name: 'm', value: new Uint8Array([1]) }] })
      failCommits(true)
      const lost = store.write({
        keys: [kw('b'), kw('a', new Uint8Array([2]))],
        meta: [{ name: 'm', value: null }],
        idempotency: [{ id: 'i', result: new Uint8Array([1]), expiresAt: 5 }],
        hints: { add: [{ target: 't', key: 'b', type: 'lww', state: new Uint8Array([1]), createdAt: 1 }] },
        members: { upsert: [{ peerId: 'p', record: new Uint8Array([1]) }] },
      })
      await expect(lost).rejects.toThrow(/none of them was stored/)
      failCommits(false)
      expect(store.integrityCheck()).toBe('ok')
      await store.close()
      const again = await open({ path })
      expect(again.scan({}).map((k) => [k.key, [...k.state]])).toEqual([['a', [1]]])
      expect(again.getMeta('m')).toEqual(new Uint8Array([1]))
      expect(again.getIdempotency('i', 0)).toBeUndefined()
      expect(again.listHints()).toEqual([])
      expect(again.listMembers()).toEqual([])
      expect(again.countKeys()).toBe(1)
    })
  })
})
