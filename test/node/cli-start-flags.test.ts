// `rumordb start` leaves n, r and w to the library unless they are given: a flag default
// of w = 2 would be a w the user set, never lowered, so a node started alone answered
// "quorum not met" for every write instead of adapting to the members it knows.
import { describe, expect, it } from 'vitest'
import { buildProgram } from '../../node/cli/program.js'
import { CliError } from '../../node/cli/http-client.js'
import { purgeWindowFlag, replicationFlags } from '../../node/cli/start.js'
import { openDatabase } from '../../src/index.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MemoryHub } from '../support/memory-hub.js'

describe('rumordb start --n --r --w', () => {
  it('has no flag defaults of its own, and its help names the library defaults', () => {
    const start = buildProgram().commands.find((c) => c.name() === 'start')!
    for (const long of ['--n', '--r', '--w']) {
      const option = start.options.find((o) => o.long === long)!
      expect(option.defaultValue, long).toBeUndefined()
    }
    expect(start.options.find((o) => o.long === '--w')!.description).toMatch(/default 2, or 1 while this node knows no other member/)
  })

  it('passes only the flags given, as numbers, and refuses bad ones with exit code 2', () => {
    expect(replicationFlags({})).toEqual({})
    expect(replicationFlags({ w: '3' })).toEqual({ w: 3 })
    expect(replicationFlags({ n: '5', r: '1', w: '2' })).toEqual({ n: 5, r: 1, w: 2 })
    for (const bad of ['0', '-1', 'two', '1.5']) {
      expect(() => replicationFlags({ w: bad })).toThrow(CliError)
      try {
        replicationFlags({ w: bad })
      } catch (err) {
        expect((err as CliError).exitCode).toBe(2)
        expect((err as Error).message).toMatch(/--w must be a positive integer/)
      }
    }
  })

  it('a networked node alone, opened with what `start` passes without flags, meets the quorum of its own writes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rumordb-start-flags-'))
    const db = await openDatabase({ dataDir: join(dir, 'data'), transport: new MemoryHub().transport('alone'), replication: replicationFlags({}) })
    try {
      expect(await db.counter('visits').increment(3)).toMatchObject({ value: 3, acks: 1, quorum: true })
    } finally {
      await db.close()
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('rumordb start --tombstone-purge', () => {
  it('takes a duration of at least the hint window (24 h) and refuses anything else with exit code 2, naming why', () => {

    expect(purgeWindowFlag('24h')).toBe(86_400_000)
    expect(purgeWindowFlag('7d')).toBe(7 * 86_400_000)
    for (const bad of ['1h', '0', 'soon', '-1d', '']) {
      try {
        purgeWindowFlag(bad)
        expect.unreachable(`accepted ${bad}`)
      } catch (err) {
        expect(err).toBeInstanceOf(CliError)
        expect((err as CliError).exitCode).toBe(2)
        expect((err as Error).message).toMatch(/at least the hint window/)
      }
    }
  })
})
