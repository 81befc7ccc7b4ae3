// `rumordb bench <name> [options…]`: runs a benchmark from bench/ (cluster, sim, storage,
// crdts…), the same code as `npm run bench -- <name>`. The benchmarks are TypeScript
// outside the published build (tsconfig.build.json leaves bench/ out), so this command
// runs bench/run.ts with tsx in a child process rather than importing it: that works the
// same from the sources (node --import tsx node/cli/main.ts) and from dist/, and needs a
// source checkout with its dev dependencies (npm ci), which is where benchmarks are run.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { CliError } from './http-client.js'

/** bench/run.ts seen from node/cli/ (sources) or dist/node/cli/ (built). */
export function findBenchRunner(from: string = import.meta.url): string | undefined {
  for (const up of ['../../bench/run.ts', '../../../bench/run.ts']) {
    const path = fileURLToPath(new URL(up, from))
    if (existsSync(path)) return path
  }
  return undefined
}

export function addBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('run a benchmark from bench/ (cluster, sim, storage, crdts, sync); e.g. rumordb bench cluster --quick')
    .argument('<name>', 'benchmark: cluster, sim, storage, crdts, sync')
    .argument('[options...]', 'the benchmark\'s own options (rumordb bench <name> --help lists them)')
    .allowUnknownOption()
    .helpOption(false)
    .action(async (name: string, options: string[]) => {
      const runner = findBenchRunner()
      if (runner === undefined) {
        throw new CliError('rumordb bench runs the benchmarks in bench/, which are not in the published package: run it from a source checkout after `npm ci`', 2)
      }
      const code = await runChild(runner, [name, ...options])
      if (code !== 0) process.exitCode = code
    })
}

/** Runs `node --import tsx runner args…` with this terminal, forwarding Ctrl-C; resolves with its exit code. */
function runChild(runner: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', runner, ...args], { stdio: 'inherit' })
    // The terminal sends SIGINT to the whole process group; the child stops its nodes and exits.
    const ignore = (): void => undefined
    process.on('SIGINT', ignore)
    child.once('error', (err) => {
      process.off('SIGINT', ignore)
      reject(new CliError(`could not start the benchmark: ${err.message}`, 1))
    })
    child.once('exit', (code, signal) => {
      process.off('SIGINT', ignore)
      resolve(code ?? (signal === null ? 1 : 128 + 2))
    })
  })
}
