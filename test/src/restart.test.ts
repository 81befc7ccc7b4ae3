// Values, the actor id and the hybrid logical clock survive a clean close and a SIGKILL,
// and after a restart the clock continues strictly after the last persisted timestamp even
// when the wall clock has stepped back, so a new LWW write still wins.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { compareTimestamps, type LWWRegisterState, type Timestamp } from '../../crdts/index.js'
import { systemClock, type Clock } from '../../src/base/clock.js'
import { openDatabase } from '../../src/index.js'
import { inspectDataDir } from '../fixtures/inspect-data-dir.js'
import { readScript, SCRIPT_KEYS, SCRIPT_VALUES, writeScript } from '../fixtures/restart-script.js'
import { WriterProcesses } from '../fixtures/writer-process.js'

const HOUR_MS = 60 * 60 * 1000
/** A wall clock that has stepped back an hour since the data was written. */
const hourBehind: Clock = { ...systemClock, now: () => Date.now() - HOUR_MS }

const writers = new WriterProcesses()
const tempDirs: string[] = []

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rumordb-restart-'))
  tempDirs.push(dir)
  return dir
}

afterEach(() => {
  writers.killAll()
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

/** The persisted clock, after checking the file and that no key's change is ahead of it. */
async function persistedClock(dataDir: string, actor: string): Promise<Timestamp> {
  const disk = await inspectDataDir(dataDir)
  expect(disk.integrity).toBe('ok')
  expect(disk.actor).toBe(actor)
  const clock = disk.clock
  if (clock === undefined) throw new Error('no HLC was persisted')
  for (const [key, keyClock] of disk.keyClocks) {
    expect(compareTimestamps(clock, keyClock), `persisted HLC vs ${key}'s change`).toBeGreaterThanOrEqual(0)
  }
  return clock
}

/**
 * Reopens with the wall clock an hour behind: the script's values and the actor are there,
 * and a new register write gets a timestamp after `before` and wins over the old value.
 */
async function expectResumesAfter(dataDir: string, actor: string, before: Timestamp): Promise<void> {
  const db = await openDatabase({ dataDir, clock: hourBehind })
  try {
    expect(db.actorId).toBe(actor)
    expect(await readScript(db)).toEqual(SCRIPT_VALUES)
    const old = (await db.readState(SCRIPT_KEYS.register, 'lww')) as LWWRegisterState
    expect(old?.value).toBe(SCRIPT_VALUES.register)
    // The script's last write is this register's, so its timestamp is the persisted clock.
    expect(old?.timestamp).toEqual(before)

    await db.register(SCRIPT_KEYS.register).set('after restart')
    expect(await db.register(SCRIPT_KEYS.register).value()).toBe('after restart')
    const written = (await db.readState(SCRIPT_KEYS.register, 'lww')) as LWWRegisterState
    expect(written?.actor).toBe(actor)
    expect(compareTimestamps(written?.timestamp ?? before, before), 'new write is after the persisted clock').toBe(1)
  } finally {
    await db.close()
  }

  const after = await persistedClock(dataDir, actor)
  expect(compareTimestamps(after, before), 'persisted clock moved forward').toBe(1)
  // The wall clock is an hour behind, so the clock advanced logically, not to the wall time.
  expect(after.wallMs).toBe(before.wallMs)

  const again = await openDatabase({ dataDir, clock: hourBehind })
  try {
    expect(await again.register(SCRIPT_KEYS.register).value()).toBe('after restart')
    expect(again.actorId).toBe(actor)
  } finally {
    await again.close()
  }
}

describe('restart', () => {
  it('keeps values, actor id and clock across a clean close and reopen', async () => {
    const dataDir = tempDataDir()
    const startedAt = Date.now()
    const db = await openDatabase({ dataDir })
    const actor = db.actorId
    await writeScript(db)
    await db.close()

    const before = await persistedClock(dataDir, actor)
    expect(before.wallMs).toBeGreaterThanOrEqual(startedAt)
    await expectResumesAfter(dataDir, actor, before)
  })

  it('keeps acknowledged values, actor id and clock after SIGKILL of the writing process', async () => {
    const dataDir = tempDataDir()
    const startedAt = Date.now()
    let actor: string | undefined
    const writer = writers.start('restart-writer.ts', [dataDir], (event, w) => {
      if (event.type === 'ready') actor = event.actor
      else if (event.type === 'idle') w.kill()
      else throw new Error(`restart writer printed ${JSON.stringify(event)}`)
    })
    const exit = await writer.closed
    expect(exit.signal, `writer stderr:\n${exit.stderr}`).toBe('SIGKILL')
    if (actor === undefined) throw new Error('the writer never reported its actor id')

    const before = await persistedClock(dataDir, actor)
    expect(before.wallMs).toBeGreaterThanOrEqual(startedAt)
    await expectResumesAfter(dataDir, actor, before)
  })
})
