// The change feed over HTTP after a tombstone purge (issue 14): a cursor from before what the
// node purged is refused with 410 CURSOR_TOO_OLD, whose message says to read the keys again.
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openDatabase } from '../../src/index.js'
import { movedClock } from '../fixtures/moved-clock.js'
import { closeAll, kvPath, tempDir, testServer, track } from './http-harness.js'

afterEach(closeAll)

describe('change feed cursors and the tombstone purge over HTTP', () => {
  it('GET /v1/watch with a cursor from before a purge answers 410 CURSOR_TOO_OLD', async () => {
    const { clock, moved } = movedClock()
    const db = track(await openDatabase({ dataDir: join(tempDir(), 'data'), clock, tombstonePurgeMs: 60_000 }))
    const { server } = await testServer({ db })
    const inject = server.app.inject.bind(server.app)
    expect((await inject({ method: 'POST', url: kvPath('a'), payload: { type: 'lww', op: 'set', value: 1 } })).statusCode).toBe(200)
    const feed = db.watch('')
    const { cursor } = (await feed.next()).value as { cursor: string }
    await feed.return?.()
    expect((await inject({ method: 'DELETE', url: kvPath('a') })).statusCode).toBe(200)
    moved.ms = 61_000
    expect(await db.purgeTombstones()).toBe(1)
    const res = await inject({ method: 'GET', url: `/v1/watch?since=${cursor}` })
    expect(res.statusCode).toBe(410)
    expect(res.json().error).toMatchObject({ code: 'CURSOR_TOO_OLD' })
    expect(res.json().error.message).toMatch(/read the keys again/)
  })
})
