// A cluster of real `rumordb start` processes on 127.0.0.1 for the benchmark: node 0
// starts first, the others bootstrap from it; it is ready when every node sees every
// other one alive. Fault injection is on, so the harness can partition it. Each node
// stops itself if this process dies (--stop-with-stdin), so no server outlives a run.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eventually, NodeProcess } from '../lib/node-process.js'
import type { ConvergenceProbe, SyncView } from './convergence.js'
import { JsonClient } from './http-json.js'

export interface LocalClusterOptions {
  readonly nodes: number
  /** Replicas per key, and the default read and write quorums (rumordb start --n/--r/--w). */
  readonly n: number
  readonly r: number
  readonly w: number
  /** Connections each load client keeps per node. */
  readonly connections: number
  readonly startTimeoutMs: number
  /** How long all nodes may take to see each other alive. */
  readonly joinTimeoutMs: number
  /** Called as nodes become ready (for a progress bar). */
  readonly onNodeReady?: (ready: number) => void
}

/** Node processes started at once while the cluster forms: more only thrash a small machine. */
const START_BATCH = 3

/** The counters of GET /v1/status the benchmark reads. */
export interface NodeCounters {
  readonly pendingHints: number
  readonly bytesSent: number
  readonly bytesReceived: number
  readonly quorumMissed: number
  readonly fallbackWrites: number
}

export class LocalCluster implements ConvergenceProbe {
  readonly ids: string[]
  /** One pooled client per node for the workloads, another for polling (so polls do not queue behind load). */
  readonly clients: JsonClient[]
  private readonly control: JsonClient[]

  private constructor(
    readonly nodes: NodeProcess[],
    private readonly dir: string,
    connections: number,
  ) {
    this.ids = nodes.map((n) => n.info!.peerId)
    this.clients = nodes.map((n) => new JsonClient(n.url, connections))
    this.control = nodes.map((n) => new JsonClient(n.url, 2))
  }

  static async start(options: LocalClusterOptions): Promise<LocalCluster> {
    const dir = mkdtempSync(join(tmpdir(), 'rumordb-bench-cluster-'))
    const nodes: NodeProcess[] = []
    const args = ['--n', String(options.n), '--r', String(options.r), '--w', String(options.w)]
    const make = (i: number, extra: string[]): NodeProcess =>
      new NodeProcess(`node${i}`, join(dir, `node${i}`), {
        args: () => [...args, ...extra],
        faults: true,
        // Request logs at info would cost every node CPU in the middle of the measurements.
        logLevel: 'warn',
        stopWithParent: true,
      })
    try {
      const first = make(0, [])
      nodes.push(first)
      await first.start(options.startTimeoutMs)
      options.onNodeReady?.(1)
      const bootstrap = ['--bootstrap', first.info!.addrs[0] as string]
      for (let i = 1; i < options.nodes; i += START_BATCH) {
        const batch = Array.from({ length: Math.min(START_BATCH, options.nodes - i) }, (_, j) => make(i + j, bootstrap))
        nodes.push(...batch)
        await Promise.all(batch.map((n) => n.start(options.startTimeoutMs)))
        options.onNodeReady?.(nodes.length)
      }
      await eventually(
        async () => {
          const views = await Promise.all(nodes.map((n) => n.http('GET', '/v1/members')))
          return views.every((v) => (v.body as { members: { status: string }[] }).members.filter((m) => m.status === 'alive').length === options.nodes)
        },
        `${options.nodes} members alive on every node`,
        options.joinTimeoutMs,
      )
    } catch (err) {
      await Promise.all(nodes.map((n) => n.kill('SIGKILL')))
      rmSync(dir, { recursive: true, force: true })
      throw err
    }
    return new LocalCluster(nodes, dir, options.connections)
  }

  async syncViews(): Promise<SyncView[]> {
    return Promise.all(this.control.map(async (c) => okBody<SyncView>(await c.request('GET', '/v1/sync'), 'GET /v1/sync')))
  }

  async counters(): Promise<NodeCounters[]> {
    return Promise.all(
      this.control.map(async (c) => {
        const s = okBody<{
          pendingHints: number
          gossip: { bytesSent: number; bytesReceived: number }
          coordinator: { quorumMissed: number; fallbackWrites: number }
        }>(await c.request('GET', '/v1/status'), 'GET /v1/status')
        return {
          pendingHints: s.pendingHints,
          bytesSent: s.gossip.bytesSent,
          bytesReceived: s.gossip.bytesReceived,
          quorumMissed: s.coordinator.quorumMissed,
          fallbackWrites: s.coordinator.fallbackWrites,
        }
      }),
    )
  }

  async pendingHints(): Promise<number[]> {
    return (await this.counters()).map((c) => c.pendingHints)
  }

  /** Cuts the cluster into `groups` (node indices): every node blocks every node outside its group. */
  async partition(groups: readonly (readonly number[])[]): Promise<void> {
    const groupOf = new Map<number, number>()
    groups.forEach((g, gi) => g.forEach((i) => groupOf.set(i, gi)))
    await Promise.all(
      this.control.map(async (c, i) => {
        const block = this.ids.filter((_, j) => groupOf.get(j) !== groupOf.get(i))
        okBody(await c.request('POST', '/v1/_faults', { block }), 'POST /v1/_faults')
      }),
    )
  }

  async heal(): Promise<void> {
    await Promise.all(this.control.map(async (c) => okBody(await c.request('POST', '/v1/_faults', { block: [] }), 'POST /v1/_faults')))
  }

  /** Peak resident memory of each node so far (null where it cannot be read). */
  peakRssBytes(): (number | null)[] {
    return this.nodes.map((n) => n.peakRssBytes())
  }

  /** Stops every node (SIGTERM, then SIGKILL if one hangs) and deletes their data. Idempotent. */
  async stop(): Promise<void> {
    for (const c of [...this.clients, ...this.control]) c.close()
    await Promise.all(this.nodes.map((n) => n.kill('SIGTERM', 10_000)))
    rmSync(this.dir, { recursive: true, force: true })
  }
}

function okBody<T>(res: { status: number; body: unknown }, what: string): T {
  if (res.status !== 200) throw new Error(`${what} answered ${res.status}: ${JSON.stringify(res.body).slice(0, 300)}`)
  return res.body as T
}
