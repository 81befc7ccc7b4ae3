// Fault injection for tests and the deterministic simulator: lets them make a commit fail
// the way a full disk would, without touching the file system.

export interface StoreHooks {
  /**
   * Called once per transaction after the staged writes were applied and before they are
   * committed. Throwing aborts the transaction: nothing of it is stored, and every write
   * it held rejects with a CommitError whose cause is the thrown value.
   */
  beforeCommit?: () => void
}
