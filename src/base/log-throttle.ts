// Log lines a broken or hostile peer (or a client's retry loop) can trigger over and over
// go through a throttle: one line per subject per interval, and the lines held back are
// counted into the next one, so the log says how often it happened without flooding.

/** Default interval between two lines about one subject. */
export const LOG_THROTTLE_INTERVAL_MS = 60_000

/** Subjects remembered at most; the least recently logged are forgotten first. */
const MAX_SUBJECTS = 1024

export class LogThrottle {
  private readonly last = new Map<string, { at: number; held: number }>()

  constructor(
    private readonly now: () => number,
    private readonly intervalMs = LOG_THROTTLE_INTERVAL_MS,
  ) {}

  /**
   * Undefined while a line about `subject` was let through less than the interval ago
   * (this one is held back and counted); otherwise the number of lines held back since
   * that one, and this line may be logged.
   */
  admit(subject = ''): number | undefined {
    const now = this.now()
    const entry = this.last.get(subject)
    // A clock that went back lets the line through rather than silencing it for long.
    if (entry !== undefined && now >= entry.at && now - entry.at < this.intervalMs) {
      entry.held++
      return undefined
    }
    const held = entry?.held ?? 0
    // Re-inserted, so the map stays in logging order and the oldest subjects come first.
    this.last.delete(subject)
    this.last.set(subject, { at: now, held: 0 })
    if (this.last.size > MAX_SUBJECTS) this.last.delete(this.last.keys().next().value as string)
    return held
  }
}

/** " (12 more like it since the last)" for a line that follows held-back ones, else "". */
export function heldBack(held: number): string {
  return held === 0 ? '' : ` (${held} more like it since the last such line)`
}
