// The harness's side of one node process: spawns node-child.ts under tsx with an IPC
// channel, sends requests and awaits their replies (each bounded), hands progress reports
// to a listener, and kills the process (by its pid) when it is done or hangs.
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { ViewProgress } from './node-view.js'
import { isChildMessage, isReply, type ChildMessage, type ChildReply, type ParentMessage } from './protocol.js'

const CHILD = fileURLToPath(new URL('./node-child.ts', import.meta.url))
const PEERS_DIR = fileURLToPath(new URL('..', import.meta.url))
/** tsx's loader, from the root devDependencies (resolved by path, as harness/spawn-trial.ts does). */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
const LOG_TAIL_CHARS = 2_000

/** Distributes the request types over their own payloads, so `request` can add `seq`. */
type Unsequenced<T> = T extends { seq: number } ? Omit<T, 'seq'> : never

export class NodeProcessError extends Error {
  override readonly name = 'NodeProcessError'
}

export class NodeProcess {
  private readonly child: ChildProcess
  private readonly waiting = new Map<number, { resolve(m: ChildReply): void; reject(e: Error): void }>()
  private nextSeq = 1
  private log = ''
  private exited = false
  private readonly loaded: Promise<void>
  /** Called with each progress report, the seq of the watch it is about and when it was sent (epoch ms). */
  onProgress: (watch: number, progress: ViewProgress, sentAt: number) => void = () => undefined

  constructor(
    readonly label: string,
    extraNodeArgs: readonly string[] = [],
  ) {
    this.child = spawn(process.execPath, [...extraNodeArgs, '--import', TSX, CHILD], { cwd: PEERS_DIR, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] })
    const keep = (chunk: Buffer): void => {
      this.log = (this.log + chunk.toString('utf8')).slice(-LOG_TAIL_CHARS)
    }
    this.child.stdout?.on('data', keep)
    this.child.stderr?.on('data', keep)
    let markLoaded: () => void = () => undefined
    let failLoad: (err: Error) => void = () => undefined
    this.loaded = new Promise<void>((resolve, reject) => {
      markLoaded = resolve
      failLoad = reject
    })
    this.loaded.catch(() => undefined)
    this.child.on('message', (raw: unknown) => {
      if (!isChildMessage(raw)) return
      const message: ChildMessage = raw
      if (message.type === 'loaded') markLoaded()
      else if (message.type === 'progress') this.onProgress(message.watch, message.progress, message.sentAt)
      else if (isReply(message)) {
        const waiter = this.waiting.get(message.seq)
        this.waiting.delete(message.seq)
        if (message.type === 'failed') waiter?.reject(new NodeProcessError(`${this.label}: ${message.message}`))
        else waiter?.resolve(message)
      }
    })
    this.child.on('exit', (code, signal) => {
      this.exited = true
      const err = new NodeProcessError(`${this.label} exited (${signal ?? `code ${code}`})${this.tail()}`)
      failLoad(err)
      for (const waiter of this.waiting.values()) waiter.reject(err)
      this.waiting.clear()
    })
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /** Resolves once the process has loaded its modules (the system's are loaded on start). */
  async whenLoaded(timeoutMs: number): Promise<void> {
    await bounded(this.loaded, timeoutMs, `${this.label} did not load within ${timeoutMs} ms`)
  }

  /** Sends a request and awaits its reply of type `T`, for at most `timeoutMs`. */
  async request<T extends ChildReply['type']>(message: Unsequenced<ParentMessage>, expect: T, timeoutMs: number): Promise<Extract<ChildReply, { type: T }>> {
    if (this.exited) throw new NodeProcessError(`${this.label} has exited${this.tail()}`)
    const seq = this.nextSeq++
    const reply = new Promise<ChildReply>((resolve, reject) => this.waiting.set(seq, { resolve, reject }))
    this.child.send({ ...message, seq } as ParentMessage)
    try {
      const m = await bounded(reply, timeoutMs, `${this.label} did not answer ${message.type} within ${timeoutMs} ms`)
      if (m.type !== expect) throw new NodeProcessError(`${this.label} answered ${message.type} with ${m.type}`)
      return m as Extract<ChildReply, { type: T }>
    } finally {
      this.waiting.delete(seq)
    }
  }

  /** Asks the node to stop (bounded), then kills the process by its pid if it is still there. */
  async stop(timeoutMs: number): Promise<void> {
    if (!this.exited) await this.request({ type: 'stop' }, 'stopped', timeoutMs).catch(() => undefined)
    await this.kill(timeoutMs)
  }

  async kill(timeoutMs = 5_000): Promise<void> {
    if (this.exited) return
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs)
    await gone
    clearTimeout(timer)
  }

  /** The last lines the process printed, for a failure's reason. */
  tail(): string {
    const t = this.log.trim()
    return t === '' ? '' : `; its last output: ${t.slice(-600)}`
  }
}

async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new NodeProcessError(what)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
