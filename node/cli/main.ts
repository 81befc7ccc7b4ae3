#!/usr/bin/env node
// The `rumordb` command. The polyfill comes first: libp2p needs it on Node 20.
import '../../src/polyfill.js'
import { readFileSync } from 'node:fs'
import { Command, CommanderError } from 'commander'
import { generateSwarmKey } from '../libp2p/index.js'
import { addBenchCommand } from './bench-command.js'
import { addClientCommands } from './client-commands.js'
import { CliError } from './http-client.js'
import { addStartCommand } from './start.js'

/** The package version, from node/cli/ in the sources or dist/node/cli/ when built. */
function packageVersion(): string {
  for (const up of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'rumordb' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // not at this level
    }
  }
  return 'unknown'
}

export function buildProgram(): Command {
  const program = new Command()
    .name('rumordb')
    .description('peer-to-peer AP key-value database: CRDT keys, gossip, sloppy quorums, SQLite')
    .version(packageVersion())
    .option('--node <url>', "a node's HTTP API, for the client commands", 'http://127.0.0.1:7070')
    .option('--token <token>', 'bearer token for the HTTP API (env RUMORDB_HTTP_TOKEN)')
    .option('--json', 'print JSON instead of text')
    .showHelpAfterError()
    .exitOverride()
  addStartCommand(program)
  addClientCommands(program)
  addBenchCommand(program)
  program
    .command('keygen')
    .description('print a new swarm key for a private cluster: rumordb keygen > swarm.key')
    .action(() => {
      process.stdout.write(generateSwarmKey())
    })
  return program
}

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
