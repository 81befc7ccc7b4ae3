// `rumordb get | incr | decr | gincr | add | rm | set | del | resolve | keys | watch | invite | leave | members | status`: thin clients of
// a node's HTTP API. Human-readable output by default, `--json` for scripts.
import type { Command } from 'commander'
import { callNode, CliError, errorReason, type ClientOptions } from './http-client.js'
import { addWatchCommand } from './watch-command.js'
import { MAX_TTL_MS } from '../../src/base/validation.js'

/** Keys per GET /v1/keys request of `rumordb keys` (the server allows up to 10,000). */
const KEYS_PAGE = 1000

interface GlobalClientFlags {
  node: string
  token?: string
  json?: boolean
}

export type Print = (line: string) => void

function clientOptions(flags: GlobalClientFlags): ClientOptions {
  return { node: flags.node, token: flags.token ?? process.env.RUMORDB_HTTP_TOKEN }
}

function parseJsonArg(text: string, what: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new CliError(`${what} must be JSON, e.g. '"milk"', '42' or '{"sku":"apple"}' (quote it for your shell); got ${text}`, 2)
  }
}

/** A map field path: `a.b.c`, or a JSON array of names (for names with dots). */
function parseFieldPath(text: string): string[] {
  const path = text.startsWith('[') ? parseJsonArg(text, 'the field path') : text.split('.')
  if (!Array.isArray(path) || path.length === 0 || path.some((p) => typeof p !== 'string' || p.length === 0)) {
    throw new CliError(`the field path must be names joined by dots (address.city) or a JSON array of names, got ${text}`, 2)
  }
  return path as string[]
}

/** The POST body of `map KEY PATH OP [ARG]`. */
function mapWrite(path: string[], op: string, arg: string | undefined): Record<string, unknown> {
  const update = (field: Record<string, unknown>) => ({ type: 'map', op: 'update', path, update: field })
  const json = (what: string): unknown => {
    if (arg === undefined) throw new CliError(`map ${op} needs ${what} as JSON`, 2)
    return parseJsonArg(arg, what)
  }
  switch (op) {
    case 'incr':
      return update({ type: 'pncounter', op: 'increment', amount: parseAmount(arg) })
    case 'decr':
      return update({ type: 'pncounter', op: 'decrement', amount: parseAmount(arg) })
    case 'gincr':
      return update({ type: 'gcounter', op: 'increment', amount: parseAmount(arg) })
    case 'add':
      return update({ type: 'orset', op: 'add', element: json('the element') })
    case 'rm':
      return update({ type: 'orset', op: 'remove', element: json('the element') })
    case 'set':
      return update({ type: 'lww', op: 'set', value: json('the value') })
    case 'remove':
      if (arg !== undefined) throw new CliError('map remove takes no argument: it removes the whole field', 2)
      return { type: 'map', op: 'remove', path }
    default:
      throw new CliError(`map: unknown operation ${JSON.stringify(op)}; use incr, decr, gincr, add, rm, set or remove`, 2)
  }
}

function parseAmount(text: string | undefined): number {
  if (text === undefined) return 1
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 0 || !/^\d+$/.test(text)) {
    throw new CliError(`N must be a non-negative integer, got ${text}; use decr to subtract`, 2)
  }
  return n
}

function show(value: unknown): string {
  return JSON.stringify(value)
}

const TTL_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `--ttl`: a whole number with an optional unit (ms, s, m, h, d; ms without one), 1 ms to 2^40 ms. */
/** `30s`, `15m`, `12h`, `7d` or plain milliseconds, in milliseconds; NaN for anything else. */
export function durationMs(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text.trim())
  return match === null ? NaN : Number(match[1]) * (TTL_UNITS[match[2] ?? 'ms'] as number)
}

export function parseTtl(text: string): number {
  const ms = durationMs(text)
  if (!Number.isSafeInteger(ms) || ms < 1 || ms > MAX_TTL_MS) {
    throw new CliError(`--ttl must be a time to live such as 30s, 15m, 12h, 7d or 5000 (milliseconds), from 1 ms to 2^40 ms; got ${JSON.stringify(text)}`, 2)
  }
  return ms
}

async function write(
  flags: GlobalClientFlags & { w?: string; requireQuorum?: boolean; idempotencyKey?: string; ttl?: string },
  key: string,
  operation: Record<string, unknown>,
  print: Print,
): Promise<void> {
  const body = flags.ttl === undefined ? operation : { ...operation, ttl: parseTtl(flags.ttl) }
  const query = new URLSearchParams()
  if (flags.w !== undefined) query.set('w', flags.w)
  if (flags.requireQuorum === true) query.set('requireQuorum', 'true')
  const headers: Record<string, string> = flags.idempotencyKey === undefined ? {} : { 'idempotency-key': flags.idempotencyKey }
  const path = `v1/kv/${encodeURIComponent(key)}${query.size > 0 ? `?${query}` : ''}`
  const { status, body: reply } = await callNode(clientOptions(flags), 'POST', path, { body, headers })
  if (status !== 200) throw new CliError(errorReason(status, reply))
  const r = reply as WriteReply
  if (flags.json === true) return print(JSON.stringify(r))
  // A set of more than 1,000 elements answers its size only (read it with get --limit).
  const shown = r.value === undefined && r.size !== undefined ? `(${r.size} elements; get ${r.key} --limit N reads them)` : show(r.value)
  print(`${r.key} (${r.type}) = ${shown}   [${r.replayed === true ? 'replayed: applied once, earlier' : acksNote(r.acks, r.quorum)}]`)
  // Its own line, so that it can be copied whole into `get --session`.
  print(`session token: ${r.token}   (read your write: get --session TOKEN)`)
}

/** What POST /v1/kv/:key answers; a replayed idempotency key carries no acks. */
type WriteReply =
  | { key: string; type: string; value?: unknown; size?: number; acks: number; quorum: boolean; token: string; replayed?: undefined }
  | { key: string; type: string; value?: unknown; size?: number; token: string; replayed: true; acks?: undefined; quorum?: undefined }

function acksNote(acks: number, quorum: boolean): string {
  return `${acks} ack${acks === 1 ? '' : 's'}${quorum ? '' : ', quorum not met: it will propagate'}`
}

export function addClientCommands(program: Command, print: Print = (l) => console.log(l)): void {
  const flags = (cmd: Command): GlobalClientFlags => cmd.optsWithGlobals() as GlobalClientFlags
  const writeOptions = (cmd: Command): Command =>
    cmd
      .option('--w <count>', 'replicas that must acknowledge before the command returns')
      .option('--require-quorum', 'fail (exit 1) when fewer than w replicas acknowledged; the write still stays')
      .option('--idempotency-key <id>', 'a retry with the same id is applied once')
  // Writes of a value (not del) may give the key a time to live.
  const valueWriteOptions = (cmd: Command): Command =>
    writeOptions(cmd).option('--ttl <duration>', 'the key expires this long after the write: 30s, 15m, 12h, 7d, or milliseconds')

  program
    .command('get')
    .description("read a key's value (any type)")
    .argument('<key>')
    .option('--r <count>', 'replicas to ask')
    // Not --token: that is the global bearer token, and commander gives a global option
    // precedence wherever it appears on the line, so a `get --token` never reached get.
    .option('--session <token>', "session token a write printed: read a state that includes that write")
    .option('--require-quorum', 'fail (exit 1) instead of answering from fewer than r replicas')
    .option('--limit <count>', 'a set: print at most this many elements (a page), and the --after for the next page')
    .option('--after <json>', 'a set: only the elements after this one (JSON), e.g. the `next:` a page printed')
    .action(async (key: string, opts: { r?: string; session?: string; requireQuorum?: boolean; limit?: string; after?: string }, cmd: Command) => {
      const query = new URLSearchParams()
      if (opts.r !== undefined) query.set('r', opts.r)
      if (opts.requireQuorum === true) query.set('requireQuorum', 'true')
      if (opts.session !== undefined) query.set('token', opts.session)
      if (opts.limit !== undefined) query.set('limit', opts.limit)
      if (opts.after !== undefined) query.set('after', JSON.stringify(parseJsonArg(opts.after, '--after')))
      const path = `v1/kv/${encodeURIComponent(key)}${query.size > 0 ? `?${query}` : ''}`
      const { status, body } = await callNode(clientOptions(flags(cmd)), 'GET', path)
      if (status === 404) throw new CliError(`${key}: no such key`)
      if (status !== 200) throw new CliError(errorReason(status, body))
      const r = body as { key: string; type: string; value: unknown; replicas: number; size?: number; next?: unknown }
      if (flags(cmd).json === true) return print(JSON.stringify(r))
      const page = r.size === undefined ? '' : `   (${(r.value as unknown[]).length} of ${r.size} elements)`
      print(`${r.key} (${r.type}) = ${show(r.value)}   [${r.replicas} replica${r.replicas === 1 ? '' : 's'}]${page}`)
      if (r.next !== undefined) print(`next: --after '${JSON.stringify(r.next)}'`)
    })

  for (const [name, type, op, help] of [
    ['incr', 'pncounter', 'increment', 'add N (default 1) to a PN-counter'],
    ['decr', 'pncounter', 'decrement', 'subtract N (default 1) from a PN-counter'],
    ['gincr', 'gcounter', 'increment', 'add N (default 1) to a grow-only counter'],
  ] as const) {
    valueWriteOptions(program.command(name).description(help).argument('<key>').argument('[N]', 'amount, a non-negative integer'))
      .action(async (key: string, n: string | undefined, opts: object, cmd: Command) => {
        await write({ ...flags(cmd), ...opts }, key, { type, op, amount: parseAmount(n) }, print)
      })
  }
  valueWriteOptions(program.command('add').description('add a JSON element to an OR-set').argument('<key>').argument('<json>'))
    .action(async (key: string, json: string, opts: object, cmd: Command) => {
      await write({ ...flags(cmd), ...opts }, key, { type: 'orset', op: 'add', element: parseJsonArg(json, 'the element') }, print)
    })
  valueWriteOptions(program.command('rm').description('remove a JSON element from an OR-set').argument('<key>').argument('<json>'))
    .action(async (key: string, json: string, opts: object, cmd: Command) => {
      await write({ ...flags(cmd), ...opts }, key, { type: 'orset', op: 'remove', element: parseJsonArg(json, 'the element') }, print)
    })
  valueWriteOptions(program.command('set').description('set an LWW register to a JSON value').argument('<key>').argument('<json>'))
    .action(async (key: string, json: string, opts: object, cmd: Command) => {
      await write({ ...flags(cmd), ...opts }, key, { type: 'lww', op: 'set', value: parseJsonArg(json, 'the value') }, print)
    })

  valueWriteOptions(
    program
      .command('map')
      .description('write one field of a map (a document): incr|decr|gincr [N], add|rm JSON (a set field), set JSON (a register field), remove (the field)')
      .argument('<key>')
      .argument('<path>', 'the field: a name, a dotted path into nested maps (address.city), or a JSON array of names')
      .argument('<op>', 'incr, decr, gincr, add, rm, set or remove')
      .argument('[arg]', 'N for incr/decr/gincr, JSON for add/rm/set'),
  ).action(async (key: string, pathText: string, op: string, arg: string | undefined, opts: object, cmd: Command) => {
    await write({ ...flags(cmd), ...opts }, key, mapWrite(parseFieldPath(pathText), op, arg), print)
  })

  writeOptions(program.command('del').description('delete a key, whatever its type (a write the node had not seen yet survives)').argument('<key>'))
    .action(async (key: string, opts: { w?: string; requireQuorum?: boolean; idempotencyKey?: string }, cmd: Command) => {
      const query = new URLSearchParams()
      if (opts.w !== undefined) query.set('w', opts.w)
      if (opts.requireQuorum === true) query.set('requireQuorum', 'true')
      const headers: Record<string, string> = opts.idempotencyKey === undefined ? {} : { 'idempotency-key': opts.idempotencyKey }
      const path = `v1/kv/${encodeURIComponent(key)}${query.size > 0 ? `?${query}` : ''}`
      const { status, body } = await callNode(clientOptions(flags(cmd)), 'DELETE', path, { headers })
      if (status !== 200) throw new CliError(errorReason(status, body))
      const r = body as { key: string; deleted: boolean; acks?: number; quorum?: boolean; replayed?: boolean; token?: string }
      if (flags(cmd).json === true) return print(JSON.stringify(r))
      const what = r.deleted ? 'deleted' : 'nothing to delete'
      print(`${r.key}: ${what}   [${r.replayed === true ? 'replayed: applied once, earlier' : acksNote(r.acks ?? 1, r.quorum ?? true)}]`)
      if (r.token !== undefined) print(`session token: ${r.token}   (read your delete: get --session TOKEN)`)
    })

  program
    .command('resolve')
    .description('end a type conflict (a key written with two types on two sides of a partition) by keeping one type')
    .argument('<key>')
    .argument('<type>', 'the type to keep: gcounter, pncounter, orset or lww')
    .option('--w <count>', 'replicas that must acknowledge before the command returns')
    .action(async (key: string, type: string, opts: { w?: string }, cmd: Command) => {
      const query = opts.w === undefined ? '' : `?w=${encodeURIComponent(opts.w)}`
      const { status, body } = await callNode(clientOptions(flags(cmd)), 'POST', `v1/kv/${encodeURIComponent(key)}/resolve${query}`, { body: { keep: type } })
      if (status !== 200) throw new CliError(errorReason(status, body))
      const r = body as { key: string; type: string; value: unknown; acks: number; quorum: boolean }
      print(flags(cmd).json === true ? JSON.stringify(r) : `${r.key} (${r.type}) = ${show(r.value)}   [resolved: ${acksNote(r.acks, r.quorum)}]`)
    })

  program
    .command('invite')
    .description('print a one-line invite for another node to join this cluster (it holds the cluster secret: share it like a password)')
    .action(async (_opts: object, cmd: Command) => {
      const { status, body } = await callNode(clientOptions(flags(cmd)), 'GET', 'v1/invite')
      if (status !== 200) throw new CliError(errorReason(status, body))
      const r = body as { invite: string }
      print(flags(cmd).json === true ? JSON.stringify(r) : r.invite)
    })

  program
    .command('leave')
    .description('make the node leave the cluster for good and stop: the others show it left and take over its keys')
    .action(async (_opts: object, cmd: Command) => {
      const { status, body } = await callNode(clientOptions(flags(cmd)), 'POST', 'v1/leave')
      if (status !== 202) throw new CliError(errorReason(status, body))
      print(flags(cmd).json === true ? JSON.stringify(body) : 'the node is leaving the cluster and will stop')
    })

  program
    .command('keys')
    .description('list the keys this node stores (a cluster node: the keys it replicates), in key order')
    .argument('[prefix]', 'only keys that start with this', '')
    .option('--limit <count>', 'print at most this many keys (default: all)')
    .option('--after <key>', 'start after this key (to continue an earlier listing)')
    .action(async (prefix: string, opts: { limit?: string; after?: string }, cmd: Command) => {
      const limit = opts.limit === undefined ? Infinity : Number(opts.limit)
      if (opts.limit !== undefined && (!/^[0-9]+$/.test(opts.limit) || !Number.isSafeInteger(limit))) {
        throw new CliError(`--limit must be a whole number of keys, e.g. --limit 100 (got ${JSON.stringify(opts.limit)})`)
      }
      const keys: { key: string; type: string }[] = []
      let after = opts.after
      // Pages of at most KEYS_PAGE keys, each continuing after the last key of the one before.
      while (keys.length < limit) {
        const want = Math.min(KEYS_PAGE, limit - keys.length)
        const query = new URLSearchParams({ prefix, limit: String(want) })
        if (after !== undefined) query.set('after', after)
        const { status, body } = await callNode(clientOptions(flags(cmd)), 'GET', `v1/keys?${query}`)
        if (status !== 200) throw new CliError(errorReason(status, body))
        const page = (body as { keys: { key: string; type: string }[] }).keys
        keys.push(...page)
        if (page.length < want) break
        after = page[page.length - 1]?.key
      }
      if (flags(cmd).json === true) return print(JSON.stringify({ keys }))
      for (const k of keys) print(`${k.key} (${k.type})`)
    })

  addWatchCommand(program, (cmd) => ({ ...clientOptions(flags(cmd)), json: flags(cmd).json }), print)

  program
    .command('members')
    .description('list the cluster members this node sees')
    .action(async (_opts: object, cmd: Command) => {
      const { status, body } = await callNode(clientOptions(flags(cmd)), 'GET', 'v1/members')
      if (status !== 200) throw new CliError(errorReason(status, body))
      if (flags(cmd).json === true) return print(JSON.stringify(body))
      const r = body as { self: string; members: { id: string; status: string; addrs: string[]; vnodes: number }[] }
      for (const m of r.members) {
        print(`${m.id === r.self ? '*' : ' '} ${m.id}  ${m.status.padEnd(7)} vnodes=${m.vnodes}  ${m.addrs.join(' ')}`.trimEnd())
      }
    })

  /** GET /v1/sync's answer (node/http/schemas.ts syncResponseSchema). */
  interface SyncBody {
    digest: string
    ranges: unknown[]
    synced: boolean
    reason?: string
    peers: { id: string; status: string; inSync: boolean; reason?: string; lastExchange?: string; pendingHints: number }[]
    unreconciled: { key: string; peer: string; reason: string; since: string }[]
  }

  program
    .command('status')
    .description("show the node's id, keys, hints, members, replication counters, and whether it is synced (and why not)")
    .action(async (_opts: object, cmd: Command) => {
      const { status, body } = await callNode(clientOptions(flags(cmd)), 'GET', 'v1/status')
      if (status !== 200) throw new CliError(errorReason(status, body))
      const sync = await callNode(clientOptions(flags(cmd)), 'GET', 'v1/sync')
      if (sync.status !== 200) throw new CliError(errorReason(sync.status, sync.body))
      if (flags(cmd).json === true) return print(JSON.stringify({ ...(body as object), sync: sync.body }))
      const r = body as Record<string, unknown>
      for (const [k, v] of Object.entries(r)) print(`${k}: ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      const s = sync.body as SyncBody
      print(`synced: ${s.synced ? 'yes' : `no (${s.reason ?? 'no reason given'})`}`)
      print(`sync: digest ${s.digest}, ${s.ranges.length} replica set${s.ranges.length === 1 ? '' : 's'}`)
      for (const p of s.peers) {
        const state = p.inSync ? 'in sync' : `not in sync: ${p.reason ?? 'no reason given'}`
        print(`  ${p.id}  ${p.status.padEnd(7)}  ${state}  hints ${p.pendingHints}  last exchange ${p.lastExchange ?? 'never'}`)
      }
      for (const u of s.unreconciled) print(`  unreconciled ${JSON.stringify(u.key)} with ${u.peer} since ${u.since}: ${u.reason}`)
    })
}
