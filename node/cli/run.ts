// Runs the `rumordb` command tree on argv: the product's entry (main.ts) and the
// fault-injection entry for tests (node/faults/main.ts) share it.
import { CommanderError, type Command } from 'commander'
import { CliError } from './http-client.js'
import { buildProgram } from './program.js'

export async function runCli(argv: string[], program: Command = buildProgram()): Promise<void> {
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode
      return
    }
    const message = err instanceof Error ? err.message : String(err)
    process.stderr.write(`rumordb: ${message.split('\n')[0]}\n`)
    process.exitCode = err instanceof CliError ? err.exitCode : 1
  }
}
