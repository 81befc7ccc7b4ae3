#!/usr/bin/env node
// `rumordb` with fault injection, for tests and benchmarks only (never the package's bin,
// not in the build): the same CLI, whose nodes also answer POST /v1/_faults to cut
// themselves off from given peers, so a harness can partition a real cluster.
import '../polyfill/index.js'
import { buildProgram } from '../cli/program.js'
import { runCli } from '../cli/run.js'
import { FaultInjector } from './fault-injector.js'
import { registerFaultRoutes } from './fault-routes.js'

await runCli(
  process.argv,
  buildProgram(undefined, () => {
    const faults = new FaultInjector()
    return {
      wrapTransport: (t) => faults.wrap(t),
      extraRoutes: (app) => registerFaultRoutes(app, faults),
      warning: 'fault injection is on: POST /v1/_faults can partition this node',
    }
  }),
)
