// What one node holds of a workload's keys, as its system reported changes to it, with the
// time each key last changed. Pure: the node process feeds it the changes its driver
// reports and sends its progress to the harness.

/** What a node reports while a workload runs (throttled). */
export interface ViewProgress {
  /** Keys it holds a value for. */
  readonly have: number
  /** Keys holding the expected value (0 when the plan has no expected values). */
  readonly matching: number
  /** A digest of every key's value in key order, once it holds every key; null before. */
  readonly digest: string | null
  /** When the view last changed (epoch ms), or null if it never did. */
  readonly lastChangeAt: number | null
}

export class NodeView {
  private readonly index: Map<string, number>
  private readonly values: unknown[]
  private readonly changedAt: (number | null)[]
  private have = 0
  private matching = 0
  private lastChangeAt: number | null = null

  constructor(
    readonly keys: readonly string[],
    private readonly expected: readonly number[] | null,
  ) {
    this.index = new Map(keys.map((k, i) => [k, i]))
    this.values = new Array<unknown>(keys.length).fill(undefined)
    this.changedAt = new Array<number | null>(keys.length).fill(null)
  }

  /** Records the node's value of `key` at `at` (epoch ms); false when the key is not watched or unchanged. */
  set(key: string, value: unknown, at: number): boolean {
    const i = this.index.get(key)
    if (i === undefined) return false
    const old = this.values[i]
    if (old !== undefined && sameValue(old, value)) return false
    if (old === undefined && value !== undefined) this.have++
    if (old !== undefined && value === undefined) this.have--
    if (this.expected !== null) {
      const want = this.expected[i]
      if (old === want) this.matching--
      if (value === want) this.matching++
    }
    this.values[i] = value
    this.changedAt[i] = at
    this.lastChangeAt = at
    return true
  }

  progress(): ViewProgress {
    return { have: this.have, matching: this.matching, digest: this.have === this.keys.length ? digestOf(this.values) : null, lastChangeAt: this.lastChangeAt }
  }

  /** When each key last changed (epoch ms; null for a key never seen), in key order. */
  times(): (number | null)[] {
    return [...this.changedAt]
  }

  /** Each key's value now (undefined for a key never seen), in key order. */
  snapshot(): unknown[] {
    return [...this.values]
  }
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || JSON.stringify(a) === JSON.stringify(b)
}

/** FNV-1a over the JSON of the values: equal views give equal digests. */
export function digestOf(values: readonly unknown[]): string {
  let h = 0x811c9dc5
  const text = JSON.stringify(values)
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i)
    h = Math.imul(h, 0x01000193) >>> 0
  }
  return `${h.toString(16).padStart(8, '0')}:${text.length}`
}
