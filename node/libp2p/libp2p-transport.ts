// The engine's Transport over real libp2p: request/response on /rumordb/rpc and
// /rumordb/sync streams, broadcast on gossipsub, peers from mDNS, the bootstrap list and
// explicit dials, kept connected by the Redialer.
import '../polyfill/index.js'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import {
  PeerUnreachableError,
  TransportError,
  TransportStoppedError,
  TransportTimeoutError,
  type BroadcastHandler,
  type PeerListener,
  type RequestHandler,
  type RequestOptions,
  type Transport,
} from '../../src/transport/transport.js'
import { MAX_ADDRS } from '../../src/wire/limits.js'
import { ChannelPool, protocolFor } from './channel.js'
import { serveChannel } from './channel-server.js'
import { MAX_CHANNELS_PER_PEER, MAX_STREAM_FRAME_BYTES, RPC_PROTOCOL, SYNC_PROTOCOL } from './constants.js'
import { zeroCounters, type Libp2pTransportCounters } from './counters.js'
import { TransportConfigError } from './errors.js'
import { Gossip } from './gossip.js'
import { createHost, type Host } from './host.js'
import type { TransportLogger } from './logger.js'
import { mdnsServiceTag, parseAddress, resolveOptions, type Libp2pTransportOptions, type ResolvedOptions } from './options.js'
import { PeerTracker } from './peer-tracker.js'
import { Redialer } from './redialer.js'
import { ShutdownHooks } from './shutdown-hooks.js'
import { describe } from './describe.js'

export type { Libp2pTransportOptions }

export interface Libp2pTransport extends Transport {
  readonly peerId: string
  readonly cluster: string
  readonly topic: string
  readonly libp2p: Host
  /** Listening addresses with `/p2p/<id>` and the real ports (after start). */
  multiaddrs(): string[]
  /** A snapshot of the counters. */
  counters(): Libp2pTransportCounters
  /**
   * Connects to `address` (with `/p2p/<id>`) and keeps it connected like a bootstrap peer.
   * Rejects with PeerUnreachableError if the first dial fails (retries continue).
   */
  dial(address: string, options?: { signal?: AbortSignal }): Promise<void>
}

export async function createLibp2pTransport(options: Libp2pTransportOptions = {}): Promise<Libp2pTransport> {
  const resolved = await resolveOptions(options)
  const host = await createHost({
    privateKey: resolved.privateKey,
    listen: resolved.listen,
    bootstrap: resolved.bootstrap,
    mdns: resolved.mdns,
    mdnsServiceTag: mdnsServiceTag(resolved.cluster, resolved.swarmKeyFile),
    mdnsIntervalMs: resolved.mdnsIntervalMs,
    swarmKeyFile: resolved.swarmKeyFile,
    topics: [resolved.topic],
    dialTimeoutMs: resolved.dialTimeoutMs,
  })
  return new Libp2pTransportImpl(host, resolved)
}

/** Request targets whose parsed peer id is kept; past this the cache starts over. */
const MAX_CACHED_PEER_IDS = 1024

/** Multicodec of the /p2p/<peer id> part of a multiaddr. */
const P2P_CODE = 421

type State = 'new' | 'starting' | 'running' | 'stopped'

class Libp2pTransportImpl implements Libp2pTransport {
  readonly localPeerId: string
  readonly peerId: string
  readonly cluster: string
  readonly topic: string

  private state: State = 'new'
  private starting?: Promise<void>
  private stopping?: Promise<void>
  private requestHandler?: RequestHandler
  private broadcastHandler?: BroadcastHandler
  private readonly seenListeners: PeerListener[] = []
  private readonly lostListeners: PeerListener[] = []
  private readonly shutdown = new AbortController()
  private readonly stats = zeroCounters()
  private readonly log: TransportLogger
  private readonly tracker: PeerTracker
  private readonly redialer: Redialer
  private readonly gossip: Gossip
  private readonly channels: ChannelPool
  private readonly dialTimeoutMs: number
  /** Parsed peer ids of request targets (parsing one costs more than a request's own work). */
  private readonly peerIds = new Map<string, PeerId>()
  /** Addresses last stored per member, so repeated announcements skip the peer store. */
  private readonly learned = new Map<string, string>()

  constructor(
    readonly libp2p: Host,
    private readonly options: ResolvedOptions,
  ) {
    this.peerId = libp2p.peerId.toString()
    this.localPeerId = this.peerId
    this.cluster = options.cluster
    this.topic = options.topic
    this.log = options.log
    this.dialTimeoutMs = options.dialTimeoutMs
    this.tracker = new PeerTracker({
      isConnected: (peer) => this.isConnected(peer),
      seen: (peer) => this.emit(this.seenListeners, peer, 'peer seen'),
      lost: (peer) => this.emit(this.lostListeners, peer, 'peer lost'),
    })
    this.redialer = new Redialer({
      ...options.dialBackoff,
      // libp2p applies its dialTimeout only to dials without a signal: combine them.
      dial: async (peer, signal) => {
        await libp2p.dial(peer, { signal: AbortSignal.any([signal, AbortSignal.timeout(this.dialTimeoutMs)]) })
      },
      isConnected: (peer) => libp2p.getConnections(peer).length > 0,
      random: Math.random,
      onDialFailed: () => {
        this.stats.dialsFailed++
      },
      log: this.log,
    })
    this.channels = new ChannelPool(libp2p, {
      maxFrameBytes: MAX_STREAM_FRAME_BYTES,
      openTimeoutMs: this.dialTimeoutMs,
      shutdown: this.shutdown.signal,
    })
    this.gossip = new Gossip({
      pubsub: libp2p.services.pubsub,
      topic: this.topic,
      self: this.peerId,
      maxFrameBytes: options.maxGossipFrameBytes,
      validate: options.validateBroadcast,
      handler: () => this.broadcastHandler,
      onSubscription: (peer, subscribed) => this.tracker.subscription(peer, subscribed),
      counters: this.stats,
      log: this.log,
    })
  }

  setRequestHandler(handler: RequestHandler): void {
    this.requestHandler = handler
  }

  setBroadcastHandler(handler: BroadcastHandler): void {
    this.broadcastHandler = handler
  }

  onPeerSeen(listener: PeerListener): void {
    this.seenListeners.push(listener)
  }

  onPeerLost(listener: PeerListener): void {
    this.lostListeners.push(listener)
  }

  peers(): string[] {
    return this.state === 'running' ? this.tracker.peers() : []
  }

  multiaddrs(): string[] {
    return this.libp2p.getMultiaddrs().map((ma) => ma.toString())
  }

  counters(): Libp2pTransportCounters {
    return { ...this.stats }
  }

  async start(): Promise<void> {
    if (this.state === 'running') return
    if (this.state === 'starting') return this.starting
    if (this.state === 'stopped') throw new TransportStoppedError()
    this.state = 'starting'
    this.starting = this.doStart()
    try {
      await this.starting
    } catch (err) {
      await this.stop()
      throw err
    }
  }

  private async doStart(): Promise<void> {
    const { libp2p } = this
    const serve = {
      handler: () => this.requestHandler,
      maxFrameBytes: MAX_STREAM_FRAME_BYTES,
      readTimeoutMs: this.options.serverReadTimeoutMs,
      handlerTimeoutMs: this.options.serverHandlerTimeoutMs,
      shutdown: new ShutdownHooks(this.shutdown.signal),
      counters: this.stats,
      log: this.log,
    }
    for (const protocol of [RPC_PROTOCOL, SYNC_PROTOCOL]) {
      await libp2p.handle(protocol, ({ stream, connection }) => void serveChannel(stream, connection, serve), {
        maxInboundStreams: MAX_CHANNELS_PER_PEER,
        maxOutboundStreams: MAX_CHANNELS_PER_PEER,
      })
    }
    libp2p.addEventListener('peer:connect', this.onConnect)
    libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    libp2p.addEventListener('peer:discovery', this.onDiscovery)
    await libp2p.start()
    if (this.state !== 'starting') return // stopped meanwhile
    this.gossip.start()
    this.state = 'running'
    this.log.info({ peerId: this.peerId, cluster: this.cluster, addrs: this.multiaddrs() }, 'libp2p transport started')
  }

  async stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping
    this.stopping = this.doStop()
    return this.stopping
  }

  private async doStop(): Promise<void> {
    const wasStarted = this.state !== 'new'
    this.state = 'stopped'
    this.shutdown.abort(new TransportStoppedError())
    this.redialer.stop()
    this.gossip.stop()
    this.libp2p.removeEventListener('peer:connect', this.onConnect)
    this.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    this.libp2p.removeEventListener('peer:discovery', this.onDiscovery)
    this.tracker.clear()
    this.learned.clear()
    if (!wasStarted) return
    await this.starting?.catch(() => undefined)
    await this.libp2p.stop()
  }

  broadcast(frame: Uint8Array): void {
    if (this.state !== 'running') return
    this.gossip.publish(frame)
  }

  async request(peer: string, frame: Uint8Array, options: RequestOptions): Promise<Uint8Array> {
    if (this.state !== 'running') throw new TransportStoppedError()
    const { signal, timeoutMs } = options
    signal?.throwIfAborted()
    if (peer === this.peerId) throw new PeerUnreachableError(peer, 'it is this node')
    let target = this.peerIds.get(peer)
    if (target === undefined) {
      try {
        target = peerIdFromString(peer)
      } catch {
        throw new PeerUnreachableError(peer, 'not a libp2p peer id')
      }
      if (this.peerIds.size >= MAX_CACHED_PEER_IDS) this.peerIds.clear()
      this.peerIds.set(peer, target)
    }
    if (frame.length > MAX_STREAM_FRAME_BYTES) {
      throw new TransportError(`request frame of ${frame.length} bytes is above the limit of ${MAX_STREAM_FRAME_BYTES}`)
    }

    this.stats.requestsSent++
    this.stats.rpcBytesSent += frame.length
    // No timer or AbortController per request: the channel's shared timer enforces the
    // deadline (channel.ts), and stop() closes every channel with TransportStoppedError.
    const limits = { deadline: performance.now() + timeoutMs, expired: () => new TransportTimeoutError(peer, timeoutMs), ...(signal === undefined ? {} : { signal }) }
    try {
      const response = await this.channels.request(target, protocolFor(frame), frame, limits)
      this.stats.rpcBytesReceived += response.length
      return response
    } catch (err) {
      this.stats.requestsFailed++
      throw err
    }
  }

  /**
   * Member announcements carry addresses: put them in the peer store, so requests can reach
   * members this node never discovered, and dial members we are not connected to (with the
   * redialer's bounded backoff; repeated announcements do not restart a running backoff).
   */
  learnPeerAddresses(peer: string, addrs: readonly string[]): void {
    if (this.state !== 'running' || peer === this.peerId) return
    let id: PeerId
    try {
      id = peerIdFromString(peer)
    } catch {
      return
    }
    const parsed: Multiaddr[] = []
    for (const addr of addrs.slice(0, MAX_ADDRS)) {
      try {
        const ma = multiaddr(addr)
        const owner = ma.getPeerId()
        if (owner !== null && owner !== peer) continue
        parsed.push(owner === null ? ma : ma.decapsulateCode(P2P_CODE))
      } catch {
        // A malformed address from a peer is skipped, not fatal.
      }
    }
    if (parsed.length === 0) return
    const key = parsed.map((ma) => ma.toString()).sort().join(' ')
    const dial = (): void => {
      if (this.state === 'running') this.redialer.suggested(id)
    }
    if (this.learned.get(peer) === key) return dial()
    this.learned.set(peer, key)
    this.libp2p.peerStore.merge(id, { multiaddrs: parsed }).then(dial, (err: unknown) => {
      this.log.debug({ peer, err: describe(err) }, 'could not store peer addresses')
    })
  }

  async dial(address: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.state !== 'running') throw new TransportStoppedError()
    const ma = parseAddress(address, 'peer')
    const id = ma.getPeerId()
    if (id === null) throw new TransportConfigError(`peer address ${address} needs a /p2p/<peer id> part`)
    const peer = peerIdFromString(id)
    await this.libp2p.peerStore.merge(peer, { multiaddrs: [ma.decapsulateCode(P2P_CODE)] })
    this.redialer.discovered(peer, true)
    try {
      const timeout = AbortSignal.timeout(this.dialTimeoutMs)
      await this.libp2p.dial(peer, { signal: options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout]) })
    } catch (err) {
      throw new PeerUnreachableError(id, describe(err))
    }
  }

  private isConnected(peer: string): boolean {
    try {
      return this.libp2p.getConnections(peerIdFromString(peer)).length > 0
    } catch {
      return false
    }
  }

  private emit(listeners: readonly PeerListener[], peer: string, what: string): void {
    if (this.state !== 'running' && this.state !== 'starting') return
    this.log.debug({ peer }, what)
    for (const listener of listeners) {
      try {
        listener(peer)
      } catch (err) {
        this.log.warn({ peer, err: describe(err) }, `${what} listener threw`)
      }
    }
  }

  private readonly onConnect = (event: CustomEvent<PeerId>): void => {
    this.redialer.connected(event.detail)
    this.tracker.connected(event.detail.toString())
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    const peer = event.detail
    const wasMember = this.tracker.has(peer.toString())
    this.tracker.disconnected(peer.toString())
    if (wasMember || this.options.bootstrapPeers.has(peer.toString())) this.redialer.lost(peer)
  }

  private readonly onDiscovery = (event: CustomEvent<{ id: PeerId }>): void => {
    const peer = event.detail.id
    if (peer.equals(this.libp2p.peerId)) return
    this.redialer.discovered(peer, this.options.bootstrapPeers.has(peer.toString()))
  }
}
