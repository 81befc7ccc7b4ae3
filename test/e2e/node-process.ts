// The helper moved to bench/lib (the cluster benchmark starts the same processes, and
// bench/ must not import from test/); end-to-end tests keep importing it from here.
export { CLI, cli, eventually, NodeProcess, type NodeProcessOptions, type ReadyInfo } from '../../bench/lib/node-process.js'
