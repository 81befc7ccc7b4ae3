// GUN as one node of the equal-work comparison, set up as bench/peers/systems/gun.ts sets
// up its peers (that file says why each setting differs from GUN's defaults), but one peer
// per process: an HTTP/WebSocket server on 127.0.0.1, its own radisk folder, and every
// earlier node in `peers` (a full mesh). Writes: gun.get(root).get(key).put(value). The
// node's local state is what its gun.get(root).map().on() subscription has delivered.
import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import Gun from 'gun'
import type { GunChain, GunInternals } from '../../systems/gun.js'
import type { ChangeListener, NodeDriver, NodeStartContext, NodeSystem } from './node-driver.js'

const createGun = Gun as unknown as (options: Record<string, unknown>) => GunChain

class GunNode implements NodeDriver {
  private readonly seen = new Map<string, unknown>()
  private listener: ChangeListener = () => undefined
  private stopped = false

  constructor(
    private readonly gun: GunChain,
    private readonly server: Server,
    private readonly root: string,
    readonly info: Readonly<Record<string, string>>,
  ) {
    gun
      .get(root)
      .map()
      .on((value, key) => {
        this.seen.set(key, value)
        this.listener([[key, value]])
      })
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
    return new Map([...this.seen].filter(([k]) => k.startsWith(prefix)))
  }

  async stop(): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.gun.get(this.root).map().off()
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
    const gun = createGun({ web: server, peers, multicast: false, axe: false, stats: false, file: join(context.dir, 'radata') })
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gun`
    return new GunNode(gun, server, root, { url, root })
  },
}
