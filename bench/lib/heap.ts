// Benchmarks that hold millions of keys in memory may need more heap than Node's default
// (about a quarter of RAM, at most ~4 GiB). Instead of asking the user for NODE_OPTIONS,
// such a benchmark re-runs its own command line in a child Node with a larger
// --max-old-space-size, once (the child sees RUMORDB_BENCH_HEAP_MB and does not re-run).
import { spawn } from 'node:child_process'
import { totalmem } from 'node:os'
import { getHeapStatistics } from 'node:v8'

const CHILD_MARK = 'RUMORDB_BENCH_HEAP_MB'

/** The V8 heap limit of this process. */
export function heapLimitBytes(): number {
  return getHeapStatistics().heap_size_limit
}

/**
 * When this process's heap limit is below `neededBytes`, runs the same command in a child
 * Node with `--max-old-space-size` raised to it, waits for it, takes its exit code and
 * returns true: the caller should then do nothing more. Returns false when the heap is
 * large enough, or in such a child already.
 */
export async function runWithHeap(neededBytes: number): Promise<boolean> {
  if (heapLimitBytes() >= neededBytes || process.env[CHILD_MARK] !== undefined) return false
  const mb = Math.ceil(neededBytes / 2 ** 20)
  const note = neededBytes > 0.8 * totalmem() ? ` (this machine has ${Math.round(totalmem() / 2 ** 20)} MiB; it may not fit)` : ''
  console.error(`re-running with --max-old-space-size=${mb}: the default heap (${Math.round(heapLimitBytes() / 2 ** 20)} MiB) is too small${note}`)
  const args = [...process.execArgv, `--max-old-space-size=${mb}`, ...process.argv.slice(1)]
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'inherit', env: { ...process.env, [CHILD_MARK]: String(mb) } })
    // Ctrl-C reaches the whole process group: the child handles it, this process waits.
    const ignore = (): void => undefined
    process.on('SIGINT', ignore)
    child.once('error', (err) => {
      process.off('SIGINT', ignore)
      reject(err)
    })
    child.once('exit', (status, signal) => {
      process.off('SIGINT', ignore)
      resolve(status ?? (signal === null ? 1 : 128 + 2))
    })
  })
  process.exitCode = code
  return true
}
