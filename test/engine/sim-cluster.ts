// The engine tests' cluster harness lives in src/sim/cluster.ts, shared with the
// simulation benchmark (bench/ does not import from test/).
export { PRESEED_ROW, SimCluster, type SimClusterOptions, type SimMember } from '../../src/sim/cluster.js'
