// The goals for the real-cluster benchmark, judged from each run.
export const GOALS = {
  /** Burst of 1,000 writes on 5 nodes: rumordb's median time ≤ this × the fastest peer's. */
  maxBurstRatioToFastestPeer: 0.5,
  burstNodes: 5,
  burstWrites: 1000,
  /** Quorum write p99 at w = 2 on loopback. */
  maxWriteP99Ms: 10,
  writeP99Level: 2,
  /** Engine bytes per replica copy of an update ≤ this × the encoded delta. */
  maxBytesPerUpdateRatio: 3,
} as const
