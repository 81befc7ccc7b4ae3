// Runs one trial in its own Node.js process (trial-child.ts under tsx) and waits for its
// outcome, killing the process if it outlives every bound the trial has plus a margin.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { ChildReply, ChildRequest, TrialOutcome } from './trial.js'

const CHILD = fileURLToPath(new URL('./trial-child.ts', import.meta.url))
const PEERS_DIR = fileURLToPath(new URL('..', import.meta.url))
/** tsx's loader, from the root devDependencies (resolved by path: test runners rewrite import.meta). */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
/** Output kept from a trial process, for the report of one that failed. */
const LOG_TAIL_CHARS = 2_000
/** Time a trial process gets beyond its own bounds (module loading, cleanup). */
const MARGIN_MS = 30_000

export interface SpawnedTrial {
  readonly outcome: TrialOutcome
  /** The last lines the trial process printed (GUN greets, libraries warn). */
  readonly logTail: string
}

export async function spawnTrial(request: ChildRequest): Promise<SpawnedTrial> {
  const limitMs = 2 * request.startTimeoutMs + request.convergeTimeoutMs + 2 * request.stopTimeoutMs + MARGIN_MS
  const child = spawn(process.execPath, ['--import', TSX, CHILD, JSON.stringify(request)], {
    cwd: PEERS_DIR,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  })
  let log = ''
  const keep = (chunk: Buffer): void => {
    log = (log + chunk.toString('utf8')).slice(-LOG_TAIL_CHARS)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)

  let reply: ChildReply | undefined
  child.on('message', (message) => {
    reply = message as ChildReply
  })
  let killed = false
  const timer = setTimeout(() => {
    killed = true
    child.kill('SIGKILL')
  }, limitMs)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
    child.on('exit', (c, s) => resolve([c, s]))
  })
  clearTimeout(timer)
  const logTail = log.trim()
  if (reply !== undefined) return { outcome: reply.outcome, logTail }
  const reason = killed
    ? `trial process killed after ${limitMs} ms without an outcome`
    : `trial process exited (${signal ?? `code ${code}`}) without an outcome`
  return { outcome: { ok: false, phase: 'start', reason, peakRssBytes: 0 }, logTail }
}
