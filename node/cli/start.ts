// `rumordb start`: a node on the network, with its data in a local SQLite file and the
// HTTP API on loopback. When ready it writes DIR/node.json and logs one `ready` line;
// SIGINT/SIGTERM stop it cleanly (in-flight writes finish, SQLite closes; shutdown.ts). A
// start that cannot work says so in one line naming the flag, exits 2 and takes back what
// it made (start-checks.ts).
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Option, type Command } from 'commander'
import type { FastifyInstance } from 'fastify'
import type { Transport } from '../../src/transport/transport.js'
import type { ReplicationOptions } from '../../src/index.js'
import { DEFAULT_N, DEFAULT_R, DEFAULT_W } from '../../src/cluster/coordinator/constants.js'
import { DEFAULT_HINT_WINDOW_MS } from '../../src/cluster/handoff/constants.js'
import { createHttpServer } from '../http/server.js'
import { fromPino } from '../../src/base/logger.js'
import { StoreError } from '../../src/store/errors.js'
import { RejoinTooLateError } from '../../src/base/errors.js'
import { checkBinding } from '../http/auth.js'
import { HttpTokenRequiredError, InvalidHttpOptionError } from '../http/errors.js'
import { Libp2pSetupError, PeerKeyError, SwarmKeyError } from '../libp2p/errors.js'
import { checkLogLevel, createLogger, forComponent, LogOutput } from '../logger.js'
import { ClusterAccessError } from '../cluster-access.js'
import { openDatabase, type NetworkedDatabase } from '../open-database.js'
import { CliError } from './http-client.js'
import { durationMs } from './client-commands.js'
import { Shutdown } from './shutdown.js'
import { checkHttpToken, dataDirectoryRefused, httpListenRefused, libp2pListenRefused, prepareDataDirectory, START_REFUSED } from './start-checks.js'

export const NODE_INFO_FILE = 'node.json'
const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/4001']

export interface StartFlags {
  data: string
  listen: string[]
  http: string
  httpToken?: string
  bootstrap: string[]
  mdns: boolean
  swarmKey?: string
  join?: string
  open?: boolean
  cluster: string
  n?: string
  tombstonePurge?: string
  r?: string
  w?: string
  logLevel: string
  /** Hidden: stop when standard input closes (a benchmark's nodes die with their parent). */
  stopWithStdin?: boolean
}

/** `HOST:PORT`, `[v6]:PORT` or `:PORT`. */
export function parseHostPort(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text)
  const port = Number(match?.[3])
  if (match === null || !Number.isInteger(port) || port > 65535) {
    throw new CliError(`--http ${JSON.stringify(text)}: expected HOST:PORT, e.g. 127.0.0.1:7070 (port 0 picks a free one)`, 2)
  }
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port }
}

/** --tombstone-purge as milliseconds: at least the hint window (24 h), which a node started here keeps. */
export function purgeWindowFlag(text: string): number {
  const ms = durationMs(text)
  if (!Number.isSafeInteger(ms) || ms < DEFAULT_HINT_WINDOW_MS) {
    throw new CliError(
      `--tombstone-purge must be a duration of at least the hint window, 24h, such as 24h, 7d or 86400000 (milliseconds); got ${JSON.stringify(text)}. A shorter one could let a hint from before a delete bring back what it removed`,
      START_REFUSED,
    )
  }
  return ms
}

/** The replication flags given on the command line; absent ones are left to the library's defaults. */
export function replicationFlags(flags: Pick<StartFlags, 'n' | 'r' | 'w'>): ReplicationOptions {
  const given: { n?: number; r?: number; w?: number } = {}
  for (const name of ['n', 'r', 'w'] as const) {
    const text = flags[name]
    if (text !== undefined) given[name] = positive(name, text)
  }
  return given
}

function positive(name: string, text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new CliError(`--${name} must be a positive integer, got ${text}`, 2)
  return n
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

/**
 * What an entry other than the product's may add to a node: the fault-injection entry
 * (node/faults/main.ts, for tests and benchmarks) wraps the transport and adds a route.
 */
export interface StartHooks {
  readonly wrapTransport?: (transport: Transport) => Transport
  readonly extraRoutes?: (app: FastifyInstance) => void
  /** Logged at warn when the node starts. */
  readonly warning?: string
}

export function addStartCommand(program: Command, hooks: () => StartHooks = () => ({})): void {
  program
    .command('start')
    .description('start a node: libp2p peer, HTTP API on loopback, data in a local SQLite file')
    .option('--data <dir>', 'data directory (database, peer key, node.json)', './rumordb-data')
    .addOption(
      new Option('--listen <multiaddr>', 'libp2p listen address, repeatable (tcp port 0 picks a free port)')
        .argParser(collect)
        .default([], DEFAULT_LISTEN.join(' ')),
    )
    .option('--http <host:port>', 'HTTP API address; anything but loopback requires --http-token', '127.0.0.1:7070')
    .option('--http-token <token>', 'bearer token the HTTP API requires (env RUMORDB_HTTP_TOKEN)')
    .addOption(new Option('--bootstrap <multiaddr>', 'peer to dial, with /p2p/<peer id>, repeatable').argParser(collect).default([], 'none'))
    .option('--no-mdns', 'do not discover peers on the LAN by multicast DNS')
    .option('--join <invite>', "join a cluster with the invite `rumordb invite` printed on one of its nodes (kept: later starts need no flag)")
    .option('--swarm-key <file>', 'the cluster secret as a swarm key file (rumordb keygen), instead of the one kept in --data')
    .option('--open', 'no cluster secret: anyone who can reach this node may join, read and write (logged as a warning)')
    .option('--cluster <name>', 'cluster name: nodes join only peers of the same cluster', 'default')
    // No commander defaults: the library's apply when a flag is absent, and they adapt to a
    // small cluster (a w passed here is never lowered, so a lone node would miss it).
    .option('--n <count>', `replicas per key (default ${DEFAULT_N}, or every member when fewer)`)
    .option('--r <count>', `replicas a read asks (default ${DEFAULT_R}, at most n)`)
    .option('--w <count>', `acknowledgements a write waits for (default ${DEFAULT_W}, or 1 while this node knows no other member; a w set here is never lowered)`)
    .option('--tombstone-purge <duration>', 'purge a deleted key\'s tombstone this long after its last change, once every replica agrees: 24h (the default and the least), 7d, …')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent', 'info')
    .addOption(new Option('--stop-with-stdin', 'stop when standard input closes (for a parent process that starts nodes)').hideHelp())
    .action(async (flags: StartFlags) => {
      await startNode(flags, hooks())
    })
}

export async function startNode(flags: StartFlags, hooks: StartHooks = {}): Promise<void> {
  try {
    checkLogLevel(flags.logLevel)
  } catch (err) {
    throw new CliError((err as Error).message, START_REFUSED)
  }
  const output = new LogOutput(process.stdout)
  const logger = createLogger(flags.logLevel, output)
  const dataDir = resolve(flags.data)
  const http = parseHostPort(flags.http)
  const httpToken = checkHttpToken(flags.httpToken, process.env.RUMORDB_HTTP_TOKEN)
  try {
    checkBinding(http.host, httpToken)
  } catch (err) {
    throw refusedByHttp(err)
  }
  const replication = replicationFlags(flags)
  const tombstonePurgeMs = flags.tombstonePurge === undefined ? undefined : purgeWindowFlag(flags.tombstonePurge)
  let swarmKey: Uint8Array | undefined
  if (flags.swarmKey !== undefined) {
    try {
      swarmKey = readFileSync(flags.swarmKey)
    } catch (err) {
      throw new CliError(`cannot read --swarm-key ${flags.swarmKey}: ${(err as Error).message}; create one with \`rumordb keygen > swarm.key\``, 2)
    }
  }
  // From here a signal stops the node, during its start too.
  const shutdown = new Shutdown({ logger, flushLog: (ms) => output.flush(ms), stopWithStdin: flags.stopWithStdin === true })
  shutdown.listen()
  let made: ReturnType<typeof prepareDataDirectory> | undefined
  let db: NetworkedDatabase | undefined
  let server: ReturnType<typeof createHttpServer> | undefined
  let url: string
  try {
    made = prepareDataDirectory(dataDir)
    if (hooks.warning !== undefined) logger.warn({}, hooks.warning)
    if (flags.open === true) logger.warn({}, 'open cluster (--open): anyone who can reach this node may join, read and write; run without --open to keep a cluster secret')
    try {
      db = await openDatabase({
        dataDir,
        replication,
        ...(tombstonePurgeMs === undefined ? {} : { tombstonePurgeMs }),
        // The engine's components log under rumordb:anti-entropy, rumordb:clock, … (src/logger.ts).
        logger: fromPino(logger),
        network: {
          listen: flags.listen.length > 0 ? flags.listen : DEFAULT_LISTEN,
          bootstrap: flags.bootstrap,
          mdns: flags.mdns,
          swarmKey,
          join: flags.join,
          open: flags.open === true,
          cluster: flags.cluster,
          logger: forComponent(logger, 'libp2p'),
          wrapTransport: hooks.wrapTransport,
        },
      })
    } catch (err) {
      throw openRefused(err, flags, dataDir)
    }
    const transport = db.transport
    if (transport === undefined) throw new Error('a networked database has a transport')
    server = createHttpServer({
      db,
      host: http.host,
      port: http.port,
      httpToken,
      logger, // the server tags its lines component: rumordb:http
      isNetworkReady: () => transport.libp2p.status === 'started',
      extraRoutes: hooks.extraRoutes,
      // `rumordb leave`: leave the cluster for good, then stop.
      onLeave: () => shutdown.stop('leave requested', { leave: true }),
      // `rumordb invite`: the cluster secret and this node's addresses, for a node to --join.
      invite: () => (db as NetworkedDatabase).invite(),
    })
    try {
      url = (await server.listen()).url
    } catch (err) {
      throw httpListenRefused(flags.http, err) ?? err
    }
  } catch (err) {
    shutdown.dispose()
    await server?.close().catch(() => undefined)
    await db?.close().catch(() => undefined)
    made?.undo()
    throw refusedByHttp(err)
  }
  const { transport } = db
  const info = { peerId: transport?.peerId, http: url, addrs: transport?.multiaddrs() }
  const file = join(dataDir, NODE_INFO_FILE)
  writeFileSync(`${file}.tmp`, `${JSON.stringify(info, null, 2)}\n`)
  renameSync(`${file}.tmp`, file)
  logger.info({ ...info, dataDir, cluster: flags.cluster, ...replication }, 'ready')
  const running = { db, server }
  shutdown.running(async ({ leave }) => {
    await running.server.close()
    await running.db.close({ leave })
  })
}

/** createHttpServer's refusal of its options, as a start refused for its flags. */
function refusedByHttp(err: unknown): unknown {
  return err instanceof InvalidHttpOptionError || err instanceof HttpTokenRequiredError ? new CliError(err.message, START_REFUSED) : err
}

/** An error of openDatabase as a one-line refusal naming the flag to change, when it is one. */
function openRefused(err: unknown, flags: StartFlags, dataDir: string): unknown {
  if (err instanceof SwarmKeyError) return new CliError(`--swarm-key ${flags.swarmKey ?? ''}: ${err.message}`, START_REFUSED)
  if (err instanceof ClusterAccessError) return new CliError(err.message, START_REFUSED)
  if (err instanceof RejoinTooLateError) return new CliError(`--data ${dataDir}: ${err.message}`, START_REFUSED)
  if (err instanceof StoreError || err instanceof PeerKeyError) return new CliError(`--data ${dataDir}: ${err.message}`, START_REFUSED)
  const listen = libp2pListenRefused(flags.listen.length > 0 ? flags.listen : DEFAULT_LISTEN, err)
  if (listen !== undefined) return listen
  if (err instanceof Libp2pSetupError) return new CliError(err.message, START_REFUSED)
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string' && ['ENOTDIR', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EISDIR'].includes(code)) return dataDirectoryRefused(dataDir, err)
  return err
}
