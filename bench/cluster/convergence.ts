// When is a real cluster converged? Asked only through the HTTP API: every replica set's
// members report the same digest for it (GET /v1/sync), the sets together hold every key
// written, and no node still holds a hint (an update parked on a stand-in during a
// partition would otherwise be missed: its owners can agree on an older state).
import { performance } from 'node:perf_hooks'

export interface RangeView {
  readonly replicas: readonly string[]
  readonly keys: number
  readonly digest: string
}

/** What GET /v1/sync answers (the fields used here). */
export interface SyncView {
  readonly digest: string
  readonly keys: number
  readonly ranges: readonly RangeView[]
}

export interface ConvergenceCheck {
  readonly converged: boolean
  /** Why not, in words, for a FAILED run's report. */
  readonly reason: string
}

/** Keys the cluster must hold: `sure` of them, and up to `maybe` more (writes whose outcome is unknown). */
export interface ExpectedKeys {
  readonly sure: number
  readonly maybe: number
}

/**
 * Whether the nodes `ids` (views[i] from ids[i]) agree: every replica set any of them
 * reports is reported by each of its members with one digest, and the replica sets hold
 * the expected number of keys in all (each key belongs to exactly one set).
 */
export function checkConvergence(ids: readonly string[], views: readonly SyncView[], expected: ExpectedKeys): ConvergenceCheck {
  const known = new Set(ids)
  const sets = new Map<string, { replicas: readonly string[]; keys: number; digests: Map<string, string> }>()
  views.forEach((view, i) => {
    const node = ids[i] as string
    for (const range of view.ranges) {
      const id = [...range.replicas].sort().join(',')
      let set = sets.get(id)
      if (set === undefined) {
        set = { replicas: range.replicas, keys: range.keys, digests: new Map() }
        sets.set(id, set)
      }
      set.digests.set(node, range.digest)
    }
  })
  let keys = 0
  for (const set of sets.values()) {
    const label = `replica set {${set.replicas.map(short).join(', ')}}`
    for (const replica of set.replicas) {
      if (!known.has(replica)) return { converged: false, reason: `${label} names ${short(replica)}, which is not in the cluster` }
      if (!set.digests.has(replica)) return { converged: false, reason: `${short(replica)} does not see ${label} (ring views differ)` }
    }
    if (new Set(set.digests.values()).size > 1) return { converged: false, reason: `${label}: digests differ` }
    keys += set.keys
  }
  if (keys < expected.sure || keys > expected.sure + expected.maybe) {
    const want = expected.maybe === 0 ? `${expected.sure}` : `${expected.sure}–${expected.sure + expected.maybe}`
    return { converged: false, reason: `replicas hold ${keys} keys, expected ${want}` }
  }
  return { converged: true, reason: 'converged' }
}

/** Peer ids are long; their last 6 characters tell nodes apart in a message. */
export function short(peerId: string): string {
  return `…${peerId.slice(-6)}`
}

/** What the waiting loop polls: one view per node, in node order. */
export interface ConvergenceProbe {
  readonly ids: readonly string[]
  syncViews(): Promise<SyncView[]>
  /** Hints still pending on each node. */
  pendingHints(): Promise<number[]>
}

export type ConvergenceOutcome =
  | {
      readonly converged: true
      /** From `since` to the start of the first poll that found the cluster converged. */
      readonly ms: number
      readonly polls: number
    }
  | { readonly converged: false; readonly ms: null; readonly polls: number; readonly reason: string }

export interface WaitOptions {
  readonly expectedKeys: ExpectedKeys
  /** performance.now() the time is counted from (the last acknowledged write, or the heal). */
  readonly since: number
  /** Pause between the end of one poll and the start of the next. */
  readonly intervalMs: number
  /** A cluster not converged this long after `since` is FAILED. */
  readonly timeoutMs: number
}

/**
 * Polls until converged or timed out. A poll reads every node's sync view at once; only
 * when those agree does it read the hint counts (a second round trip the common case skips).
 */
export async function waitForConvergence(probe: ConvergenceProbe, options: WaitOptions): Promise<ConvergenceOutcome> {
  const deadline = options.since + options.timeoutMs
  let polls = 0
  let reason = 'never polled'
  for (;;) {
    const started = performance.now()
    polls++
    try {
      const check = checkConvergence(probe.ids, await probe.syncViews(), options.expectedKeys)
      reason = check.reason
      if (check.converged) {
        const hints = await probe.pendingHints()
        const pending = hints.reduce((a, b) => a + b, 0)
        if (pending === 0) return { converged: true, ms: Math.max(0, started - options.since), polls }
        reason = `replica digests agree but ${pending} hints are still pending`
      }
    } catch (err) {
      reason = `poll failed: ${(err as Error).message}`
    }
    if (performance.now() >= deadline) {
      return { converged: false, ms: null, polls, reason: `not converged within ${options.timeoutMs} ms: ${reason}` }
    }
    await new Promise<void>((resolve) => setTimeout(resolve, options.intervalMs))
  }
}
