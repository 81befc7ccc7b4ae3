#!/usr/bin/env node
// The `rumordb` command. The polyfill comes first: libp2p needs it on Node 20.
import '../polyfill/index.js'
import { CommanderError } from 'commander'
import { CliError } from './http-client.js'
import { buildProgram } from './program.js'

export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv)
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

await main(process.argv)
