// GUN as one node of the equal-work comparison, set up as bench/peers/systems/gun.ts sets
// up its peers (that file says why each setting differs from GUN's defaults), but one peer
// per process: an HTTP/WebSocket server on 127.0.0.1, its own radisk folder, and every
// earlier node in `peers` (a full mesh). Writes: gun.get(root).get(key).put(value). The
// node's local state is what its gun.get(root).map().on() subscription has delivered.
//
// Counters: GUN has no counter type. The GUN way is a counter by hand: each node keeps its
// own net sum of a counter under its own sub-key (gun.get(root + '/counters')
// .get(`<counter>:n<node>`).put(sum)), only that node writes it, and a reader adds up the
// sub-keys it holds: a PN-counter whose per-node entries are last-writer-wins registers.
//
// Cuts: every message that arrives from a blocked node is dropped in GUN's mesh.hear (the
// entry point of every incoming wire message, batches included), recognised by the pid
// that node announced in GUN's DAM handshake. Both ends drop, so nothing crosses the cut
// either way; the WebSockets stay open and senders still write to them, so GUN sees no
// reconnect. A reconnect would not help: GUN's only re-sync is its 'hi' handler asking
// peers again for subscribed nodes on a (re)connect, and that handler returns at once on a
// super peer (every Node.js GUN: gun/src/mesh.js, `if(opt.super){ return }`). What a cut
// dropped comes back only with a later put.
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import Gun from 'gun'
import type { GunChain, GunInternals } from '../../systems/gun.js'
import { published, type ChangeListener, type CounterAbility, type LinkCutter, type NodeDriver, type NodeStartContext, type NodeSystem } from './node-driver.js'

const createGun = Gun as unknown as (options: Record<string, unknown>) => GunChain

/** GUN's mesh as the cut wraps it: hear takes a wire message and the peer it came from. */
interface GunMesh {
  hear: (raw: unknown, peer: { pid?: string }) => unknown
}

/** A counter's sub-key for one node, and back. */
const SUB = ':n'

class GunNode implements NodeDriver {
  private readonly seen = new Map<string, unknown>()
  /** Per counter, each node's net sum as this node holds it. */
  private readonly parts = new Map<string, Map<string, number>>()
  /** This node's own net sum per counter. */
  private readonly mine = new Map<string, number>()
  private blocked = new Set<string>()
  private listener: ChangeListener = () => undefined
  private stopped = false

  readonly counters: CounterAbility = {
    increment: async (key, delta) => {
      const sum = (this.mine.get(key) ?? 0) + delta
      this.mine.set(key, sum)
      // As a put of a register: applied locally at once.
      this.gun.get(`${this.root}/counters`).get(`${key}${SUB}${this.index}`).put(sum)
    },
  }

  readonly links: LinkCutter = {
    cut: (blocked) => {
      this.blocked = new Set(blocked.map((b) => published(b, 'pid')))
    },
    heal: () => {
      this.blocked = new Set()
    },
  }

  constructor(
    private readonly gun: GunChain,
    private readonly server: Server,
    private readonly root: string,
    private readonly index: number,
    readonly info: Readonly<Record<string, string>>,
  ) {
    gun
      .get(root)
      .map()
      .on((value, key) => {
        this.seen.set(key, value)
        this.listener([[key, value]])
      })
    gun
      .get(`${root}/counters`)
      .map()
      .on((value, subKey) => {
        const at = subKey.lastIndexOf(SUB)
        if (at < 0 || typeof value !== 'number') return
        const key = subKey.slice(0, at)
        const parts = this.parts.get(key) ?? new Map<string, number>()
        this.parts.set(key, parts)
        parts.set(subKey.slice(at + SUB.length), value)
        this.listener([[key, this.total(key)]])
      })
    const mesh = this.internals().mesh as unknown as GunMesh
    const blockedOf = (): ReadonlySet<string> => this.blocked
    mesh.hear = new Proxy(mesh.hear, {
      apply(target, self, args: Parameters<GunMesh['hear']>) {
        const pid = args[1]?.pid
        if (pid !== undefined && blockedOf().has(pid)) return undefined
        return Reflect.apply(target, self, args)
      },
    })
  }

  private total(key: string): number {
    let sum = 0
    for (const part of this.parts.get(key)?.values() ?? []) sum += part
    return sum
  }

  private internals(): GunInternals {
    return this.gun.back('opt') as GunInternals
  }

  connectedPeers(): number {
    return Object.values(this.internals().peers).filter((p) => p.met !== undefined && p.wire != null).length
  }

  async write(key: string, value: number): Promise<void> {
    // A put applies locally at once; its callback would wait for a peer's acknowledgement.
    this.gun.get(this.root).get(key).put(value)
  }

  onChange(listener: ChangeListener): void {
    this.listener = listener
  }

  async readLocal(prefix: string): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>([...this.seen].filter(([k]) => k.startsWith(prefix)))
    for (const key of this.parts.keys()) if (key.startsWith(prefix)) out.set(key, this.total(key))
    return out
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.gun.get(this.root).map().off()
    this.gun.get(`${this.root}/counters`).map().off()
    const opt = this.internals()
    for (const remote of Object.values(opt.peers)) opt.mesh.bye(remote)
    opt.ws?.web?.close()
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}

export const gunNodeSystem: NodeSystem = {
  name: 'gun',
  readyWhen: (_index, nodes) => nodes - 1,
  async start(context: NodeStartContext): Promise<NodeDriver> {
    const root = context.earlier[0]?.root ?? `rumordb-bench-${process.pid}-${Date.now()}`
    const server = createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const peers = context.earlier.map((info) => info.url as string)
    // The pid GUN announces to its peers, chosen here so that other nodes can block it.
    const pid = `node${context.index}-${process.pid}`
    const gun = createGun({ web: server, peers, multicast: false, axe: false, stats: false, file: join(context.dir, 'radata'), pid })
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gun`
    return new GunNode(gun, server, root, context.index, { url, root, pid })
  },
}
