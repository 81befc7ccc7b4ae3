// What a cluster run wrote, for its final count check (bench/cluster/workloads.ts).

/** Keys the cluster must hold: those of acknowledged writes for sure, those of failed ones maybe. */
export class KeyLedger {
  private readonly sure = new Set<string>()
  private readonly maybe = new Set<string>()

  record(key: string, acknowledged: boolean): void {
    if (acknowledged) {
      this.sure.add(key)
      this.maybe.delete(key)
    } else if (!this.sure.has(key)) {
      this.maybe.add(key)
    }
  }

  /** Keys certainly written; with `maybe` keys the cluster may hold up to that many more. */
  get count(): { readonly sure: number; readonly maybe: number } {
    return { sure: this.sure.size, maybe: this.maybe.size }
  }
}
