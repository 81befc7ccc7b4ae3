// A worker thread of the simulation benchmark: runs each setup it is sent and posts the
// result back. Runs are independent and seeded, so where one runs does not change it.
import { parentPort } from 'node:worker_threads'
import { runConvergence, type ConvergenceSetup } from './sim-convergence.js'

if (parentPort === null) throw new Error('sim-worker.ts runs as a worker thread of bench/lib/sim-pool.ts')
const port = parentPort
port.on('message', (setup: ConvergenceSetup) => {
  runConvergence(setup).then(
    (run) => port.postMessage({ ok: true, run }),
    (err: unknown) => port.postMessage({ ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  )
})
