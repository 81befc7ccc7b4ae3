// `rumordb watch [PREFIX] [--since CURSOR] [--count N]`: follows a node's change feed
// (GET /v1/watch, Server-Sent Events) and prints one line per change until interrupted, or
// until N changes with --count. `--json` prints each event's JSON.
import type { Command } from 'commander'
import { CliError, errorReason, type ClientOptions } from './http-client.js'

/** One Server-Sent Event: its id (the cursor) and its data (JSON). */
export interface ServerSentEvent {
  readonly id: string | undefined
  readonly data: string
}

/** The events of an SSE body, comments (keep-alive lines) skipped. */
export async function* serverSentEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<ServerSentEvent> {
  const decoder = new TextDecoder()
  let text = ''
  for await (const chunk of body) {
    text += decoder.decode(chunk, { stream: true })
    for (let end = text.indexOf('\n\n'); end >= 0; end = text.indexOf('\n\n')) {
      const block = text.slice(0, end)
      text = text.slice(end + 2)
      let id: string | undefined
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) id = line.slice(4)
        else if (line.startsWith('data: ')) data.push(line.slice(6))
      }
      if (data.length > 0) yield { id, data: data.join('\n') }
    }
  }
}

/** An open GET /v1/watch: its body, and how to hang up (the connection closes at once). */
export interface OpenWatch {
  readonly body: AsyncIterable<Uint8Array>
  close(): void
}

/** Opens GET /v1/watch; no timeout: the stream lasts until the caller closes it. */
export async function openWatch(options: ClientOptions, prefix: string, since: string | undefined): Promise<OpenWatch> {
  const query = new URLSearchParams()
  if (prefix !== '') query.set('prefix', prefix)
  if (since !== undefined) query.set('since', since)
  const base = options.node.endsWith('/') ? options.node : `${options.node}/`
  let url: URL
  try {
    url = new URL(`v1/watch${query.size > 0 ? `?${query}` : ''}`, base)
  } catch {
    throw new CliError(`--node ${JSON.stringify(options.node)} is not a URL; use e.g. http://127.0.0.1:7070`, 2)
  }
  const headers: Record<string, string> = { accept: 'text/event-stream' }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  const hangUp = new AbortController()
  let response: Response
  try {
    response = await fetch(url, { headers, signal: hangUp.signal })
  } catch (err) {
    const reason = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
    throw new CliError(`cannot reach the node at ${url.origin} (${reason}); is \`rumordb start\` running there? pass --node URL`)
  }
  if (response.status !== 200 || response.body === null) {
    const text = await response.text()
    let body: unknown
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
    throw new CliError(errorReason(response.status, body))
  }
  const body = response.body as unknown as AsyncIterable<Uint8Array>
  return { body, close: () => hangUp.abort() }
}

interface EventBody {
  key: string
  type?: string
  value?: unknown
  size?: number
  deleted?: boolean
  expired?: boolean
  origin?: string
  cursor: string
  /** The node ended the feed with this error (CURSOR_TOO_OLD). */
  error?: { code: string; message: string }
}

export function addWatchCommand(program: Command, clientOptions: (cmd: Command) => ClientOptions & { json?: boolean }, print: (line: string) => void): void {
  program
    .command('watch')
    .description('follow the changes of keys under PREFIX as they commit on the node (resume with --since the last cursor printed)')
    .argument('[prefix]', 'only keys that start with this', '')
    .option('--since <cursor>', 'start after this cursor (a cursor an earlier watch printed); without it, every key first')
    .option('--count <n>', 'stop after this many changes')
    .action(async (prefix: string, opts: { since?: string; count?: string }, cmd: Command) => {
      const count = opts.count === undefined ? Infinity : Number(opts.count)
      if (opts.count !== undefined && (!/^[0-9]+$/.test(opts.count) || !Number.isSafeInteger(count) || count < 1)) {
        throw new CliError(`--count must be a positive whole number, e.g. --count 10 (got ${JSON.stringify(opts.count)})`, 2)
      }
      const options = clientOptions(cmd)
      const watch = await openWatch(options, prefix, opts.since)
      try {
        await printEvents(watch, options.json === true, count, print)
      } finally {
        watch.close()
      }
    })
}

async function printEvents(watch: OpenWatch, json: boolean, count: number, print: (line: string) => void): Promise<void> {
  let seen = 0
  /** The error the node ended the feed with (an `event: error`). */
  let ended: string | undefined
  try {
    for await (const event of serverSentEvents(watch.body)) {
      const e = JSON.parse(event.data) as EventBody
      if (e.error !== undefined) {
        ended = `${e.error.code}: ${e.error.message}`
        break
      }
      if (json) print(event.data)
      else if (e.deleted === true) print(`${e.key} ${e.expired === true ? 'expired' : 'deleted'}   [cursor ${e.cursor}]`)
      else {
        const shown = e.value === undefined && e.size !== undefined ? `(${e.size} elements)` : JSON.stringify(e.value)
        print(`${e.key} (${e.type}) = ${shown}   [cursor ${e.cursor}]`)
      }
      if (++seen >= count) return
    }
  } catch (err) {
    // The connection broke (the node stopped, the network): the cursor printed last is where to resume.
    throw new CliError(`the change feed ended: ${(err as Error).message}; run watch again with --since the last cursor printed`)
  }
  if (ended !== undefined) throw new CliError(ended)
  throw new CliError('the node ended the change feed (it is stopping); run watch again with --since the last cursor printed')
}
