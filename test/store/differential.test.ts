// SqliteStore and InMemoryStore must be indistinguishable through the Store interface:
// the simulator runs on one and production on the other. Random operation sequences run
// against both, and every read must agree. fast-check prints the seed of a failing run.
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MemoryData, InMemoryStore } from '../../src/store/memory-store.js'
import { SqliteStore } from '../../src/store/sqlite-store.js'
import type { Store, WriteBatch } from '../../src/store/store.js'
import { tempDir } from './harness.js'

const name = fc.constantFrom('a', 'ab', 'b', 'é', '\u{E000}', '\u{1F600}', '\u{1F600}a', 'z')
const smallBytes = fc.uint8Array({ maxLength: 4 })
const crdtType = fc.constantFrom('gcounter', 'pncounter', 'orset', 'lww' as const)
const time = fc.integer({ min: 0, max: 20 })

const batch: fc.Arbitrary<WriteBatch> = fc.record(
  {
    keys: fc.array(fc.record({ key: name, type: crdtType, state: smallBytes, hlc: fc.uint8Array({ minLength: 8, maxLength: 8 }) }), { maxLength: 3 }),
    meta: fc.array(fc.record({ name, value: fc.option(smallBytes, { nil: null }) }), { maxLength: 2 }),
    idempotency: fc.array(fc.record({ id: name, result: smallBytes, expiresAt: time }), { maxLength: 2 }),
    hints: fc.record(
      {
        add: fc.array(fc.record({ target: name, key: name, type: crdtType, state: smallBytes, createdAt: time }), { maxLength: 2 }),
        remove: fc.array(fc.integer({ min: 1, max: 12 }), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
    members: fc.record(
      { upsert: fc.array(fc.record({ peerId: name, record: smallBytes }), { maxLength: 2 }), remove: fc.array(name, { maxLength: 1 }) },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: [] },
)

type Op =
  | { op: 'write'; batch: WriteBatch }
  | { op: 'prune'; now: number }
  | { op: 'turn' }
  | { op: 'reopen' }
  | { op: 'scan'; prefix?: string; after?: string; limit?: number }

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: batch.map((b) => ({ op: 'write' as const, batch: b })) },
  { weight: 1, arbitrary: time.map((now) => ({ op: 'prune' as const, now })) },
  { weight: 3, arbitrary: fc.constant({ op: 'turn' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'reopen' as const }) },
  {
    weight: 2,
    arbitrary: fc.record(
      { op: fc.constant('scan' as const), prefix: name, after: name, limit: fc.integer({ min: 0, max: 4 }) },
      { requiredKeys: ['op'] },
    ),
  },
)

/** Everything the interface can tell about a store's contents. */
function observe(store: Store) {
  return {
    keys: store.scan({}),
    count: store.countKeys(),
    meta: ['a', 'ab', 'b', 'é', '\u{E000}', '\u{1F600}', '\u{1F600}a', 'z'].map((n) => [
      store.getMeta(n),
      store.getIdempotency(n, 10),
    ]),
    hints: store.listHints(),
    hintsForA: store.listHints('a', 1),
    members: store.listMembers(),
  }
}

describe('SqliteStore and InMemoryStore', () => {
  it('answer every read the same after the same operations', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (ops) => {
        const { dir, remove } = tempDir()
        const path = join(dir, 'data.db')
        const data = new MemoryData()
        let sqlite: Store = await SqliteStore.open({ path })
        let memory: Store = new InMemoryStore({ data })
        try {
          let pending: Promise<unknown>[] = []
          for (const o of ops) {
            if (o.op === 'write' || o.op === 'prune') {
              const run = (s: Store) => (o.op === 'write' ? s.write(o.batch) : s.pruneIdempotency(o.now))
              pending.push(run(sqlite), run(memory))
            } else if (o.op === 'turn') {
              const results = await Promise.all(pending)
              expect(results.filter((_, i) => i % 2 === 0)).toEqual(results.filter((_, i) => i % 2 === 1))
              pending = []
            } else if (o.op === 'reopen') {
              await Promise.all([sqlite.close(), memory.close()])
              await Promise.all(pending)
              pending = []
              sqlite = await SqliteStore.open({ path })
              memory = new InMemoryStore({ data })
            } else {
              const opts = { prefix: o.prefix, after: o.after, limit: o.limit }
              expect(sqlite.scan(opts)).toEqual(memory.scan(opts))
            }
            expect(observe(sqlite)).toEqual(observe(memory))
          }
          await Promise.all(pending)
        } finally {
          await Promise.all([sqlite.close(), memory.close()])
          remove()
        }
      }),
      { numRuns: 60 },
    )
  })
})
