// SimNetwork: the simulated cluster's wires. It holds one SimNode per peer id (a stable
// handle whose transport endpoint, clock and random stream are replaced on restart),
// decides the fate of every frame (link latency, loss, duplication, extra reordering,
// partitions, dead receivers), reports reachability changes as peer-seen / peer-lost
// events, and counts traffic for benchmarks. All its randomness comes from one seeded
// stream, so a seed and a workload fix the run.
//
// Peer events, exactly: when an endpoint starts, it and every running endpoint it can
// reach each get `seen` for the other; when one stops or its node crashes, every running
// endpoint that could reach it gets `lost`; when partition() or heal() changes which pairs
// of running endpoints can reach each other, both sides of each changed pair get `seen` or
// `lost`. Events of one change are delivered together in one scheduled event at the
// instant of the change (not in the middle of the caller's code), in node-creation order.
// peers() answers from the current state at once.
import { seededRandom, type Random } from '../base/random.js'
import { UnknownSimNodeError } from './errors.js'
import { LinkTable, sampleDelay, type LinkConfig, type LinkOverrides } from './link.js'
import { partitionGroups, sameSide, type PartitionGroups } from './partition.js'
import { SimScheduler } from './scheduler.js'
import { SimClock } from './sim-clock.js'
import { mixSeed, nodeRandom, SimNode, type AddNodeOptions } from './sim-node.js'
import { SimTransport, type FrameKind, type NodeCounters, type SimWire } from './sim-transport.js'

export type { NodeCounters } from './sim-transport.js'

export interface SimNetworkOptions {
  /** Seeds the network's random stream and every node's. */
  readonly seed: number
  /** Shared with anything else the test schedules; a new one by default. */
  readonly scheduler?: SimScheduler
  /** Overrides of DEFAULT_LINK for every link. */
  readonly link?: LinkOverrides
  /**
   * What a request to a crashed or stopped peer (reachable, not partitioned) gets:
   * `timeout` (default: the host is gone, like a power cut, so the requester waits out its
   * timeout) or `refuse` (the process died but its host resets the connection, so the
   * requester gets PeerUnreachableError after one round trip). Partitions always time out.
   */
  readonly deadPeers?: 'timeout' | 'refuse'
  /** Called for every frame's fate; for determinism checks and debugging. */
  readonly trace?: (event: SimTraceEvent) => void
}

export interface SimTraceEvent {
  readonly time: number
  /** send: a frame left; lost: dropped by link loss; duplicated: a second copy was made; dropped: the receiver was unreachable; delivered: it arrived. */
  readonly event: 'send' | 'lost' | 'duplicated' | 'dropped' | 'delivered' | 'reset'
  readonly kind: FrameKind
  readonly from: string
  readonly to: string
  readonly bytes: number
}

export interface NetworkCounters {
  /** Frames put on a link. */
  sent: number
  bytesSent: number
  /** Copies that arrived at a running, reachable receiver. */
  delivered: number
  bytesDelivered: number
  /** Frames dropped by link loss. */
  lost: number
  /** Frames or copies dropped because the receiver was partitioned away, crashed or stopped (at sending or arrival). */
  dropped: number
  /** Extra copies made by link duplication. */
  duplicated: number
  /** Answers lost with their connection reset (link `reset`). */
  resets: number
  /** Frames sent, by kind. */
  requests: number
  responses: number
  broadcasts: number
}

export interface PartitionOptions {
  /** 'notify' (default): endpoints hear of peers lost and regained; 'keep': they hear nothing. */
  readonly connections?: 'notify' | 'keep'
}

export class SimNetwork {
  readonly scheduler: SimScheduler
  readonly seed: number
  /** The network's own stream (latency, loss, duplication). */
  readonly random: Random
  private readonly nodes = new Map<string, SimNode>()
  private readonly links: LinkTable
  private groups: PartitionGroups | undefined
  private readonly deadPeers: 'timeout' | 'refuse'
  private readonly trace: ((event: SimTraceEvent) => void) | undefined
  private readonly totals: NetworkCounters = {
    sent: 0,
    bytesSent: 0,
    delivered: 0,
    bytesDelivered: 0,
    lost: 0,
    dropped: 0,
    duplicated: 0,
    resets: 0,
    requests: 0,
    responses: 0,
    broadcasts: 0,
  }
  private inFlight = 0
  private openRequests = 0
  /** Bumped on every reachability change; peers() caches by it. */
  private topology = 0
  private runningCache: { version: number; endpoints: SimTransport[] } | undefined
  private readonly wire: SimWire

  constructor(options: SimNetworkOptions) {
    this.seed = options.seed
    this.scheduler = options.scheduler ?? new SimScheduler()
    this.random = seededRandom(mixSeed(options.seed, 0x6e6574))
    this.links = new LinkTable(options.link ?? {})
    this.deadPeers = options.deadPeers ?? 'timeout'
    this.trace = options.trace
    this.wire = {
      endpoint: (peerId) => this.nodes.get(peerId)?.endpointRef,
      send: (from, to, kind, frame, deliver, refused, reset) => this.send(from, to, kind, frame, deliver, refused, reset),
      broadcast: (from, frame) => this.broadcastFrom(from, frame),
      peersOf: (endpoint) => this.peersOf(endpoint),
      started: (endpoint) => this.reachabilityOf(endpoint, 'seen'),
      stopped: (endpoint) => this.reachabilityOf(endpoint, 'lost'),
      requestOpened: () => void this.openRequests++,
      requestClosed: () => void this.openRequests--,
    }
  }

  // ---- nodes -------------------------------------------------------------------------

  /** Adds a machine; its transport is created unstarted. Peer ids must be unique. */
  addNode(id: string, options: AddNodeOptions = {}): SimNode {
    if (this.nodes.has(id)) throw new RangeError(`a node ${id} already exists in the simulated network`)
    const skew = options.skewMs ?? 0
    const counters: NodeCounters = { messagesSent: 0, bytesSent: 0, messagesReceived: 0, bytesReceived: 0 }
    const endpoint = new SimTransport(id, new SimClock(this.scheduler, { skewMs: skew }), this.wire, 0, counters)
    const node = new SimNode(id, this.nodes.size, endpoint, nodeRandom(this.seed, id, 0), skew)
    this.nodes.set(id, node)
    return node
  }

  /** Adds `n` nodes named `${prefix}0` … `${prefix}${n-1}` (zero-padded so they sort). */
  addNodes(n: number, prefix = 'n'): SimNode[] {
    const width = String(Math.max(0, n - 1)).length
    return Array.from({ length: n }, (_, i) => this.addNode(prefix + String(i).padStart(width, '0')))
  }

  node(id: string): SimNode {
    const node = this.nodes.get(id)
    if (node === undefined) throw new UnknownSimNodeError(id)
    return node
  }

  /** Every node, in creation order. */
  allNodes(): SimNode[] {
    return [...this.nodes.values()]
  }

  /** Shorthands for an engine's components. */
  transport(id: string): SimTransport {
    return this.node(id).transport
  }

  clock(id: string): SimClock {
    return this.node(id).clock
  }

  /**
   * Kills the node like kill -9: its transport endpoint dies (handlers gone, pending
   * requests never settle, nothing it sends leaves), its timers and pending group commits
   * are cancelled, frames on their way to it are lost, and reachable peers get `lost`.
   * Take the crash copy of its store at the same instant (`store.crashCopy(...)`).
   * Crashing a crashed node does nothing.
   *
   * `connections: 'reset'` is a process that died on a host that lives on: requests others
   * have pending with it fail with ConnectionResetError one link delay later, and new ones
   * are refused (PeerUnreachableError) until it restarts. `'silent'` is a host that is gone:
   * they time out. The default follows the network's `deadPeers`.
   */
  crash(id: string, options: { connections?: 'reset' | 'silent' } = {}): void {
    const node = this.node(id)
    if (node.crashed) return
    node.crashed = true
    const endpoint = node.endpointRef
    const mode = options.connections ?? (this.deadPeers === 'refuse' ? 'reset' : 'silent')
    if (endpoint.isRunning) this.reachabilityOf(endpoint, 'lost')
    if (mode === 'reset') {
      for (const other of this.running()) {
        if (other !== endpoint && this.reachable(id, other.localPeerId)) {
          other.resetRequestsTo(id, sampleDelay(this.link(id, other.localPeerId), this.random))
        }
      }
    }
    this.openRequests -= endpoint.kill(mode)
    endpoint.clock.halt()
    this.topology++
  }

  /**
   * Brings back a crashed node (or one whose transport was stopped) as a new process: a new
   * unstarted transport endpoint, a new clock (same skew), a new random stream. Build a
   * new engine on these and on the crash copy of its store, then start it.
   */
  restart(id: string): SimNode {
    const node = this.node(id)
    const old = node.endpointRef
    if (!node.crashed && !old.isStopped) {
      throw new RangeError(`node ${id} is running: crash it (or stop its transport) before restarting it`)
    }
    if (!old.isDead) this.openRequests -= old.kill()
    old.clock.halt()
    const incarnation = old.incarnation + 1
    const clock = new SimClock(this.scheduler, { skewMs: node.skew })
    node.endpointRef = new SimTransport(id, clock, this.wire, incarnation, old.counters)
    node.randomRef = nodeRandom(this.seed, id, incarnation)
    node.crashed = false
    this.topology++
    return node
  }

  /** Sets the node's wall-clock skew (now() = virtual time + skew); it may jump backwards. Survives restarts. */
  setSkew(id: string, skewMs: number): void {
    if (!Number.isFinite(skewMs)) throw new RangeError(`skew must be a finite number of ms, got ${skewMs}`)
    const node = this.node(id)
    node.skew = skewMs
    node.endpointRef.clock.skewMs = skewMs
  }

  // ---- links and partitions ------------------------------------------------------------

  /** Changes the default of every link without an override of its own. */
  setDefaultLink(overrides: LinkOverrides): void {
    this.links.setDefault(overrides)
  }

  /** Overrides the link from `a` to `b` (and from `b` to `a` unless `oneWay`); unset fields follow the default. */
  setLink(a: string, b: string, overrides: LinkOverrides, options: { oneWay?: boolean } = {}): void {
    this.node(a)
    this.node(b)
    this.links.set(a, b, overrides)
    if (options.oneWay !== true) this.links.set(b, a, overrides)
  }

  /** Removes the overrides of the link between `a` and `b` (both directions). */
  clearLink(a: string, b: string): void {
    this.links.clear(a, b)
    this.links.clear(b, a)
  }

  /** The config frames from `from` to `to` get. */
  link(from: string, to: string): LinkConfig {
    return this.links.get(from, to)
  }

  /**
   * Splits the network: nodes in different groups cannot reach each other; nodes listed
   * in no group form one more group together. Replaces any earlier partition. Frames
   * already on their way across a new cut are lost. Endpoints are told of the peers they
   * lost and regained, as when connections break; with `connections: 'keep'` nobody is
   * told, as when TCP connections outlive a short cut (frames just stop arriving).
   */
  partition(groups: readonly (readonly string[])[], options: PartitionOptions = {}): void {
    for (const group of groups) for (const id of group) this.node(id)
    this.setGroups(partitionGroups(groups), options)
  }

  /** Cuts `id` off from every other node. */
  isolate(id: string): void {
    this.partition([[id]])
  }

  /** Ends any partition (`connections: 'keep'`: without telling the endpoints, as in partition()). */
  heal(options: PartitionOptions = {}): void {
    this.setGroups(undefined, options)
  }

  /** Whether frames can pass between `a` and `b` now (partitions only; not whether they are up). */
  reachable(a: string, b: string): boolean {
    return sameSide(this.groups, a, b)
  }

  // ---- observation -----------------------------------------------------------------------

  /** No frame on its way and no request of a live endpoint waiting for an answer. */
  isQuiet(): boolean {
    return this.inFlight === 0 && this.openRequests === 0
  }

  /** Frames (copies) scheduled for arrival and not yet arrived. */
  get framesInFlight(): number {
    return this.inFlight
  }

  counters(): NetworkCounters {
    return { ...this.totals }
  }

  nodeCounters(id: string): NodeCounters {
    return { ...this.node(id).endpointRef.counters }
  }

  // ---- the wire ------------------------------------------------------------------------

  private send(
    from: SimTransport,
    to: SimTransport,
    kind: FrameKind,
    frame: Uint8Array,
    deliver: (copy: Uint8Array) => void,
    refused: (() => void) | undefined,
    reset?: () => void,
  ): void {
    const fromId = from.localPeerId
    const toId = to.localPeerId
    const bytes = frame.length
    const totals = this.totals
    totals.sent++
    totals.bytesSent += bytes
    totals[kind === 'request' ? 'requests' : kind === 'response' ? 'responses' : 'broadcasts']++
    from.counters.messagesSent++
    from.counters.bytesSent += bytes
    this.trace?.({ time: this.scheduler.now, event: 'send', kind, from: fromId, to: toId, bytes })

    const link = this.link(fromId, toId)
    if (!to.isRunning || !this.reachable(fromId, toId)) {
      this.drop(kind, fromId, toId, bytes)
      const refuses = this.deadPeers === 'refuse' || (to.isDead && to.deathMode === 'reset')
      if (refused !== undefined && refuses && this.reachable(fromId, toId)) {
        const roundTrip = sampleDelay(link, this.random) + sampleDelay(this.link(toId, fromId), this.random)
        this.scheduler.after(roundTrip, refused)
      }
      return
    }
    const random = this.random
    if (reset !== undefined && link.reset > 0 && random.next() < link.reset) {
      totals.resets++
      this.trace?.({ time: this.scheduler.now, event: 'reset', kind, from: fromId, to: toId, bytes })
      this.scheduler.after(sampleDelay(link, random), reset)
      return
    }
    if (link.loss > 0 && random.next() < link.loss) {
      totals.lost++
      this.trace?.({ time: this.scheduler.now, event: 'lost', kind, from: fromId, to: toId, bytes })
      return
    }
    const copies = link.duplicate > 0 && random.next() < link.duplicate ? 2 : 1
    if (copies === 2) {
      totals.duplicated++
      this.trace?.({ time: this.scheduler.now, event: 'duplicated', kind, from: fromId, to: toId, bytes })
    }
    for (let i = 0; i < copies; i++) {
      this.inFlight++
      this.scheduler.after(sampleDelay(link, random), () => {
        this.inFlight--
        // Checked again at arrival: the receiver may have died or been cut off meanwhile.
        if (!to.isRunning || !this.reachable(fromId, toId)) {
          this.drop(kind, fromId, toId, bytes)
          return
        }
        totals.delivered++
        totals.bytesDelivered += bytes
        to.counters.messagesReceived++
        to.counters.bytesReceived += bytes
        this.trace?.({ time: this.scheduler.now, event: 'delivered', kind, from: fromId, to: toId, bytes })
        deliver(frame.slice())
      })
    }
  }

  private drop(kind: FrameKind, from: string, to: string, bytes: number): void {
    this.totals.dropped++
    this.trace?.({ time: this.scheduler.now, event: 'dropped', kind, from, to, bytes })
  }

  private broadcastFrom(from: SimTransport, frame: Uint8Array): void {
    const fromId = from.localPeerId
    for (const to of this.running()) {
      if (to === from || !this.reachable(fromId, to.localPeerId)) continue
      this.send(from, to, 'broadcast', frame, (copy) => to.receiveBroadcast(fromId, copy), undefined, undefined)
    }
  }

  private running(): SimTransport[] {
    if (this.runningCache?.version !== this.topology) {
      const endpoints: SimTransport[] = []
      for (const node of this.nodes.values()) if (node.endpointRef.isRunning) endpoints.push(node.endpointRef)
      this.runningCache = { version: this.topology, endpoints }
    }
    return this.runningCache.endpoints
  }

  private peersOf(endpoint: SimTransport): string[] {
    const cache = endpoint.peerCache
    if (cache !== undefined && cache.version === this.topology) return cache.peers
    const id = endpoint.localPeerId
    const peers: string[] = []
    for (const other of this.running()) {
      if (other !== endpoint && this.reachable(id, other.localPeerId)) peers.push(other.localPeerId)
    }
    endpoint.peerCache = { version: this.topology, peers }
    return peers
  }

  /** `endpoint` just started (seen) or is about to stop or die (lost): tell it and every running endpoint it reaches. */
  private reachabilityOf(endpoint: SimTransport, event: 'seen' | 'lost'): void {
    const id = endpoint.localPeerId
    const notices: PeerNotice[] = []
    for (const other of this.running()) {
      if (other === endpoint || !this.reachable(id, other.localPeerId)) continue
      if (event === 'seen') notices.push([endpoint, other.localPeerId])
      notices.push([other, id])
    }
    this.topology++
    this.notify(event === 'seen' ? notices : [], event === 'lost' ? notices : [])
  }

  private setGroups(next: PartitionGroups | undefined, options: PartitionOptions): void {
    const previous = this.groups
    this.groups = next
    this.topology++
    const endpoints = this.running()
    const seen: PeerNotice[] = []
    const lost: PeerNotice[] = []
    for (let i = 0; i < endpoints.length; i++) {
      const a = endpoints[i] as SimTransport
      for (let j = i + 1; j < endpoints.length; j++) {
        const b = endpoints[j] as SimTransport
        const was = sameSide(previous, a.localPeerId, b.localPeerId)
        const is = sameSide(next, a.localPeerId, b.localPeerId)
        if (was !== is) (is ? seen : lost).push([a, b.localPeerId], [b, a.localPeerId])
      }
    }
    if (options.connections !== 'keep') this.notify(seen, lost)
  }

  private notify(seen: PeerNotice[], lost: PeerNotice[]): void {
    if (seen.length === 0 && lost.length === 0) return
    this.scheduler.after(0, () => {
      for (const [endpoint, peer] of lost) endpoint.emitPeer('lost', peer)
      for (const [endpoint, peer] of seen) endpoint.emitPeer('seen', peer)
    })
  }
}

type PeerNotice = [SimTransport, string]
