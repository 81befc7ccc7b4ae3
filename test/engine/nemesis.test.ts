import { afterAll, describe, expect, it } from 'vitest'
import { DEFAULT_NEMESIS, DELETE_EVERY, ENGINE_TIMING, runNemesis } from './nemesis.js'

/** After the final heal, every key must converge (and every node say synced) within this many anti-entropy intervals. */
const MAX_ROUNDS_TO_CONVERGE = 20
/**
 * The same with small frames: a message of k parts takes k exchanges, any of which the 5%
 * loss can cut, so exchanges fail and are retried more often (12 of 1,000 small-frame
 * seeds took 20.4-24 rounds; none more).
 */
const MAX_ROUNDS_SMALL_FRAMES = 30
/**
 * Virtual time to converge with small frames: failed hint deliveries back off up to 30 s
 * (HANDOFF_MAX_BACKOFF_MS), and with parts they fail often enough to get there (seed 1698
 * drained its last hint between 30 and 120 s after the heal).
 */
const CONVERGE_WITHIN_SMALL_FRAMES_MS = 90_000

// RUMORDB_TEST_SEED=<n> replays one seed; RUMORDB_NEMESIS_SEEDS=<count> runs more, from RUMORDB_NEMESIS_FIRST (default 1).
const FIRST = Number(process.env.RUMORDB_TEST_SEED ?? process.env.RUMORDB_NEMESIS_FIRST ?? 1)
const COUNT = process.env.RUMORDB_TEST_SEED !== undefined ? 1 : Number(process.env.RUMORDB_NEMESIS_SEEDS ?? 140)

describe('randomized fault schedules on whole databases: convergence, honest sync status, nothing lost or counted twice', () => {
  // Seeds that keep sets in pages also send them by page lists: over several of them, pages moved.
  const paged = { seeds: 0, pages: 0 }
  afterAll(() => {
    if (paged.seeds >= 4) expect(paged.pages, `pages received by page lists over ${paged.seeds} seeds with sets in pages`).toBeGreaterThan(0)
  })
  for (let seed = FIRST; seed < FIRST + COUNT; seed++) {
    it(`seed ${seed}`, async () => {
      // Every fourth seed sends most messages in parts of 64 bytes, so faults cut transfers midway.
      const smallFrames = seed % 4 === 0
      // Every fourth seed (another quarter) keeps every OR-set in pages, however small.
      const pagedSets = seed % 4 === 1
      const report = await runNemesis({ ...DEFAULT_NEMESIS, seed, smallFrames, pagedSets, ...(smallFrames ? { convergeWithinMs: CONVERGE_WITHIN_SMALL_FRAMES_MS } : {}) })
      const context =
        `seed ${seed} (replay: RUMORDB_TEST_SEED=${seed} npx vitest run test/engine/nemesis.test.ts)\n` +
        `${report.attempted} writes, ${report.acked} acknowledged, ${report.attempts} attempts, ${report.replays} replays, ` +
        `${report.partedMessages} messages in parts${smallFrames ? ' (small frames)' : ''}, ${report.pagedKeys} keys stored in pages, ` +
        `${report.pagesReceived} pages received by page lists, ` +
        `${report.deletes} deletes (${report.deletesAcked} acknowledged), ${report.ttlWrites} writes with a ttl, ${report.tombstonesPurged} tombstones purged\n` +
        `faults: ${report.faults.join('; ')}`
      expect(report.acked, context).toBeGreaterThan(0)
      if (report.attempted >= DELETE_EVERY) expect(report.deletes, context).toBeGreaterThan(0)
      if (report.attempted >= 40) expect(report.ttlWrites, context).toBeGreaterThan(0)
      if (report.deletesAcked > 0) expect(report.tombstonesPurged, context).toBeGreaterThan(0)
      if (smallFrames) expect(report.partedMessages, context).toBeGreaterThan(0)
      if (pagedSets) {
        expect(report.pagedKeys, context).toBeGreaterThan(0)
        paged.seeds++
        paged.pages += report.pagesReceived
      }
      else expect(report.pagedKeys, context).toBe(0)
      expect(report.problems, context).toEqual([])
      expect(report.convergedAfterMs, context).toBeDefined()
      expect((report.convergedAfterMs as number) / ENGINE_TIMING.antiEntropyIntervalMs, context).toBeLessThanOrEqual(smallFrames ? MAX_ROUNDS_SMALL_FRAMES : MAX_ROUNDS_TO_CONVERGE)
    })
  }
})
