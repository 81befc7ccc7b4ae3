// Hinted handoff keeps what is pending per owner, and when each owner is due, in memory
// (issue 12, item 3): pending() and a pass cost O(owners), and a pass reads hints only
// for owners that are alive and due. A store that counts its listHints calls shows it.
import { describe, expect, it } from 'vitest'
import type { Clock, TimerHandle } from '../../src/base/clock.js'
import { recordingLogger, type RecordedLine } from '../../src/base/logger.js'
import { seededRandom } from '../../src/base/random.js'
import { DEFAULT_HINT_WINDOW_MS } from '../../src/cluster/handoff/constants.js'
import { HintedHandoff } from '../../src/cluster/handoff/hinted-handoff.js'
import type { MemberHealth } from '../../src/cluster/membership/membership.js'
import { InMemoryStore } from '../../src/store/index.js'
import type { StoredHint } from '../../src/store/store.js'

/** Counts listHints calls, and which owners they asked about. */
class CountingStore extends InMemoryStore {
  calls = 0
  readonly asked: (string | undefined)[] = []
  override listHints(target?: string, limit?: number): StoredHint[] {
    this.calls++
    this.asked.push(target)
    return super.listHints(target, limit)
  }
  reset(): void {
    this.calls = 0
    this.asked.length = 0
  }
}

/** Time moves only when the test says so; timers never fire (passes run by runOnce). */
class StillClock implements Clock {
  time = 1_000_000
  now(): number {
    return this.time
  }
  setTimeout(): TimerHandle {
    return {}
  }
  clearTimeout(): void {}
}

function hint(target: string, i: number) {
  return { target, key: `${target}-${i}`, type: 'gcounter' as const, state: new Uint8Array([1, 2, 3]), createdAt: 1 }
}

interface Setup {
  readonly store: CountingStore
  readonly clock: StillClock
  readonly handoff: HintedHandoff
  readonly health: Map<string, MemberHealth>
  readonly sent: Map<string, number>
  /** Owners whose replicate requests fail. */
  readonly failing: Set<string>
  /** Replicate requests in flight at once above this fail (a message too big for a lossy link). */
  limit: { inFlight: number; max: number; peak: number }
  readonly lines: RecordedLine[]
}

async function setup(hints: Record<string, number>, health: Record<string, MemberHealth>): Promise<Setup> {
  const store = new CountingStore()
  for (const [target, count] of Object.entries(hints)) {
    await store.write({ hints: { add: Array.from({ length: count }, (_, i) => hint(target, i)) } })
  }
  const clock = new StillClock()
  const healthOf = new Map(Object.entries(health))
  const sent = new Map<string, number>()
  const failing = new Set<string>()
  const lines: RecordedLine[] = []
  const limit = { inFlight: 0, max: Infinity, peak: 0 }
  const replicate = async (peer: string): Promise<boolean> => {
    sent.set(peer, (sent.get(peer) ?? 0) + 1)
    limit.inFlight++
    limit.peak = Math.max(limit.peak, limit.inFlight)
    await Promise.resolve()
    // Requests sent together share one message: above the limit, all of it fails.
    const over = limit.peak > limit.max
    if (--limit.inFlight === 0) limit.peak = 0
    return !failing.has(peer) && !over
  }
  const handoff = new HintedHandoff({
    store,
    clock,
    random: seededRandom(7),
    replicate,
    health: (peer) => healthOf.get(peer),
    logger: recordingLogger(lines).forComponent('handoff'),
  })
  store.reset()
  return { store, clock, handoff, health: healthOf, sent, failing, lines, limit }
}

/** Stages one hint for `target` in the store, as a writer does, and tells the handoff. */
function addHint(s: Setup, target: string, i: number): Promise<void> {
  const added = hint(target, i)
  const committed = s.store.write({ hints: { add: [added] } })
  s.handoff.noteAdded(target, `${target}-${i}`, committed, added.state.length, added.createdAt)
  return committed
}

describe('hinted handoff counts in memory', () => {
  it('answers pending() and pendingFor() without reading a hint, from one read at start and the hints noted since', async () => {
    const s = await setup({ a: 100, b: 50, c: 30 }, { a: 'suspect', b: 'suspect', c: 'suspect' })
    expect(s.handoff.pending()).toBe(180)
    expect([s.handoff.pendingFor('a'), s.handoff.pendingFor('b'), s.handoff.pendingFor('c'), s.handoff.pendingFor('d')]).toEqual([100, 50, 30, 0])
    expect(s.handoff.pendingFor('a', 10)).toBe(10)
    await addHint(s, 'd', 0)
    await addHint(s, 'a', 100)
    expect(s.handoff.pending()).toBe(182)
    expect(s.handoff.pendingFor('a')).toBe(101)
    expect(s.store.calls).toBe(0)
  })

  it('a pass over owners that are not due reads no hint at all, however many are kept', async () => {
    const owners = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`owner-${i}`, 1000]))
    const s = await setup(owners, Object.fromEntries(Object.keys(owners).map((o) => [o, 'suspect' as const])))
    for (let i = 0; i < 20; i++) await s.handoff.runOnce()
    expect(s.store.calls).toBe(0)
    expect(s.handoff.pending()).toBe(10_000)
  })

  it('a pass reads hints only for the owners that are alive and due, and counts what it delivered', async () => {
    const s = await setup({ a: 100, b: 50, c: 30 }, { a: 'alive', b: 'suspect', c: 'alive' })
    await addHint(s, 'd', 0) // never a member: kept, never read
    s.failing.add('c')
    await s.handoff.runOnce()
    expect(new Set(s.store.asked)).toEqual(new Set(['a', 'c']))
    expect(s.handoff.pendingFor('a')).toBe(0)
    expect(s.handoff.pendingFor('b')).toBe(50)
    expect(s.handoff.pendingFor('c')).toBe(30)
    expect(s.handoff.pending()).toBe(81)
    expect(s.handoff.stats).toMatchObject({ queued: 1, delivered: 100, failedAttempts: 1, dropped: 0 })
    expect(s.store.listHints('a')).toEqual([])

    // c is in backoff, a has nothing left: the next pass reads nothing.
    s.store.reset()
    await s.handoff.runOnce()
    expect(s.store.calls).toBe(0)

    // Once c's backoff is over (or c is seen again), c alone is read.
    s.failing.delete('c')
    s.handoff.peerReturned('c')
    await s.handoff.runOnce()
    expect(s.store.asked.every((t) => t === 'c')).toBe(true)
    expect(s.handoff.pending()).toBe(51)
    expect(s.store.listHints().length).toBe(51)
  })

  it('logs a backlog starting at info, each delivery pass at info, and never a line per hint above debug', async () => {
    const s = await setup({}, { a: 'suspect' })
    for (let i = 0; i < 200; i++) await addHint(s, 'a', i)
    const above = (): RecordedLine[] => s.lines.filter((l) => l.level !== 'debug')
    expect(above()).toEqual([expect.objectContaining({ level: 'info', component: 'rumordb:handoff', fields: { owner: 'a' } })])
    expect(s.lines.filter((l) => l.level === 'debug')).toHaveLength(200)
    s.health.set('a', 'alive')
    await s.handoff.runOnce()
    expect(above()[1]).toMatchObject({ level: 'info', fields: { owner: 'a', delivered: 200, pending: 0 } })
    expect(above()).toHaveLength(2)
  })

  it('drops the hints of an owner that left, at warn', async () => {
    const s = await setup({ gone: 5, b: 2 }, { gone: 'left', b: 'suspect' })
    await s.handoff.runOnce()
    expect(s.handoff.pending()).toBe(2)
    expect(s.handoff.stats.dropped).toBe(5)
    expect(s.store.listHints('gone')).toEqual([])
    expect(s.lines.find((l) => l.level === 'warn')).toMatchObject({ fields: { owner: 'gone', dropped: 5 } })
  })

  it('forgets a hint whose write failed, and mends a count that went wrong at the owner’s next pass', async () => {
    const s = await setup({ a: 3 }, { a: 'suspect' })
    s.handoff.noteAdded('a', 'never-kept', Promise.reject(new Error('disk full')), 1, s.clock.now())
    expect(s.handoff.pending()).toBe(4)
    await new Promise((resolve) => setImmediate(resolve))
    expect(s.handoff.pending()).toBe(3)

    // Told of a hint the store does not hold: the pass finds out.
    s.handoff.noteAdded('a', 'phantom', Promise.resolve(), 1, s.clock.now())
    s.health.set('a', 'alive')
    await s.handoff.runOnce()
    expect(s.handoff.pending()).toBe(0)
    expect(s.handoff.stats.delivered).toBe(3)
  })

  it('never hands over a hint past its window, whatever the counts said: it is dropped as expired', async () => {
    const s = await setup({}, { a: 'alive' })
    s.clock.time = 2 * DEFAULT_HINT_WINDOW_MS
    const now = s.clock.time
    const stale = { ...hint('a', 1), createdAt: now - DEFAULT_HINT_WINDOW_MS - 1 }
    const fresh = { ...hint('a', 2), createdAt: now - 1 }
    await s.store.write({ hints: { add: [stale, fresh] } })
    // Told both are new: the pass does not expire by the counts, and delivers.
    s.handoff.noteAdded('a', stale.key, Promise.resolve(), 3, now)
    s.handoff.noteAdded('a', fresh.key, Promise.resolve(), 3, now)
    await s.handoff.runOnce()
    expect(s.sent.get('a')).toBe(1)
    expect(s.handoff.stats).toMatchObject({ delivered: 1, expired: 1 })
    expect(s.store.listHints('a')).toEqual([])
  })

  it('halves its batches to an owner after one fails and doubles them after one goes through, so big batches that keep failing do not starve it', async () => {
    const s = await setup({ a: 40 }, { a: 'alive' })
    // Batches of more than 4 fail whole, as a message too big for a lossy link does.
    s.limit.max = 4
    const passes: number[] = []
    for (let i = 0; i < 20 && s.handoff.pending() > 0; i++) {
      s.clock.time += 60_000 // past any backoff
      await s.handoff.runOnce()
      passes.push(s.handoff.pending())
    }
    // Batches of 40 (all the hints), 20, 10 and 5 fail; then 2 and 4 go through, 8 fails, 4 goes... Before: 40 every time, failing for ever.
    expect(s.handoff.pending(), `pending after each pass: ${passes.join(', ')}`).toBe(0)
    expect(s.handoff.stats.delivered).toBe(40)
    expect(s.handoff.stats.failedAttempts).toBeGreaterThan(0)
  })
})
