// Incarnations of a node's actor after a tombstone purge (src/replica/incarnations.ts) and
// what the remote guard takes of them (src/replica/remote-guard.ts): the writer continues
// the newest incarnation a key holds, a purged node takes another replica's tombstone of an
// older incarnation it holds nothing of, and refuses claims it can judge forged.
import { describe, expect, it } from 'vitest'
import { GCounter, ORSet, singleContent, type KeyContent } from '../../crdts/index.js'
import { incarnationActor, incarnationOf, writerActor } from '../../src/replica/incarnations.js'
import { checkRemoteState, RemoteStateRefusedError } from '../../src/replica/remote-guard.js'

const SELF = 'AAAAAAAAAAAAAAAA'
const E1 = 1_764_000_000_000
const E2 = E1 + 5_000

function counter(entries: Record<string, number>): KeyContent {
  let s = GCounter.empty()
  for (const [actor, n] of Object.entries(entries)) s = GCounter.merge(s, GCounter.increment(GCounter.empty(), actor, n))
  return singleContent('gcounter', s)
}

function set(adds: Record<string, number>): KeyContent {
  let s = ORSet.empty()
  for (const [actor, n] of Object.entries(adds)) for (let i = 0; i < n; i++) s = ORSet.merge(s, ORSet.add(s, actor, `${actor}-${i}`))
  return singleContent('orset', s)
}

function refused(incoming: KeyContent, current: KeyContent | undefined, epoch: number): boolean {
  try {
    checkRemoteState('k', incoming, current, SELF, epoch)
    return false
  } catch (err) {
    if (err instanceof RemoteStateRefusedError) return true
    throw err
  }
}

describe('incarnations', () => {
  it('name an incarnation as actor.<epoch in base 36> and read it back; other actors are none of ours', () => {
    expect(incarnationActor(SELF, 0)).toBe(SELF)
    expect(incarnationActor(SELF, E1)).toBe(`${SELF}.${E1.toString(36)}`)
    expect(incarnationOf(incarnationActor(SELF, E1), SELF)).toBe(E1)
    expect(incarnationOf(SELF, SELF)).toBe(0)
    for (const other of ['BBBBBBBBBBBBBBBB', `${SELF}x`, `${SELF}.`, `${SELF}.0`, `${SELF}.-1`, `${SELF}.ZZ`, `x${SELF}.1`]) expect(incarnationOf(other, SELF)).toBeUndefined()
  })

  it('a write continues the newest incarnation the key holds of this node, else takes the current one', () => {
    const empty = GCounter.empty()
    expect(writerActor(SELF, 0, 'gcounter', empty)).toBe(SELF)
    expect(writerActor(SELF, E1, 'gcounter', empty)).toBe(incarnationActor(SELF, E1))
    const held = counter({ [SELF]: 3, [incarnationActor(SELF, E1)]: 2, other: 9 })[0]!.state
    expect(writerActor(SELF, E2, 'gcounter', held)).toBe(incarnationActor(SELF, E1))
    expect(writerActor(SELF, E2, 'orset', ORSet.empty())).toBe(incarnationActor(SELF, E2))
    // Registers are ordered by timestamps: the plain actor always.
    expect(writerActor(SELF, E2, 'lww', null)).toBe(SELF)
  })

  it('the guard takes a tombstone of an older incarnation this node holds nothing of, once it has purged', () => {
    expect(refused(counter({ [SELF]: 5 }), undefined, E1)).toBe(false)
    expect(refused(set({ [SELF]: 4 }), undefined, E1)).toBe(false)
    // Before any purge this node knows all its writes: the same claim is forged.
    expect(refused(counter({ [SELF]: 5 }), undefined, 0)).toBe(true)
    expect(refused(set({ [SELF]: 4 }), undefined, 0)).toBe(true)
  })

  it('the guard refuses claims above what this node holds of an incarnation, of its current one, and of a newer one', () => {
    // It holds 2 of the plain actor in this key: it holds all of it.
    expect(refused(counter({ [SELF]: 5 }), counter({ [SELF]: 2 }), E1)).toBe(true)
    expect(refused(counter({ [SELF]: 2 }), counter({ [SELF]: 2 }), E1)).toBe(false)
    // The current incarnation: every write of it is here.
    expect(refused(counter({ [incarnationActor(SELF, E1)]: 1 }), undefined, E1)).toBe(true)
    expect(refused(set({ [incarnationActor(SELF, E1)]: 1 }), undefined, E1)).toBe(true)
    // An incarnation after this node's latest purge never existed.
    expect(refused(counter({ [incarnationActor(SELF, E2)]: 1 }), undefined, E1)).toBe(true)
    // Other actors are not judged here.
    expect(refused(counter({ other: 1_000 }), undefined, 0)).toBe(false)
  })
})
