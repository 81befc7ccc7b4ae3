// A node that left its cluster and is opened on the network again with its old data
// (issue 14, tombstone purge): within the purge window it rejoins; after it the open is
// refused with RejoinTooLateError, which says to start from an empty data directory, since
// the others purged tombstones without it and its copies could bring deleted keys back.
// Opened without the network, the data stays readable.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase, RejoinTooLateError } from '../../src/index.js'
import { movedClock } from '../fixtures/moved-clock.js'
import { MemoryHub } from '../support/memory-hub.js'

const WINDOW = 24 * 3600_000
const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('rejoining after a leave', () => {
  it('rejoins within the purge window, is refused after it, and opens locally either way', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rumordb-rejoin-'))
    dirs.push(dir)
    const { clock, moved } = movedClock()
    const hub = new MemoryHub()
    const open = () => openDatabase({ dataDir: dir, clock, transport: hub.transport('a'), tombstonePurgeMs: WINDOW })
    let db = await open()
    await db.counter('kept').increment(3)
    await db.close({ leave: true })
    moved.ms = WINDOW - 60_000
    db = await open()
    expect(await db.counter('kept').value()).toBe(3)
    await db.close({ leave: true })
    moved.ms += WINDOW + 1
    await expect(open()).rejects.toBeInstanceOf(RejoinTooLateError)
    await expect(open()).rejects.toThrow(/empty data directory/)
    const local = await openDatabase({ dataDir: dir, clock })
    expect(await local.counter('kept').value()).toBe(3)
    await local.close()
    // A clean close without leaving sets no mark: the node is down, not gone, and its peers waited for it.
    moved.ms = 0
    const other = mkdtempSync(join(tmpdir(), 'rumordb-rejoin-'))
    dirs.push(other)
    const stay = () => openDatabase({ dataDir: other, clock, transport: hub.transport('b'), tombstonePurgeMs: WINDOW })
    await (await stay()).close()
    moved.ms = 10 * WINDOW
    await (await stay()).close()
  })
})
