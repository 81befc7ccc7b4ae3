// The `rumordb` command tree, apart from main.ts (which runs it on import) so that tests
// can parse arguments and run client commands in-process.
import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { generateSwarmKey } from '../libp2p/index.js'
import { addBenchCommand } from './bench-command.js'
import { addClientCommands, type Print } from './client-commands.js'
import { addStartCommand, type StartHooks } from './start.js'

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

/** `print` receives the client commands' output, one line per call; `startHooks` what `start` adds to a node. */
export function buildProgram(print?: Print, startHooks?: () => StartHooks): Command {
  const program = new Command()
    .name('rumordb')
    .description('peer-to-peer AP key-value database: CRDT keys, gossip, sloppy quorums, SQLite')
    .version(packageVersion())
    .option('--node <url>', "a node's HTTP API, for the client commands", 'http://127.0.0.1:7070')
    .option('--token <token>', 'bearer token for the HTTP API (env RUMORDB_HTTP_TOKEN); not a session token: get takes that as --session')
    .option('--json', 'print JSON instead of text')
    .showHelpAfterError()
    .exitOverride()
  addStartCommand(program, startHooks)
  addClientCommands(program, print)
  addBenchCommand(program)
  program
    .command('keygen')
    .description('print a new swarm key for a private cluster: rumordb keygen > swarm.key')
    .action(() => {
      process.stdout.write(generateSwarmKey())
    })
  return program
}
