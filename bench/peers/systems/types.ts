// The one interface every peer system's adapter implements, so the same workload runs
// against each: a burst of counter-like writes (key → integer) on node 0, then the time
// until every node holds them all.

/** What the report prints about a system; known without loading its packages. */
export interface PeerSystemInfo {
  /** Short name printed in tables and used in --systems: 'orbitdb', 'automerge', 'gun'. */
  readonly name: string
  /** The npm package whose installed version is reported beside the numbers. */
  readonly packageName: string
  /** The topology the adapter builds. */
  readonly topology: string
  /** What `Cluster.converged` checks, in this system's own terms. */
  readonly convergedMeans: string
}

export interface PeerSystem extends PeerSystemInfo {
  /**
   * Starts `nodes` connected peers on 127.0.0.1, keeping all files under `dir` (one folder
   * per node). Resolves once the peers are connected; the harness then proves they
   * replicate with a warm-up write before it times anything.
   */
  start(nodes: number, dir: string): Promise<Cluster>
}

export interface Cluster {
  /** Writes key → value on `node` and resolves once that node has applied it locally. */
  write(node: number, key: string, value: number): Promise<void>
  /**
   * Whether every node holds every expected key with the expected value. The harness
   * polls this; adapters keep it cheap (e.g. re-read a node only after it changed).
   */
  converged(expected: ReadonlyMap<string, number>): Promise<boolean>
  /** Nodes that do not yet hold every expected key/value (for a FAILED run's reason). */
  lagging(expected: ReadonlyMap<string, number>): Promise<string>
  /** Stops every node and closes every socket and server it opened. Idempotent. */
  stop(): Promise<void>
}
