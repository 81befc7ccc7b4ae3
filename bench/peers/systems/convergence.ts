// Helpers the adapters share to answer "does this node hold every expected key/value?"
// cheaply while the harness polls.
import { setTimeout as sleep } from 'node:timers/promises'

/** How many expected keys `view` lacks or holds with another value. */
export function missingCount(expected: ReadonlyMap<string, number>, view: { get(key: string): unknown }): number {
  let missing = 0
  for (const [key, value] of expected) if (view.get(key) !== value) missing++
  return missing
}

/**
 * Remembers, per node, whether it changed since it was last read, so a poll re-reads only
 * nodes that changed (reading an OrbitDB store walks its whole oplog) and never re-reads
 * a node that already held everything expected.
 */
export class ChangeGate {
  private dirty = true
  private checkedFor: ReadonlyMap<string, number> | undefined
  private doneFor: ReadonlyMap<string, number> | undefined

  changed(): void {
    this.dirty = true
  }

  async check(expected: ReadonlyMap<string, number>, probe: () => Promise<boolean> | boolean): Promise<boolean> {
    if (this.doneFor === expected) return true
    if (!this.dirty && this.checkedFor === expected) return false
    // Cleared before the probe: a change that lands while it runs makes the next poll look again.
    this.dirty = false
    this.checkedFor = expected
    const ok = await probe()
    if (ok) this.doneFor = expected
    return ok
  }
}

/** Polls `done` every `intervalMs` until it holds; throws `reason()` after `timeoutMs`. */
export async function waitFor(
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
  reason: () => string,
  intervalMs = 20,
): Promise<void> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    if (await done()) return
    if (performance.now() >= deadline) throw new PeerTimeoutError(reason())
    await sleep(intervalMs)
  }
}

export class PeerTimeoutError extends Error {
  override readonly name = 'PeerTimeoutError'
}
