// Real `rumordb start` processes on loopback, for benchmarks and end-to-end tests: spawn,
// wait until ready (an event: the `ready` log line, or node.json appearing when the log
// level hides that line), talk HTTP, read peak memory, stop or SIGKILL, restart.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, watch } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const CLI = fileURLToPath(new URL('../../node/cli/main.ts', import.meta.url))
/** The same CLI with fault injection (POST /v1/_faults): tests and benchmarks only. */
export const CLI_WITH_FAULTS = fileURLToPath(new URL('../../node/faults/main.ts', import.meta.url))
/** What `rumordb start` writes into its data directory once it is ready. */
const NODE_INFO_FILE = 'node.json'
/** Log lines kept per process for error messages (a long benchmark would otherwise hoard them). */
const KEPT_LINES = 200
const LEVELS_SHOWING_READY = new Set(['info', 'debug', 'trace'])

export interface ReadyInfo {
  peerId: string
  http: string
  addrs: string[]
}

export interface NodeProcessOptions {
  /** Extra `rumordb start` arguments, asked for at each start (e.g. a bootstrap address known by then). */
  readonly args?: () => string[]
  /** Start through the fault-injection entry (node/faults/main.ts): the node answers POST /v1/_faults. */
  readonly faults?: boolean
  /**
   * Keep the node private (a cluster secret in its data directory, joined with `--join`).
   * By default a harness node starts `--open`, so nodes joined by `--bootstrap` connect.
   */
  readonly private?: boolean
  /** Extra environment variables (on top of this process's). */
  readonly env?: Readonly<Record<string, string>>
  /** `--log-level` (default info). Above info, readiness is read from node.json instead of the log. */
  readonly logLevel?: string
  /** The node stops when this process exits, even by SIGKILL (`--stop-with-stdin`). Default false. */
  readonly stopWithParent?: boolean
}

export class NodeProcess {
  child: ChildProcess | undefined
  info: ReadyInfo | undefined
  /** The last log lines (stdout and stderr), for error messages. */
  readonly output: string[] = []
  private readonly options: NodeProcessOptions

  constructor(
    readonly name: string,
    readonly dataDir: string,
    options: NodeProcessOptions | (() => string[]) = {},
  ) {
    this.options = typeof options === 'function' ? { args: options } : options
  }

  /** The process id while it runs. */
  get pid(): number | undefined {
    return this.child?.pid
  }

  /** Starts the node and resolves with its ready info. */
  async start(timeoutMs = 30_000): Promise<ReadyInfo> {
    const level = this.options.logLevel ?? 'info'
    const fromFile = !LEVELS_SHOWING_READY.has(level)
    mkdirSync(this.dataDir, { recursive: true })
    if (fromFile) rmSync(join(this.dataDir, NODE_INFO_FILE), { force: true })
    const args = [
      '--import',
      'tsx',
      this.options.faults === true ? CLI_WITH_FAULTS : CLI,
      'start',
      '--data',
      this.dataDir,
      '--listen',
      '/ip4/127.0.0.1/tcp/0',
      '--http',
      '127.0.0.1:0',
      '--no-mdns',
      '--log-level',
      level,
      ...(this.options.stopWithParent === true ? ['--stop-with-stdin'] : []),
      ...(this.options.private === true ? [] : ['--open']),
      ...(this.options.args?.() ?? []),
    ]
    const child = spawn(process.execPath, args, {
      stdio: [this.options.stopWithParent === true ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...this.options.env },
    })
    this.child = child
    const keep = (line: string): void => {
      this.output.push(line)
      if (this.output.length > KEPT_LINES) this.output.splice(0, this.output.length - KEPT_LINES)
    }
    createInterface({ input: child.stderr! }).on('line', keep)
    const lines = createInterface({ input: child.stdout! })
    const cleanups: (() => void)[] = []
    const ready = new Promise<ReadyInfo>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.output.join('\n')}`)), timeoutMs)
      cleanups.push(() => clearTimeout(timer))
      let lookForReady = !fromFile
      lines.on('line', (line) => {
        keep(line)
        if (!lookForReady) return
        try {
          const entry = JSON.parse(line) as { msg?: string } & ReadyInfo
          if (entry.msg === 'ready') {
            lookForReady = false
            resolve({ peerId: entry.peerId, http: entry.http, addrs: entry.addrs })
          }
        } catch {
          // not a log line
        }
      })
      if (fromFile) {
        // The node writes node.json.tmp and renames it: the rename is the event.
        const watcher = watch(this.dataDir, (_event, file) => {
          if (file !== NODE_INFO_FILE) return
          try {
            resolve(JSON.parse(readFileSync(join(this.dataDir, NODE_INFO_FILE), 'utf8')) as ReadyInfo)
          } catch {
            // not complete yet: the next event brings it
          }
        })
        cleanups.push(() => watcher.close())
      }
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        reject(new Error(`${this.name} exited (${code ?? signal}) before ready:\n${this.output.join('\n')}`))
      }
      child.once('exit', onExit)
      cleanups.push(() => child.off('exit', onExit))
    })
    try {
      this.info = await ready
    } finally {
      for (const cleanup of cleanups) cleanup()
    }
    return this.info
  }

  get url(): string {
    if (this.info === undefined) throw new Error(`${this.name} is not started`)
    return this.info.http
  }

  /** Whether the process is running. */
  get running(): boolean {
    const child = this.child
    return child !== undefined && child.exitCode === null && child.signalCode === null
  }

  /**
   * Peak resident memory of the running process in bytes (VmHWM in /proc/<pid>/status), or
   * null where /proc is missing (not Linux) or the process is gone.
   */
  peakRssBytes(): number | null {
    if (this.pid === undefined || !this.running) return null
    try {
      const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${this.pid}/status`, 'utf8'))
      return match === null ? null : Number(match[1]) * 1024
    } catch {
      return null
    }
  }

  /** Sends `signal` and resolves with the exit code once the process exited (SIGTERM: a clean stop). */
  async kill(signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 20_000): Promise<number | null> {
    const child = this.child
    if (child === undefined || !this.running) return child?.exitCode ?? null
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.kill(signal)
    // A clean stop that hangs must not hang its caller: SIGKILL after the grace period.
    const timer = signal === 'SIGKILL' ? undefined : setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    const code = await exited
    clearTimeout(timer)
    this.child = undefined
    return code
  }

  async http(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(20_000),
    })
    const text = await res.text()
    return { status: res.status, body: text.length > 0 ? JSON.parse(text) : undefined }
  }
}

/** Runs the CLI once (a client command) and returns its output and exit code. */
export function cli(args: string[], env: Readonly<Record<string, string>> = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, ...env } })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Polls `check` (an HTTP question) until it holds or the deadline passes. */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 30_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise<void>((r) => setTimeout(r, intervalMs))
  }
}
