// Membership's handling of records from the network, driven directly (no engine).
import { describe, expect, it } from 'vitest'
import { Membership } from '../../src/cluster/membership/membership.js'
import { SimClock, SimScheduler } from '../../src/sim/index.js'
import { InMemoryStore } from '../../src/store/index.js'
import type { Request, Response } from '../../src/wire/messages.js'

async function started(
  send: (peer: string, request: Request) => Promise<Response> = () => Promise.reject(new Error('no network here')),
): Promise<{ membership: Membership; store: InMemoryStore; scheduler: SimScheduler; changes: () => number }> {
  const scheduler = new SimScheduler()
  const store = new InMemoryStore({ schedule: scheduler.defer })
  const membership = new Membership({
    self: { peerId: 'a', vnodes: 4 },
    store,
    clock: new SimClock(scheduler),
    send,
    broadcast: () => undefined,
    heartbeatIntervalMs: 1000,
  })
  let changes = 0
  membership.onChange(() => changes++)
  await scheduler.runUntilSettled(membership.start())
  return { membership, store, scheduler, changes: () => changes }
}

describe('Membership', () => {
  it('a heartbeat repeating a known record changes nothing; a newer incarnation does', async () => {
    const { membership, store, scheduler, changes } = await started()
    const b = { peerId: 'b', addrs: [], vnodes: 4, incarnation: 0, status: 'alive' as const }
    membership.handleHeartbeat('b', b, 1)
    await scheduler.runFor(10)
    const ring = membership.ring()
    const afterFirst = { changes: changes(), rows: store.listMembers() }
    expect(ring.members).toEqual(['a', 'b'])

    // The same record again: no change event, no store write, the same ring view object.
    membership.handleHeartbeat('b', b, 2)
    membership.handleHeartbeat('b', { ...b }, 3)
    await scheduler.runFor(10)
    expect(changes()).toBe(afterFirst.changes)
    expect(store.listMembers()).toEqual(afterFirst.rows)
    expect(membership.ring()).toBe(ring)

    // A newer incarnation of b replaces the record and is persisted.
    membership.handleHeartbeat('b', { ...b, incarnation: 1, vnodes: 8 }, 1)
    await scheduler.runFor(10)
    expect(changes()).toBe(afterFirst.changes + 1)
    expect(membership.members().find((m) => m.id === 'b')).toMatchObject({ incarnation: 1, vnodes: 8 })
    expect(membership.ring()).not.toBe(ring)
  })

  it('tells of a peer that comes back: first heard of, heard again after suspicion, reconnected, restarted', async () => {
    const b = { peerId: 'b', addrs: [], vnodes: 4, incarnation: 0, status: 'alive' as const }
    const { membership, scheduler } = await started(async () => ({ type: 'members', members: [b] }))
    const returns: string[] = []
    membership.onPeerReturned((peer) => returns.push(peer))
    let seq = 0
    membership.handleHeartbeat('b', b, ++seq)
    await scheduler.runFor(10)
    expect(returns).toEqual(['b'])
    returns.length = 0

    // Heartbeats of a peer held alive are not returns.
    for (let i = 0; i < 5; i++) {
      await scheduler.runFor(1000)
      membership.handleHeartbeat('b', b, ++seq)
    }
    expect(returns).toEqual([])

    // Silent long enough to be suspected, then heard again: one return.
    await scheduler.runFor(10_000)
    expect(membership.health('b')).toBe('suspect')
    membership.handleHeartbeat('b', b, ++seq)
    expect(returns).toEqual(['b'])

    // A connection lost and seen again before any heartbeat was missed.
    membership.connectionLost('b')
    expect(membership.health('b')).toBe('suspect')
    await scheduler.runFor(100)
    membership.connectionSeen('b')
    expect(returns).toEqual(['b', 'b'])

    // Suspected, and our join answered: the answer shows it alive.
    await scheduler.runFor(10_000)
    await scheduler.runUntilSettled(membership.join('b'))
    expect(membership.health('b')).toBe('alive')
    expect(returns).toEqual(['b', 'b', 'b'])

    // A restart, announced before anyone suspected it.
    membership.handleHeartbeat('b', { ...b, incarnation: 1 }, 1)
    await scheduler.runFor(10)
    expect(returns).toEqual(['b', 'b', 'b', 'b'])
  })
})
