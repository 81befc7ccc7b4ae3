// A real `rumordb start` process, as an operator or a supervisor sees it: it stops
// promptly on SIGTERM whatever became of its stdout (a reader that stopped reading, a
// closed pipe), stops with its parent under --stop-with-stdin, and a start that cannot
// work (a busy port, an unusable data directory, a token that could never match) says so
// in one line naming the flag, exits 2 and leaves nothing half-made behind. Every process
// here is started by this file and signalled only by its pid.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { builtEntryArgs } from '../fixtures/test-build.js'
import { within } from '../support/waits.js'

/** `node …` arguments that run the CLI (built for this run: it starts in half the time tsx takes). */
const CLI = builtEntryArgs('node/cli/main.ts')
const NODE_PARENT = fileURLToPath(new URL('./fixtures/node-parent.ts', import.meta.url))
/** How long a stop may take before the test calls it hung (generous: a loaded CI machine). */
const STOP_LIMIT_MS = 20_000

const dirs: string[] = []
const children: ChildProcess[] = []
const pids: number[] = []
const servers: Server[] = []

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  for (const pid of pids.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rumordb-process-'))
  dirs.push(dir)
  return dir
}

function startArgs(dataDir: string, extra: string[] = []): string[] {
  return [...CLI, 'start', '--data', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--http', '127.0.0.1:0', '--no-mdns', ...extra]
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}

/**
 * Starts a node with stdout piped here and resolves once it logged `ready`; from then on
 * this side does not read its stdout any more unless `keepReading`.
 */
async function startNode(dataDir: string, keepReading = false): Promise<{ child: ChildProcess; url: string; lines: string[] }> {
  const seen: string[] = []
  const child = spawn(process.execPath, startArgs(dataDir), { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let stderr = ''
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const url = await within(
    new Promise<string>((resolve, reject) => {
      let pending = ''
      const onData = (chunk: Buffer): void => {
        pending += chunk.toString()
        const lines = pending.split('\n')
        pending = lines.pop() ?? ''
        for (const line of lines) {
          seen.push(line)
          if (!line.includes('"msg":"ready"')) continue
          if (!keepReading) {
            child.stdout!.off('data', onData)
            child.stdout!.pause()
          }
          resolve((JSON.parse(line) as { http: string }).http)
        }
      }
      child.stdout!.on('data', onData)
      child.once('exit', (code) => reject(new Error(`the node exited (${code}) before ready: ${stderr}`)))
    }),
    30_000,
    'the node starting',
  )
  return { child, url, lines: seen }
}

/** Runs `rumordb start …` to its end; a node that starts after all is stopped and reported. */
async function failedStart(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string[] }> {
  const child = spawn(process.execPath, [...CLI, 'start', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
  children.push(child)
  let stderr = ''
  let started = false
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  child.stdout!.on('data', (chunk: Buffer) => {
    if (!started && chunk.toString().includes('"msg":"ready"')) {
      started = true
      child.kill('SIGTERM')
    }
  })
  const { code } = await within(exited(child), 30_000, 'the start ending')
  expect(started, 'the node started although it should have refused to').toBe(false)
  return { code, stderr: stderr.split('\n').filter((l) => l.length > 0) }
}

async function busyPort(): Promise<number> {
  const server = createServer()
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as { port: number }).port
}

describe('logs', () => {
  it('are JSON lines that name their component once (the HTTP server tags its own lines)', async () => {
    const { lines } = await startNode(join(tempDir(), 'data'))
    expect(lines.length).toBeGreaterThan(1)
    for (const line of lines) {
      expect(line.match(/"component":/g)?.length ?? 0, line).toBeLessThanOrEqual(1)
      expect(() => JSON.parse(line), line).not.toThrow()
    }
    const listening = lines.map((l) => JSON.parse(l) as { msg?: string; component?: string }).find((l) => l.msg?.startsWith('Server listening'))
    expect(listening?.component).toBe('rumordb:http')
  })
})

describe('stopping', () => {
  it('exits promptly on SIGTERM after nobody reads its stdout any more (the pipe is full)', async () => {
    const { child, url } = await startNode(join(tempDir(), 'data'))
    // Each request logs its 8 KB URL: a few hundred fill any pipe buffer many times over.
    const path = `/v1/kv/${'k'.repeat(8000)}`
    let answered = 0
    for (let i = 0; i < 400; i++) {
      const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined)
      if (res === undefined) break
      await res.arrayBuffer()
      answered++
    }
    // Logging must never hold up the API.
    expect(answered).toBe(400)
    child.kill('SIGTERM')
    expect(await within(exited(child), STOP_LIMIT_MS, 'exiting after SIGTERM with a full stdout pipe')).toEqual({ code: 0, signal: null })
  })

  it('exits promptly on SIGTERM after its stdout was closed (EPIPE)', async () => {
    const { child, url } = await startNode(join(tempDir(), 'data'))
    child.stdout!.destroy()
    // Something to log into the closed pipe.
    for (let i = 0; i < 20; i++) await (await fetch(`${url}/v1/keys`)).arrayBuffer()
    child.kill('SIGTERM')
    expect(await within(exited(child), STOP_LIMIT_MS, 'exiting after SIGTERM with a closed stdout')).toEqual({ code: 0, signal: null })
  })

  it('exits on SIGINT too, and a second signal ends it at once', async () => {
    const { child } = await startNode(join(tempDir(), 'data'), true)
    child.kill('SIGINT')
    child.kill('SIGINT')
    const { code } = await within(exited(child), STOP_LIMIT_MS, 'exiting after two SIGINTs')
    expect([0, 1]).toContain(code)
  })

  it('--stop-with-stdin: stops when its parent is killed, though its stdout and stderr went with the parent', async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', NODE_PARENT, join(tempDir(), 'data')], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] })
    children.push(parent)
    const pid = await within(
      new Promise<number>((resolve, reject) => {
        parent.stdout!.on('data', (chunk: Buffer) => {
          const match = /"pid":(\d+)/.exec(chunk.toString())
          if (match !== null) resolve(Number(match[1]))
        })
        parent.once('exit', () => reject(new Error('the parent exited before its node was ready')))
      }),
      30_000,
      'the node starting under its parent',
    )
    pids.push(pid)
    const held = parent.stdio[3] as NodeJS.ReadableStream
    const nodeGone = new Promise<void>((resolve) => {
      held.on('end', resolve)
      held.on('close', resolve)
      held.resume()
    })
    parent.kill('SIGKILL')
    await within(nodeGone, STOP_LIMIT_MS, 'the node exiting after its parent was killed')
  })
})

describe('a start that cannot work', () => {
  it('a busy --http port: one line naming the address and --http, exit 2, no data directory left', async () => {
    const port = await busyPort()
    const root = tempDir()
    const dataDir = join(root, 'fresh', 'data')
    const { code, stderr } = await failedStart(['--data', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--http', `127.0.0.1:${port}`, '--no-mdns'])
    expect(code).toBe(2)
    expect(stderr).toHaveLength(1)
    expect(stderr[0]).toContain(`--http 127.0.0.1:${port}`)
    expect(stderr[0]).toMatch(/in use/)
    expect(existsSync(join(root, 'fresh'))).toBe(false)
  })

  it('a busy --listen port: one line naming the multiaddr and --listen, exit 2, an existing data directory left as it was', async () => {
    const port = await busyPort()
    const dataDir = join(tempDir(), 'data')
    mkdirSync(dataDir)
    writeFileSync(join(dataDir, 'notes.txt'), 'mine')
    const { code, stderr } = await failedStart(['--data', dataDir, '--listen', `/ip4/127.0.0.1/tcp/${port}`, '--http', '127.0.0.1:0', '--no-mdns'])
    expect(code).toBe(2)
    expect(stderr).toHaveLength(1)
    expect(stderr[0]).toContain(`--listen /ip4/127.0.0.1/tcp/${port}`)
    expect(stderr[0]).toMatch(/in use/)
    expect(stderr[0]).not.toMatch(/faultTolerance|transportManager/)
    expect(readdirSync(dataDir)).toEqual(['notes.txt'])
  })

  it('an unusable --data path: one line naming it and --data, exit 2', async () => {
    const root = tempDir()
    writeFileSync(join(root, 'file'), 'not a directory')
    for (const dataDir of [join(root, 'file'), join(root, 'file', 'data')]) {
      const { code, stderr } = await failedStart(['--data', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--http', '127.0.0.1:0', '--no-mdns'])
      expect(code).toBe(2)
      expect(stderr).toHaveLength(1)
      expect(stderr[0]).toContain(`--data ${dataDir}`)
    }
  })

  it('an --http-token with a space or a control character: refused at start, exit 2, the token not echoed', async () => {
    const root = tempDir()
    const dataDir = join(root, 'data')
    const args = ['--data', dataDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--http', '127.0.0.1:0', '--no-mdns']
    const spaced = await failedStart([...args, '--http-token', 'has space'])
    expect(spaced.code).toBe(2)
    expect(spaced.stderr).toHaveLength(1)
    expect(spaced.stderr[0]).toMatch(/--http-token/)
    expect(spaced.stderr[0]).not.toContain('has space')
    const fromEnv = await failedStart(args, { RUMORDB_HTTP_TOKEN: 'tab\tbed' })
    expect(fromEnv.code).toBe(2)
    expect(fromEnv.stderr[0]).toMatch(/RUMORDB_HTTP_TOKEN/)
    expect(existsSync(dataDir)).toBe(false)
  })
})
