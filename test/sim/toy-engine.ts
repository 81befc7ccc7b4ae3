// A small stand-in for the real engine, exercising what the simulator must make
// deterministic: periodic timers, random peer choice, request/response with timeouts,
// broadcasts, group-committed store writes, crash copies and restarts.
import type { Clock, TimerHandle } from '../../src/base/clock.js'
import type { Random } from '../../src/base/random.js'
import type { InMemoryStore } from '../../src/store/memory-store.js'
import type { Transport } from '../../src/transport/transport.js'

export interface ToyComponents {
  transport: Transport
  clock: Clock
  random: Random
  store: InMemoryStore
  /** Appends one line per observable step. */
  log: (line: string) => void
}

const COUNTER = 'counter'

export class ToyEngine {
  private timer: TimerHandle | undefined
  private value: number

  constructor(private readonly c: ToyComponents) {
    const stored = c.store.getMeta(COUNTER)
    this.value = stored === undefined ? 0 : new DataView(stored.buffer, stored.byteOffset).getUint32(0)
  }

  get counter(): number {
    return this.value
  }

  async start(): Promise<void> {
    const { transport } = this.c
    transport.setRequestHandler(async (from, frame) => {
      await this.merge(readU32(frame), `req from ${from}`)
      return u32(this.value)
    })
    transport.setBroadcastHandler((from, frame) => void this.merge(readU32(frame), `bcast from ${from}`))
    transport.onPeerSeen((p) => this.c.log(`${transport.localPeerId} seen ${p} at ${this.c.clock.now()}`))
    transport.onPeerLost((p) => this.c.log(`${transport.localPeerId} lost ${p} at ${this.c.clock.now()}`))
    await transport.start()
    this.arm()
  }

  async stop(): Promise<void> {
    if (this.timer !== undefined) this.c.clock.clearTimeout(this.timer)
    this.timer = undefined
    await this.c.transport.stop()
  }

  private arm(): void {
    this.timer = this.c.clock.setTimeout(() => void this.tick(), 50 + this.c.random.int(100))
  }

  private async tick(): Promise<void> {
    const { transport, random, log, clock } = this.c
    this.arm()
    if (random.next() < 0.3) await this.merge(this.value + 1 + random.int(3), 'local write')
    const peers = transport.peers()
    if (random.next() < 0.2) transport.broadcast(u32(this.value))
    const peer = peers[random.int(peers.length)]
    if (peer === undefined) return
    try {
      const answer = await transport.request(peer, u32(this.value), { timeoutMs: 200 })
      await this.merge(readU32(answer), `resp from ${peer}`)
    } catch (err) {
      log(`${transport.localPeerId} -> ${peer} failed at ${clock.now()}: ${(err as Error).name}`)
    }
  }

  private async merge(v: number, why: string): Promise<void> {
    if (v <= this.value) return
    this.value = v
    await this.c.store.write({ meta: [{ name: COUNTER, value: u32(v) }] })
    this.c.log(`${this.c.transport.localPeerId} = ${v} (${why}) durable at ${this.c.clock.now()}`)
  }
}

function u32(v: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, v)
  return out
}

function readU32(frame: Uint8Array): number {
  return frame.length < 4 ? 0 : new DataView(frame.buffer, frame.byteOffset).getUint32(0)
}
