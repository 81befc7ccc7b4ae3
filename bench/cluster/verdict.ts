// One goal of the cluster benchmark and how this run fared against it.

export interface Verdict {
  readonly goal: string
  readonly verdict: 'PASS' | 'FAIL' | 'N/A'
  readonly detail: string
}
