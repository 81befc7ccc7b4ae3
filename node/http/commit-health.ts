// Whether writes commit, for /readyz. Its probe, db.checkWritable(), rewrites one small
// meta row, and on a full disk that still commits (SQLite reuses the WAL space a failed
// transaction left) while every real write fails with "database or disk is full": a
// 2 MiB tmpfs showed exactly that. So readiness also remembers the last write that failed
// to commit, until a key change commits again, or, on a node that gets no writes any
// more, for FAILURE_MEMORY_MS: an idle node must be able to become ready again.
import type { Database } from '../../src/index.js'
import { CommitError } from '../../src/store/errors.js'

/** How long a commit failure keeps the node unready when no write commits after it. */
export const FAILURE_MEMORY_MS = 60_000

export class CommitHealth {
  private lastFailure: { readonly message: string; readonly at: number } | undefined
  private readonly off: () => void

  constructor(
    db: Database,
    private readonly now: () => number = Date.now,
  ) {
    // Any committed key change, local or from a peer, shows that writes commit again.
    let off = (): void => undefined
    try {
      off = db.subscribe('', () => {
        this.lastFailure = undefined
      })
    } catch {
      // A closed database: /readyz says so through its probe.
    }
    this.off = off
  }

  /** Remembers a write's error when it is a commit failure; ignores every other error. */
  noteFailure(err: unknown): void {
    const failed = commitFailureOf(err)
    if (failed !== undefined) this.lastFailure = { message: failed.message, at: this.now() }
  }

  /** Why writes do not commit, or undefined. */
  problem(): string | undefined {
    const failure = this.lastFailure
    if (failure === undefined) return undefined
    const ago = this.now() - failure.at
    if (ago >= FAILURE_MEMORY_MS) {
      this.lastFailure = undefined
      return undefined
    }
    return `the last write failed to commit ${Math.round(ago / 1000)} s ago and none has committed since: ${failure.message}`
  }

  close(): void {
    this.off()
  }
}

/** The CommitError in `err` or its causes. */
function commitFailureOf(err: unknown): Error | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof CommitError) return e
  }
  return undefined
}
