// Drivers for asynchronous operations: a closed loop with a fixed number in flight (the
// throughput a busy caller gets) and a sequential loop that times each call (latency).
import { performance } from 'node:perf_hooks'

export interface LoadOptions {
  /** Called now and then with how many operations completed. */
  readonly onProgress?: (completed: number) => void
  /** Completions between onProgress calls (default 256). */
  readonly progressEvery?: number
}

/**
 * Runs operations 0..total-1 with `concurrency` of them in flight: each of `concurrency`
 * workers starts the next operation when its previous one settled. Returns the elapsed
 * milliseconds. The first rejection stops the run and rejects.
 */
export async function runConcurrent(
  total: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
  options: LoadOptions = {},
): Promise<number> {
  const every = options.progressEvery ?? 256
  let next = 0
  let completed = 0
  let failed = false
  const worker = async (): Promise<void> => {
    while (!failed && next < total) {
      const i = next++
      try {
        await op(i)
      } catch (err) {
        failed = true
        throw err
      }
      if (++completed % every === 0) options.onProgress?.(completed)
    }
  }
  const start = performance.now()
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker))
  const ms = performance.now() - start
  options.onProgress?.(completed)
  return ms
}

export interface SequentialTimes {
  /** Milliseconds each operation took, in order. */
  readonly ms: Float64Array
  /**
   * 1 where the OS switched the process out involuntarily during the operation: on a
   * shared machine those samples measure the neighbours, not the code.
   */
  readonly preempted: Uint8Array
}

/**
 * Runs operations one at a time and times each one. Synchronous operations are timed
 * without an await. Context switches are read outside the timed window.
 */
export async function timeSequential(
  total: number,
  op: (i: number) => unknown,
  options: LoadOptions = {},
): Promise<SequentialTimes> {
  const every = options.progressEvery ?? 256
  const ms = new Float64Array(total)
  const preempted = new Uint8Array(total)
  for (let i = 0; i < total; i++) {
    const switches = process.resourceUsage().involuntaryContextSwitches
    const start = performance.now()
    const pending = op(i)
    if (pending instanceof Promise) await pending
    ms[i] = performance.now() - start
    preempted[i] = process.resourceUsage().involuntaryContextSwitches > switches ? 1 : 0
    if ((i + 1) % every === 0) options.onProgress?.(i + 1)
  }
  options.onProgress?.(total)
  return { ms, preempted }
}
