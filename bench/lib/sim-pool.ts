// Runs simulation setups on `jobs` worker threads (inline when jobs is 1). A 1,000-node
// run keeps one core busy for tens of seconds and runs share nothing, so two cores
// finish the benchmark in about half the time; the results do not depend on it.
import { Worker } from 'node:worker_threads'
import { runConvergence, type ConvergenceRun, type ConvergenceSetup } from './sim-convergence.js'

type WorkerAnswer = { ok: true; run: ConvergenceRun } | { ok: false; error: string }

/** Results in the order of `setups`; `onDone` is called as each finishes. */
export async function runSetups(
  setups: readonly ConvergenceSetup[],
  jobs: number,
  onDone: (run: ConvergenceRun, setup: ConvergenceSetup) => void = () => undefined,
): Promise<ConvergenceRun[]> {
  const results = new Array<ConvergenceRun | undefined>(setups.length)
  if (jobs <= 1 || setups.length <= 1) {
    for (const [i, setup] of setups.entries()) {
      const run = await runConvergence(setup)
      results[i] = run
      onDone(run, setup)
    }
    return results as ConvergenceRun[]
  }
  // Biggest first, so the last runs to finish are short ones.
  const queue = [...setups.keys()].sort((a, b) => setups[b]!.nodes - setups[a]!.nodes || setups[b]!.loss - setups[a]!.loss)
  const workers = Array.from({ length: Math.min(jobs, setups.length) }, () => startWorker())
  try {
    await Promise.all(
      workers.map(async (worker) => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
          const setup = setups[i]!
          const run = await ask(worker, setup)
          results[i] = run
          onDone(run, setup)
        }
      }),
    )
  } finally {
    await Promise.all(workers.map((w) => w.terminate()))
  }
  return results as ConvergenceRun[]
}

const WORKER_URL = new URL('./sim-worker.ts', import.meta.url).href

function startWorker(): Worker {
  // Node 20 does not apply `--import tsx` to a worker's entry module: load it through tsx's API.
  const bootstrap = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(WORKER_URL)}, ${JSON.stringify(WORKER_URL)}))`
  return new Worker(bootstrap, { eval: true })
}

function ask(worker: Worker, setup: ConvergenceSetup): Promise<ConvergenceRun> {
  return new Promise((resolve, reject) => {
    const onMessage = (answer: WorkerAnswer): void => {
      cleanup()
      if (answer.ok) resolve(answer.run)
      else reject(new Error(`simulation run failed (${setup.scenario}, ${setup.nodes} nodes, loss ${setup.loss}, seed ${setup.seed}):\n${answer.error}`))
    }
    const onError = (err: Error): void => {
      cleanup()
      reject(err)
    }
    const onExit = (code: number): void => {
      cleanup()
      reject(new Error(`simulation worker exited with code ${code} during ${setup.scenario}, ${setup.nodes} nodes, seed ${setup.seed}`))
    }
    const cleanup = (): void => {
      worker.off('message', onMessage)
      worker.off('error', onError)
      worker.off('exit', onExit)
    }
    worker.on('message', onMessage)
    worker.on('error', onError)
    worker.on('exit', onExit)
    worker.postMessage(setup)
  })
}
