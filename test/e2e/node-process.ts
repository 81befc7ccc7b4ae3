// Real `rumordb start` processes on loopback for end-to-end tests: spawn, wait for the
// `ready` log line (an event, not a sleep), talk HTTP, SIGKILL, restart.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const CLI = fileURLToPath(new URL('../../node/cli/main.ts', import.meta.url))

export interface ReadyInfo {
  peerId: string
  http: string
  addrs: string[]
}

export class NodeProcess {
  child: ChildProcess | undefined
  info: ReadyInfo | undefined
  readonly output: string[] = []

  constructor(
    readonly name: string,
    readonly dataDir: string,
    private readonly extraArgs: () => string[] = () => [],
  ) {}

  /** Starts the node and resolves with its ready line. */
  async start(timeoutMs = 30_000): Promise<ReadyInfo> {
    const args = ['--import', 'tsx', CLI, 'start', '--data', this.dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--http', '127.0.0.1:0', '--no-mdns', ...this.extraArgs()]
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.child = child
    child.stderr?.on('data', (d: Buffer) => this.output.push(d.toString()))
    const ready = new Promise<ReadyInfo>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} not ready within ${timeoutMs} ms:\n${this.output.join('')}`)), timeoutMs)
      createInterface({ input: child.stdout! }).on('line', (line) => {
        this.output.push(`${line}\n`)
        try {
          const entry = JSON.parse(line) as { msg?: string } & ReadyInfo
          if (entry.msg === 'ready') {
            clearTimeout(timer)
            resolve({ peerId: entry.peerId, http: entry.http, addrs: entry.addrs })
          }
        } catch {
          // not a log line
        }
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new Error(`${this.name} exited (${code ?? signal}) before ready:\n${this.output.join('')}`))
      })
    })
    this.info = await ready
    return this.info
  }

  get url(): string {
    if (this.info === undefined) throw new Error(`${this.name} is not started`)
    return this.info.http
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    const child = this.child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.kill(signal)
    const code = await exited
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
export function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 30_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Polls `check` (an HTTP question) until it holds or the deadline passes. */
export async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check().catch(() => false)) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise<void>((r) => setTimeout(r, 100))
  }
}
