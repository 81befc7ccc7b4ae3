// A networked node saves its anti-entropy index when it closes cleanly and loads it at
// the next open instead of reading the whole store. On real SQLite data directories: the
// restart loads it, and whatever could make it stale (a local open that wrote, writes
// while it loads, a crash after the open took it) leaves an index equal to a rebuild.
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ArcIndex } from '../../src/cluster/anti-entropy/arc-index.js'
import { INDEX_SNAPSHOT_META } from '../../src/cluster/anti-entropy/index-snapshot.js'
import { recordingLogger, type RecordedLine } from '../../src/base/logger.js'
import { openDatabase, type Database } from '../../src/index.js'
import { DATABASE_FILE } from '../../src/store/index.js'
import { MemoryHub } from '../support/memory-hub.js'
import { until } from '../support/waits.js'

let dir: string
let hub: MemoryHub
const open: Database[] = []

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-index-snapshot-'))
  hub = new MemoryHub()
})

afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()))
  rmSync(dir, { recursive: true, force: true })
})

const dataDir = (): string => join(dir, 'node')
const savedFile = (): string => join(dataDir(), `${DATABASE_FILE}.anti-entropy-index`)

async function openNode(networked: boolean): Promise<{ db: Database; lines: RecordedLine[] }> {
  const lines: RecordedLine[] = []
  const db = await openDatabase({ dataDir: dataDir(), logger: recordingLogger(lines), ...(networked ? { transport: hub.transport('node') } : {}) })
  open.push(db)
  return { db, lines }
}

async function closeNode(db: Database): Promise<void> {
  open.splice(open.indexOf(db), 1)
  await db.close()
}

/** Where the index came from once whole: 'saved index' or 'store'. */
async function indexSource(db: Database, lines: RecordedLine[]): Promise<unknown> {
  await until(() => db.engine!.arcIndex.ready, 'the anti-entropy index is whole', 60_000)
  return lines.find((l) => l.message === 'anti-entropy index built')?.fields.from
}

/** The node's index, arc by arc, against one rebuilt from its store on the same ring. */
function expectIndexMatchesStore(db: Database): void {
  const engine = db.engine!
  const ring = engine.membership.ring().ring
  const fresh = new ArcIndex()
  fresh.rebuild(ring, db.replica.store)
  const arcs = (index: ArcIndex): string[] =>
    Array.from(ring.tokens, (_, arc) => `${Buffer.from(index.arcHash(arc)).toString('hex')}:${index.keysIn(arc).map((k) => k.key).join(',')}`)
  expect(arcs(engine.arcIndex)).toEqual(arcs(fresh))
  expect(engine.arcIndex.size).toBe(db.replica.store.countKeys())
}

async function writeCounters(db: Database, from: number, count: number): Promise<void> {
  await Promise.all(Array.from({ length: count }, (_, i) => db.counter(`k${from + i}`).increment(1)))
}

describe('the saved anti-entropy index', () => {
  it('a clean restart loads the index the close saved, equal to a rebuild, and takes the file out while open', async () => {
    const first = await openNode(true)
    expect(await indexSource(first.db, first.lines)).toBe('store')
    await writeCounters(first.db, 0, 3_000)
    await closeNode(first.db)
    expect(existsSync(savedFile())).toBe(true)

    const again = await openNode(true)
    expect(await indexSource(again.db, again.lines)).toBe('saved index')
    expectIndexMatchesStore(again.db)
    // Taken out by the open: a crash from here on leaves nothing the next open would trust.
    expect(again.db.replica.store.getMeta(INDEX_SNAPSHOT_META)).toBeUndefined()
    expect(existsSync(savedFile())).toBe(false)
    expect(again.db.syncStatus().keys).toBe(3_000)
  })

  it('after a crash (no clean close) the next open rebuilds from the store', async () => {
    const first = await openNode(true)
    await writeCounters(first.db, 0, 500)
    await closeNode(first.db)
    const crashed = await openNode(true)
    expect(await indexSource(crashed.db, crashed.lines)).toBe('saved index')
    // Existing keys only: the store still holds as many keys as the snapshot did.
    await writeCounters(crashed.db, 0, 100)
    // What kill -9 leaves: the data as committed, nothing written by a close.
    const { store } = crashed.db.replica
    await store.close()
    open.splice(open.indexOf(crashed.db), 1)

    const restarted = await openNode(true)
    expect(await indexSource(restarted.db, restarted.lines)).toBe('store')
    expectIndexMatchesStore(restarted.db)
    expect(restarted.db.syncStatus().keys).toBe(500)
  })

  it('a local open that writes in between makes the next networked open rebuild', async () => {
    const first = await openNode(true)
    await writeCounters(first.db, 0, 500)
    await closeNode(first.db)
    const local = await openNode(false)
    await local.db.counter('k1').increment(5)
    await writeCounters(local.db, 500, 10)
    await closeNode(local.db)
    expect(existsSync(savedFile())).toBe(true)

    const networked = await openNode(true)
    expect(await indexSource(networked.db, networked.lines)).toBe('store')
    expectIndexMatchesStore(networked.db)
    expect(existsSync(savedFile())).toBe(false)
  })

  it('writes made while the saved index loads are in it once it is whole', async () => {
    const first = await openNode(true)
    // (Loads of several pages, with changes between them, are covered by test/cluster/index-snapshot.test.ts.)
    await writeCounters(first.db, 0, 4_000)
    // A close saves the index only once it is whole.
    await indexSource(first.db, first.lines)
    await closeNode(first.db)

    const again = await openNode(true)
    expect(again.db.engine!.arcIndex.ready).toBe(false)
    // Existing keys and new ones, while the load has not finished.
    await Promise.all([again.db.counter('k7').increment(2), again.db.counter('k3999').increment(1), writeCounters(again.db, 4_000, 50)])
    expect(await indexSource(again.db, again.lines)).toBe('saved index')
    expectIndexMatchesStore(again.db)
    expect(again.db.syncStatus().keys).toBe(4_050)
  })
})
