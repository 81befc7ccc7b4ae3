// Entry of one node's process: `node --import tsx node-child.ts` with an IPC channel. It
// loads one system's node driver, starts it when told, applies the writes or counter
// increments the harness sends (in-process, through the system's own API, each awaited),
// cuts and heals its links when told (the partition workload), watches the workload's
// keys in its local state and pushes its progress, and answers with change times, a fresh
// local read, the bytes its sockets wrote and its peak RSS. It exits when the harness
// goes away, so no node outlives a run.
import '../../../node/polyfill/index.js'
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session, type Profiler } from 'node:inspector'
import { SocketMeter } from '../harness/socket-meter.js'
import { loadNodeSystem } from './drivers/index.js'
import type { ChangeListener, CounterAbility, LinkCutter, NodeDriver } from './drivers/node-driver.js'
import { NodeView } from './node-view.js'
import { epochNow, type ChildMessage, type ParentMessage } from './protocol.js'

const meter = new SocketMeter()
meter.start()

let driver: NodeDriver | undefined
/** Peers this node must see before it is ready (its system's readyWhen). */
let readyPeers = 0
let watch: { seq: number; prefix: string; view: NodeView; pollMs: number; bytesAtStart: number; cpuAtStart: NodeJS.CpuUsage } | undefined
let progressTimer: NodeJS.Timeout | undefined
let profiler: Session | undefined
/** A driver said "something changed" without saying what: a local read is due. */
let readDue = false
let reading = false

function send(message: ChildMessage, then?: () => void): void {
  if (process.send === undefined) throw new Error('node-child.ts runs only as a child process with an IPC channel')
  if (then === undefined) process.send(message)
  else process.send(message, () => then())
}

const onChange: ChangeListener = (changes) => {
  if (watch === undefined) return
  if (changes === null) {
    readDue = true
    scheduleProgress()
    return
  }
  const at = epochNow()
  let changed = false
  for (const [key, value] of changes) changed = watch.view.set(key, value, at) || changed
  if (changed) scheduleProgress()
}

/** Progress goes out at most every pollMs, after the changes that prompted it (and a local read, if one is due). */
function scheduleProgress(): void {
  if (watch === undefined || progressTimer !== undefined) return
  progressTimer = setTimeout(() => void flushProgress(), watch.pollMs)
}

async function flushProgress(): Promise<void> {
  progressTimer = undefined
  const current = watch
  if (current === undefined || driver === undefined) return
  if (readDue && !reading) {
    readDue = false
    reading = true
    try {
      const local = await driver.readLocal(current.prefix)
      const at = epochNow()
      for (const key of current.view.keys) current.view.set(key, local.get(key), at)
    } finally {
      reading = false
    }
    if (readDue) scheduleProgress()
  }
  if (watch === current) send({ type: 'progress', watch: current.seq, progress: current.view.progress(), sentAt: epochNow() })
}

async function handle(message: ParentMessage): Promise<ChildMessage> {
  switch (message.type) {
    case 'start': {
      const system = await loadNodeSystem(message.system)
      mkdirSync(message.dir, { recursive: true })
      driver = await system.start({ index: message.index, nodes: message.nodes, dir: message.dir, earlier: message.earlier, settings: message.settings })
      readyPeers = system.readyWhen(message.index, message.nodes)
      driver.onChange(onChange)
      return { type: 'started', seq: message.seq, info: driver.info }
    }
    case 'await-ready': {
      const node = need(driver)
      const deadline = performance.now() + message.timeoutMs
      for (;;) {
        const peers = await node.connectedPeers()
        if (peers >= readyPeers) return { type: 'ready', seq: message.seq, peers }
        if (performance.now() > deadline) throw new Error(`sees ${peers} of ${readyPeers} peers after ${message.timeoutMs} ms`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
    case 'watch': {
      const node = need(driver)
      if (progressTimer !== undefined) clearTimeout(progressTimer)
      progressTimer = undefined
      readDue = false
      const view = new NodeView(message.keys, message.expected)
      watch = { seq: message.seq, prefix: message.prefix, view, pollMs: message.pollMs, bytesAtStart: meter.bytesWritten(), cpuAtStart: process.cpuUsage() }
      // What this node already holds of the keys (nothing, for fresh keys).
      const local = await node.readLocal(message.prefix)
      const at = epochNow()
      for (const key of message.keys) if (local.has(key)) view.set(key, local.get(key), at)
      // One report of that, so a node that already holds everything counts without changing again.
      scheduleProgress()
      return { type: 'watching', seq: message.seq }
    }
    case 'write': {
      const node = need(driver)
      const { writes } = message
      const counter = message.op === 'increment' ? counters(node) : undefined
      const apply = (key: string, value: number): Promise<void> => (counter === undefined ? node.write(key, value) : counter.increment(key, value))
      const issuedAt = new Array<number>(writes.length)
      let next = 0
      // Writes are issued in order; with inFlight > 1 the next is issued before the last was applied.
      const worker = async (): Promise<void> => {
        while (next < writes.length) {
          const j = next++
          issuedAt[j] = epochNow()
          await apply(writes[j]![0], writes[j]![1])
        }
      }
      await Promise.all(Array.from({ length: Math.max(1, Math.min(message.inFlight, writes.length)) }, worker))
      // A progress report after the last write, so the harness never judges on one sent before it.
      scheduleProgress()
      return { type: 'written', seq: message.seq, issuedAt, doneAt: epochNow() }
    }
    case 'create-counters': {
      const counter = counters(need(driver))
      if (counter.create !== undefined) await counter.create(message.keys)
      return { type: 'counters-created', seq: message.seq, created: counter.create !== undefined }
    }
    case 'cut': {
      await links(need(driver)).cut(message.blocked)
      return { type: 'cut-done', seq: message.seq, at: epochNow() }
    }
    case 'heal': {
      await links(need(driver)).heal()
      return { type: 'healed', seq: message.seq, at: epochNow() }
    }
    case 'collect': {
      const node = need(driver)
      const current = need(watch)
      const cpu = process.cpuUsage(current.cpuAtStart)
      const local = await node.readLocal(current.prefix)
      return {
        type: 'collected',
        seq: message.seq,
        changedAt: current.view.times(),
        values: current.view.keys.map((k) => local.get(k) ?? null),
        bytesSent: meter.bytesWritten() - current.bytesAtStart,
        cpuMs: (cpu.user + cpu.system) / 1000,
        cpuSystemMs: cpu.system / 1000,
        peakRssBytes: process.resourceUsage().maxRSS * 1024,
      }
    }
    case 'profile': {
      if (message.action === 'start') {
        profiler ??= new Session()
        profiler.connect()
        await post(profiler, 'Profiler.enable')
        await post(profiler, 'Profiler.setSamplingInterval', { interval: 100 })
        await post(profiler, 'Profiler.start')
      } else {
        const session = need(profiler)
        const { profile } = await post<{ profile: Profiler.Profile }>(session, 'Profiler.stop')
        session.disconnect()
        profiler = undefined
        if (message.path !== undefined) writeFileSync(message.path, JSON.stringify(profile))
      }
      return { type: 'profiled', seq: message.seq }
    }
    case 'stop': {
      if (progressTimer !== undefined) clearTimeout(progressTimer)
      watch = undefined
      await driver?.stop()
      return { type: 'stopped', seq: message.seq }
    }
  }
}

function post<R>(session: Session, method: string, params: object = {}): Promise<R> {
  return new Promise((resolve, reject) => session.post(method, params, (err, res) => (err === null ? resolve(res as R) : reject(err))))
}

function counters(node: NodeDriver): CounterAbility {
  if (node.counters === undefined) throw new Error('this system has no counters in the equal-work harness: leave it out of the counter workload')
  return node.counters
}

function links(node: NodeDriver): LinkCutter {
  if (node.links === undefined) throw new Error('this system cannot cut its links in the equal-work harness: leave it out of the partition workload')
  return node.links
}

function need<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('not started yet: the harness sends start first')
  return value
}

process.on('message', (raw) => {
  const message = raw as ParentMessage
  handle(message).then(
    // After stop, exit: a system may leave timers or sockets behind.
    (reply) => send(reply, message.type === 'stop' ? () => process.exit(0) : undefined),
    (err: unknown) => send({ type: 'failed', seq: message.seq, message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
  )
})
// The harness went away (finished, or killed): nothing here may outlive it.
process.on('disconnect', () => process.exit(0))
send({ type: 'loaded' })
