// Real processes, real SIGKILLs: a writer child keeps several writes in flight on one data
// directory and is killed at a seeded moment, chosen by how many of its events arrived;
// after each kill the test reopens the directory and checks it against the ledger of what
// the writer attempted and had acknowledged (see test/fixtures/write-ledger.ts).
import { randomInt } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { compareTimestamps, ZERO_TIMESTAMP, type Timestamp } from '../../crdts/index.js'
import { openDatabase } from '../../src/index.js'
import { seededRandom } from '../../src/base/random.js'
import { inspectDataDir } from '../fixtures/inspect-data-dir.js'
import { snapshotOf, WriteLedger, type ScannedEntry } from '../fixtures/write-ledger.js'
import { WriterProcesses, type WriterProcess } from '../fixtures/writer-process.js'
import type { WriterEvent } from '../fixtures/writer-protocol.js'

const CYCLES = 20
const MAX_ACKS_BEFORE_KILL = 400
const MAX_EXTRA_ATTEMPTS = 40

function testSeed(): number {
  const env = process.env.RUMORDB_TEST_SEED
  if (env === undefined || env === '') return randomInt(2 ** 31)
  const seed = Number(env)
  if (!Number.isSafeInteger(seed)) throw new Error(`RUMORDB_TEST_SEED must be an integer, got ${JSON.stringify(env)}`)
  return seed
}

const show = (t: Timestamp): string => `${t.wallMs}.${t.logical}`

const writers = new WriterProcesses()
const tempDirs: string[] = []

afterEach(() => {
  writers.killAll()
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('crash safety', () => {
  it(`keeps every acknowledged write through ${CYCLES} SIGKILLs of a busy writer`, { timeout: 120_000 }, async () => {
    const seed = testSeed()
    console.log(`crash-safety: seed=${seed} (rerun with RUMORDB_TEST_SEED=${seed})`)
    const rng = seededRandom(seed)
    const dataDir = mkdtempSync(join(tmpdir(), 'rumordb-crash-'))
    tempDirs.push(dataDir)
    const ledger = new WriteLedger()
    let actor: string | undefined
    let lastClock: Timestamp = ZERO_TIMESTAMP
    const totals = { attempted: 0, acknowledged: 0, committedUnacknowledged: 0 }

    for (let cycle = 0; cycle < CYCLES; cycle++) {
      // Some kills land right after startup, before any write; most mid-stream, some a few
      // attempts after an ack so that the batch being staged is cut.
      const killAfterAcks = rng.int(8) === 0 ? 0 : 1 + rng.int(MAX_ACKS_BEFORE_KILL)
      const extraAttempts = rng.int(2) === 0 ? 0 : rng.int(MAX_EXTRA_ATTEMPTS)
      const writerSeed = rng.int(2 ** 31)
      // Both modes promise to keep committed writes across a process crash.
      const synchronous = rng.int(4) === 0 ? 'FULL' : 'NORMAL'
      const where = `seed=${seed} cycle=${cycle} (synchronous=${synchronous}, kill after ${killAfterAcks} acks + ${extraAttempts} attempts)`

      try {
        ledger.startRun()
        let acks = 0
        let attemptsSinceTrigger: number | undefined
        const onEvent = (event: WriterEvent, writer: WriterProcess): void => {
          switch (event.type) {
            case 'ready':
              actor ??= event.actor
              if (event.actor !== actor) throw new Error(`actor id changed from ${actor} to ${event.actor}`)
              if (killAfterAcks === 0) attemptsSinceTrigger = 0
              break
            case 'attempt':
              ledger.attempt(event.id, event.op)
              if (attemptsSinceTrigger !== undefined) attemptsSinceTrigger++
              break
            case 'ack':
              ledger.ack(event.id)
              if (++acks === killAfterAcks) attemptsSinceTrigger = 0
              break
            case 'failed':
              throw new Error(`write ${event.id} failed in the writer: ${event.message}`)
            case 'idle':
              throw new Error('the crash writer went idle')
          }
          if (attemptsSinceTrigger !== undefined && attemptsSinceTrigger >= extraAttempts) writer.kill()
        }
        const args = [dataDir, String(writerSeed), String(cycle), synchronous]
        const writer = writers.start('crash-writer.ts', args, onEvent)
        // Every line the writer printed before it died has been handled when this resolves.
        const exit = await writer.closed
        expect(exit.signal, `${where}: the writer should die by SIGKILL, not by itself (exit code ${exit.code}); stderr:\n${exit.stderr}`).toBe('SIGKILL')

        const disk = await inspectDataDir(dataDir)
        expect(disk.integrity, `${where}: PRAGMA integrity_check`).toBe('ok')
        expect(disk.actor, `${where}: persisted actor id`).toBe(actor)
        const clock = disk.clock ?? ZERO_TIMESTAMP
        for (const [key, keyClock] of disk.keyClocks) {
          expect(compareTimestamps(clock, keyClock), `${where}: persisted HLC ${show(clock)} is behind ${key}'s ${show(keyClock)}`).toBeGreaterThanOrEqual(0)
        }
        expect(compareTimestamps(clock, lastClock), `${where}: persisted HLC went back from ${show(lastClock)} to ${show(clock)}`).toBeGreaterThanOrEqual(0)
        lastClock = clock

        const db = await openDatabase({ dataDir })
        const entries: ScannedEntry[] = []
        try {
          expect(db.actorId, `${where}: actor id after reopen`).toBe(actor)
          for await (const entry of db.scan()) entries.push(entry)
        } finally {
          await db.close()
        }
        const observed = snapshotOf(entries)
        const result = ledger.check(observed)
        expect(result.problems, `${where}: ${result.attempted} attempted, ${result.acknowledged} acknowledged writes in this run`).toEqual([])
        ledger.adopt(observed)
        totals.attempted += result.attempted
        totals.acknowledged += result.acknowledged
        totals.committedUnacknowledged += (result.prefix ?? 0) - result.acknowledged
      } catch (err) {
        // Errors from the ledger, the protocol or the writer do not know the seed.
        if (err instanceof Error && !err.message.includes(where)) err.message = `${where}: ${err.message}`
        throw err
      }
    }
    console.log(
      `crash-safety: seed=${seed}: ${CYCLES} kills, ${totals.attempted} writes attempted, ${totals.acknowledged} acknowledged, ` +
        `${totals.committedUnacknowledged} committed without an ack seen`,
    )
  })
})
