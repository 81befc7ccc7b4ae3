// For end-to-end tests that freeze, kill and restart real `rumordb start` processes:
// SIGSTOP / SIGCONT (a node frozen with requests queued in its sockets), HTTP with
// headers and timings (Idempotency-Key), the ring as the nodes report it, and the
// cluster-wide facts tests wait for. Only processes a NodeProcess started are signalled,
// by their pid.
import { buildRing, preferenceList, type Ring } from '../../src/cluster/ring/ring.js'
import type { NodeProcess } from './node-process.js'

/** One HTTP answer, with how long it took. */
export interface Answer {
  readonly status: number
  readonly body: any
  readonly ms: number
}

/** Stops the process where it is (SIGSTOP): its sockets stay open and queue what peers send. */
export function freeze(node: NodeProcess): void {
  if (node.pid === undefined || !node.running) throw new Error(`${node.name} is not running: nothing to freeze`)
  const pid = node.pid
  process.kill(pid, 'SIGSTOP')
  // A stopped process cannot see its stdin close: if this test process dies first, end it here.
  if (!frozenPids.has(pid)) {
    frozenPids.add(pid)
    process.once('exit', () => {
      // Only while that node still runs under this pid: never a pid the system reused.
      if (!node.running || node.pid !== pid) return
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    })
  }
}

/** Nodes this process froze at some point; each is killed if this process exits first. */
const frozenPids = new Set<number>()

/** Lets a frozen process run again (SIGCONT); harmless on a running one. */
export function thaw(node: NodeProcess): void {
  if (node.pid !== undefined && node.running) process.kill(node.pid, 'SIGCONT')
}

/**
 * Stops every started node cleanly (a frozen one is thawed first, or SIGTERM would wait
 * for it forever; NodeProcess.kill falls back to SIGKILL). Never throws: it runs in
 * afterAll, after a failure too.
 */
export async function stopAll(nodes: readonly (NodeProcess | undefined)[]): Promise<void> {
  await Promise.allSettled(
    nodes.map(async (node) => {
      if (node === undefined || !node.running) return
      thaw(node)
      await node.kill('SIGTERM')
    }),
  )
}

/** An HTTP request to a node; the answer's body parsed when it is JSON. */
export async function call(
  node: NodeProcess,
  method: 'GET' | 'POST',
  path: string,
  options: { readonly body?: unknown; readonly headers?: Readonly<Record<string, string>>; readonly timeoutMs?: number } = {},
): Promise<Answer> {
  const started = performance.now()
  const res = await fetch(`${node.url}${path}`, {
    method,
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  })
  const text = await res.text()
  let body: unknown = text
  try {
    body = text.length > 0 ? JSON.parse(text) : undefined
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, body, ms: Math.round(performance.now() - started) }
}

/** `200 value=7 replayed`, `504 OUTCOME_UNKNOWN`: an answer in a log line. */
export function summary(answer: Answer): string {
  const { status, body } = answer
  if (body?.error?.code !== undefined) return `${status} ${body.error.code}`
  if (status === 200 && body !== null && typeof body === 'object' && 'value' in body) {
    return `${status} value=${JSON.stringify(body.value)}${body.replayed === true ? ' replayed' : ''}`
  }
  return `${status}`
}

/** The ring the node builds from its member table (every member that has not left). */
export async function ringOf(node: NodeProcess): Promise<Ring> {
  const { body } = await call(node, 'GET', '/v1/members')
  const members = (body.members as { id: string; vnodes: number; status: string }[]).filter((m) => m.status !== 'left')
  return buildRing(members.map((m) => ({ id: m.id, vnodes: m.vnodes })))
}

/**
 * The first key `${prefix}-0`, `${prefix}-1`, … whose preference list starts with `owner`
 * (and leaves out `notOn`: a node that forwards the key's unkeyed writes to `owner`).
 */
export function keyFirstOn(ring: Ring, owner: string, prefix: string, n: number, notOn?: string): string {
  for (let i = 0; i < 10_000; i++) {
    const key = `${prefix}-${i}`
    const list = preferenceList(ring, key, n)
    if (list[0] === owner && (notOn === undefined || !list.includes(notOn))) return key
  }
  throw new Error(`no key ${prefix}-i in 10,000 has ${owner} as its first replica${notOn === undefined ? '' : ` and leaves out ${notOn}`}; is it on the ring?`)
}

/** Whether every node sees `count` members alive (none suspected). */
export async function allAlive(nodes: readonly NodeProcess[], count: number): Promise<boolean> {
  const views = await Promise.all(nodes.map((n) => call(n, 'GET', '/v1/members')))
  return views.every((v) => v.status === 200 && v.body.members.filter((m: { status: string }) => m.status === 'alive').length === count)
}

/** Whether every node says `synced: true` (GET /v1/sync). */
export async function allSynced(nodes: readonly NodeProcess[]): Promise<boolean> {
  const views = await Promise.all(nodes.map((n) => call(n, 'GET', '/v1/sync')))
  return views.every((v) => v.status === 200 && v.body.synced === true)
}

/** Whether the node's own store holds `key` (GET /v1/keys lists local keys). */
export async function holdsLocally(node: NodeProcess, key: string): Promise<boolean> {
  const { body } = await call(node, 'GET', `/v1/keys?prefix=${encodeURIComponent(key)}`)
  return (body.keys as { key: string }[]).some((k) => k.key === key)
}

/** The engine counters the tests watch, from GET /v1/status. */
export async function counters(node: NodeProcess): Promise<{ writes: number; requestsSent: number; requestsFailed: number }> {
  const { body } = await call(node, 'GET', '/v1/status')
  return { writes: body.coordinator.writes, requestsSent: body.gossip.requestsSent, requestsFailed: body.gossip.requestsFailed }
}
