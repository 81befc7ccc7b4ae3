// Who is in the cluster and who is alive. The member table is a CRDT (member-table.ts), so
// announcements converge in any order; heartbeats carry each member's own record and feed
// a phi-accrual failure detector. A suspected member stays in the ring (placement does not
// flap) but coordinators skip it. Leaving is explicit. Heartbeats also carry the sender's
// wall clock, which tells this node whether its own clock agrees with the cluster's
// (clock-offsets.ts).
import type { Clock, TimerHandle } from '../../base/clock.js'
import { heldBack, LogThrottle } from '../../base/log-throttle.js'
import { silentLogger, type Logger } from '../../base/logger.js'
import type { Store } from '../../store/store.js'
import type { HeartbeatBroadcast, MemberAnnouncement, Request, Response } from '../../wire/messages.js'
import { ClockOffsets } from './clock-offsets.js'
import { DEFAULT_VNODES } from '../ring/constants.js'
import { DEFAULT_HEARTBEAT_INTERVAL_MS, MAX_INCARNATION } from './constants.js'
import * as memberTable from './member-table.js'
import type { MemberRecord, MemberTable } from './member-table.js'
import { loadMemberTable } from './member-rows.js'
import { PhiAccrualDetector } from './phi-accrual.js'
import { buildRing, type Ring } from '../ring/ring.js'
import { ringVersionOf } from '../ring/ring-version.js'

export type MemberHealth = 'alive' | 'suspect' | 'left'

export interface MemberView {
  readonly id: string
  readonly addrs: readonly string[]
  readonly vnodes: number
  readonly incarnation: number
  readonly status: MemberHealth
}

/** The ring and the membership view it was built from. */
export interface RingView {
  readonly ring: Ring
  readonly members: readonly string[]
  /** Hash of the view: nodes with the same version place every key identically. */
  readonly version: Uint8Array
}

/** Rings by membership-view version (hex), shared by engines in one process (the simulator). */
export type RingCache = Map<string, Ring>

export interface MembershipInit {
  readonly self: { readonly peerId: string; readonly addrs?: readonly string[] | (() => readonly string[]); readonly vnodes?: number }
  readonly store: Store
  readonly clock: Clock
  readonly send: (peer: string, request: Request) => Promise<Response>
  readonly broadcast: (message: HeartbeatBroadcast) => void
  readonly heartbeatIntervalMs?: number
  readonly phiThreshold?: number
  readonly ringCache?: RingCache
  /** Fed by heartbeats; by default one with the default limit and no logging. */
  readonly clockOffsets?: ClockOffsets
  /** `rumordb:membership`: members joining, leaving, suspected and back (info/warn), refused records (warn). */
  readonly logger?: Logger
}

export interface MembershipStats {
  recordsRefused: number
}

/** Membership counters before the first record arrives. */
export function zeroMembershipStats(): MembershipStats {
  return { recordsRefused: 0 }
}

export class Membership {
  readonly self: string
  /** Peers' clock offsets from their heartbeats: whether this node's clock is off. */
  readonly clockOffsets: ClockOffsets
  /**
   * Member records refused: about another node than the one that sent them (a peer speaks
   * only for itself), invalid, or with no room left to announce a later incarnation.
   */
  readonly stats = zeroMembershipStats()
  private table: MemberTable = memberTable.empty()
  private readonly detector: PhiAccrualDetector
  private readonly heartbeatIntervalMs: number
  private readonly lastSeq = new Map<string, { incarnation: number; seq: number }>()
  private readonly listeners = new Set<() => void>()
  private readonly returnListeners = new Set<(peer: string) => void>()
  private seq = 0
  private timer: TimerHandle | undefined
  private started = false
  private leaving = false
  private ringView: RingView | undefined
  private persisting: Promise<void> = Promise.resolve()
  private readonly logger: Logger
  /** Each peer's health when last asked: a change is logged (the detector decides lazily, on asking). */
  private readonly lastHealth = new Map<string, MemberHealth>()
  /** Peers whose suspicion was logged: only theirs is followed by a "back" line. */
  private readonly suspicionLogged = new Set<string>()
  /** A flapping peer, or one sending bad records, is logged about once a minute. */
  private readonly throttle: LogThrottle

  constructor(private readonly init: MembershipInit) {
    this.self = init.self.peerId
    this.heartbeatIntervalMs = init.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS
    this.detector = new PhiAccrualDetector({ threshold: init.phiThreshold })
    this.clockOffsets = init.clockOffsets ?? new ClockOffsets({ self: this.self, clock: init.clock, livePeers: () => this.livePeers() })
    this.logger = init.logger ?? silentLogger
    this.throttle = new LogThrottle(() => init.clock.now())
  }

  /** Loads the persisted table, announces this node alive at a new incarnation, starts heartbeats. */
  async start(): Promise<void> {
    if (this.started) return
    this.started = true
    // A damaged or impossible stored record is dropped with a warning: it must never keep
    // this node from starting (its owner announces itself again anyway).
    this.table = memberTable.merge(
      this.table,
      await loadMemberTable(this.init.store, (peerId, err) => {
        this.stats.recordsRefused++
        this.logger.warn({ member: peerId, err }, `dropped the stored member record of ${peerId}: ${(err as Error)?.message ?? String(err)}`)
      }),
    )
    const now = this.init.clock.now()
    for (const record of this.table.values()) {
      if (record.peerId !== this.self) this.detector.heartbeat(record.peerId, now)
    }
    await this.announceSelf('alive')
    this.tick()
  }

  async stop(): Promise<void> {
    if (!this.started) return
    this.started = false
    if (this.timer !== undefined) this.init.clock.clearTimeout(this.timer)
    this.timer = undefined
    await this.persisting
  }

  /** Marks this node as left (final for this incarnation) and tells the others. */
  async leave(): Promise<void> {
    this.leaving = true
    await this.apply(memberTable.leave(this.table, this.self))
    this.heartbeat()
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /**
   * `listener(peer)` runs when a peer comes back: heard from (a heartbeat, a join, the
   * answer to ours) or reconnected while the failure detector held it suspected, or its
   * record shows it joined or restarted.
   */
  onPeerReturned(listener: (peer: string) => void): () => void {
    this.returnListeners.add(listener)
    return () => this.returnListeners.delete(listener)
  }

  /** A discovered peer: introduce ourselves and learn its table. Failures are retried by the caller. */
  async join(peer: string): Promise<void> {
    const response = await this.init.send(peer, { type: 'join', member: this.selfRecord() })
    if (response.type !== 'members') throw new Error(`peer ${peer} answered join with ${response.type}`)
    // The answer shows the peer alive as a heartbeat would. Taken as one only while it is
    // suspected, so it adds no short interval to its heartbeat history.
    const now = this.init.clock.now()
    if (!this.detector.isAvailable(peer, now)) this.heard(peer, now)
    // Only the peer's own record: the others come from their own heartbeats.
    await this.learn(response.members.filter((m) => m.peerId === peer), peer)
  }

  /** Answers a peer's join: merge its record, return our table. */
  async handleJoin(from: string, member: MemberAnnouncement): Promise<Response> {
    if (member.peerId === from) this.heard(from, this.init.clock.now())
    if (this.speaksForItself(from, member)) await this.learn([member], from)
    return { type: 'members', members: memberTable.members(this.table) }
  }

  /** `time` is the sender's wall clock when it sent the heartbeat (absent: no clock sample). */
  handleHeartbeat(from: string, member: MemberAnnouncement, seq: number, time?: number): void {
    if (!this.speaksForItself(from, member)) return
    const last = this.lastSeq.get(from)
    const fresh = last === undefined || member.incarnation > last.incarnation || (member.incarnation === last.incarnation && seq > last.seq)
    if (fresh) {
      this.lastSeq.set(from, { incarnation: member.incarnation, seq })
      const now = this.init.clock.now()
      this.heard(from, now)
      // Only fresh heartbeats: a duplicate or a stale copy arrives late and would look behind.
      if (time !== undefined) this.clockOffsets.record(from, time, now)
    }
    // Nearly every heartbeat repeats the record we hold: nothing to validate or merge.
    const known = this.table.get(member.peerId)
    if (known !== undefined && memberTable.compareRecords(member, known) === 0) return
    void this.learn([member], from)
  }

  health(peer: string): MemberHealth | undefined {
    const record = this.table.get(peer)
    if (record === undefined) return undefined
    if (record.status === 'left') return 'left'
    if (peer === this.self) return 'alive'
    const health = this.detector.isAvailable(peer, this.init.clock.now()) ? 'alive' : 'suspect'
    if (this.lastHealth.get(peer) !== health) this.healthChanged(peer, health)
    return health
  }

  /** The transport lost its connection to `peer`: suspected at once, until it is heard from again. */
  connectionLost(peer: string): void {
    if (peer !== this.self) this.detector.connectionLost(peer, this.init.clock.now())
  }

  /**
   * The transport (re)connected to `peer`: its heartbeats decide again. If they show it
   * alive at once (the connection was down for less than a heartbeat's silence), it returned.
   */
  connectionSeen(peer: string): void {
    const now = this.init.clock.now()
    const wasLost = this.detector.isMonitoring(peer) && !this.detector.isAvailable(peer, now)
    this.detector.connectionSeen(peer)
    if (wasLost && this.detector.isAvailable(peer, now)) this.returned(peer)
  }

  /** Alive and not suspected: coordinators send to these. */
  isLive(peer: string): boolean {
    return this.health(peer) === 'alive'
  }

  livePeers(): string[] {
    return memberTable.aliveMembers(this.table).map((r) => r.peerId).filter((id) => id !== this.self && this.isLive(id))
  }

  members(): MemberView[] {
    return memberTable.members(this.table).map((r) => ({
      id: r.peerId,
      addrs: r.addrs,
      vnodes: r.vnodes,
      incarnation: r.incarnation,
      status: this.health(r.peerId) ?? 'left',
    }))
  }

  /** The ring over every member that has not left (suspects included, so placement is stable). */
  ring(): RingView {
    if (this.ringView === undefined) {
      const view = memberTable.aliveMembers(this.table).map((r) => ({ id: r.peerId, vnodes: r.vnodes }))
      const version = ringVersionOf(view)
      const cacheKey = Buffer.from(version).toString('hex')
      let ring = this.init.ringCache?.get(cacheKey)
      if (ring === undefined) {
        ring = buildRing(view)
        this.init.ringCache?.set(cacheKey, ring)
      }
      this.ringView = { ring, members: ring.members, version }
    }
    return this.ringView
  }

  phi(peer: string): number {
    return this.detector.phi(peer, this.init.clock.now())
  }

  /**
   * A heartbeat, or as good as one, from `peer`: it returned if the detector held it
   * suspected. A peer not monitored yet is new: its record tells of it (recordChanged).
   */
  private heard(peer: string, now: number): void {
    const back = this.detector.isMonitoring(peer) && !this.detector.isAvailable(peer, now)
    this.detector.heartbeat(peer, now)
    if (back && this.detector.isAvailable(peer, now)) this.returned(peer)
  }

  private returned(peer: string): void {
    if (peer === this.self || !this.started) return
    for (const listener of this.returnListeners) listener(peer)
  }

  private selfRecord(): MemberRecord {
    const record = this.table.get(this.self)
    if (record === undefined) throw new Error('membership not started')
    return record
  }

  private async announceSelf(status: 'alive'): Promise<void> {
    const incarnation = memberTable.nextIncarnation(this.table, this.self)
    await this.apply(
      memberTable.announce(this.table, {
        peerId: this.self,
        addrs: typeof this.init.self.addrs === 'function' ? this.init.self.addrs() : (this.init.self.addrs ?? []),
        vnodes: this.init.self.vnodes ?? DEFAULT_VNODES,
        incarnation,
        status,
      }),
    )
  }

  /**
   * A peer may only announce itself: a record about anyone else (the sender is the
   * connection's authenticated peer id, or gossipsub's signed author) is dropped and counted.
   */
  private speaksForItself(from: string, member: MemberAnnouncement): boolean {
    if (member.peerId === from && from !== this.self) return true
    this.stats.recordsRefused++
    this.refused(from, new Error(`a record about ${member.peerId === this.self ? 'this node' : member.peerId}: a peer may announce only itself`))
    return false
  }

  /** Merges records from the network; a stale or forged record about ourselves makes us re-announce. */
  private async learn(records: readonly MemberAnnouncement[], from: string): Promise<void> {
    let delta: MemberTable = memberTable.empty()
    try {
      // A member must always be able to announce a later incarnation than the one we keep.
      const pinned = records.find((r) => r.incarnation > MAX_INCARNATION)
      if (pinned !== undefined) throw new Error(`incarnation ${pinned.incarnation} of ${pinned.peerId} leaves no room for a later one`)
      delta = memberTable.fromRecords(records)
    } catch (err) {
      this.stats.recordsRefused++
      this.refused(from, err)
      return
    }
    const now = this.init.clock.now()
    for (const record of delta.values()) {
      if (!this.table.has(record.peerId) && record.peerId !== this.self) this.detector.heartbeat(record.peerId, now)
    }
    await this.apply(delta)
    const mine = this.table.get(this.self)
    if (this.started && !this.leaving && mine !== undefined && mine.status === 'left') {
      // Someone claims we left although we did not say so at this incarnation: bump and rejoin.
      this.logger.info({ peer: from, incarnation: mine.incarnation }, `${from} holds this node as left at incarnation ${mine.incarnation}; announcing it alive again`)
      await this.announceSelf('alive')
    }
  }

  private async apply(delta: MemberTable): Promise<void> {
    // Most deltas are heartbeats repeating a known record: they change nothing, and
    // finding that out must not cost a copy of the whole table per heartbeat.
    if (!this.wouldChange(delta)) return
    const merged = memberTable.merge(this.table, delta)
    const changed = [...delta.keys()].filter((id) => merged.get(id) !== this.table.get(id))
    for (const peerId of changed) this.recordChanged(this.table.get(peerId), merged.get(peerId) as MemberRecord)
    this.table = merged
    this.ringView = undefined
    const upsert = changed.map((peerId) => ({
      peerId,
      record: memberTable.encode(new Map([[peerId, merged.get(peerId) as MemberRecord]])),
    }))
    const write = this.init.store.write({ members: { upsert } })
    this.persisting = this.persisting.then(() => write).catch(() => undefined)
    for (const listener of this.listeners) listener()
    await write
  }

  /** Whether merging `delta` changes the table: some record is new or beats ours. */
  private wouldChange(delta: MemberTable): boolean {
    for (const [peerId, record] of delta) {
      const current = this.table.get(peerId)
      if (current === undefined || memberTable.compareRecords(record, current) > 0) return true
    }
    return false
  }

  /** A member record changed (learned, or announced here): operators hear of joins, restarts and departures. */
  private recordChanged(before: MemberRecord | undefined, after: MemberRecord): void {
    const id = after.peerId
    if (id === this.self) return
    const fields = { member: id, incarnation: after.incarnation, vnodes: after.vnodes }
    if (after.status === 'left') {
      if (before?.status !== 'left') this.logger.info(fields, `member ${id} left the cluster`)
    } else if (before === undefined || before.status === 'left') {
      this.logger.info(fields, `member ${id} joined the cluster (incarnation ${after.incarnation}, ${after.vnodes} vnodes)`)
      this.returned(id)
    } else if (after.incarnation > before.incarnation) {
      this.logger.info(fields, `member ${id} restarted (incarnation ${after.incarnation})`)
      this.returned(id)
    }
  }

  /** The failure detector's verdict on `peer` changed since it was last asked. */
  private healthChanged(peer: string, health: MemberHealth): void {
    const before = this.lastHealth.get(peer)
    this.lastHealth.set(peer, health)
    // First sight is a join (logged by recordChanged).
    if (before === undefined) return
    if (health === 'suspect') {
      const held = this.throttle.admit(`suspect\u0000${peer}`)
      if (held === undefined) return
      this.suspicionLogged.add(peer)
      this.logger.warn(
        { peer, phi: Math.round(this.phi(peer) * 10) / 10 },
        `peer ${peer} is suspected: its heartbeats stopped; writes go to other replicas, with hints kept for it${heldBack(held)}`,
      )
    } else if (this.suspicionLogged.delete(peer)) {
      this.logger.info({ peer }, `peer ${peer} is alive again`)
    }
  }

  /** Records that failed validation: a broken or incompatible peer sends them again and again. */
  private refused(from: string, err: unknown): void {
    const held = this.throttle.admit(`refused\u0000${from}`)
    if (held === undefined) return
    this.logger.warn({ peer: from, err }, `refused member records from ${from}: ${(err as Error)?.message ?? String(err)}; it may run an incompatible rumordb version${heldBack(held)}`)
  }

  private heartbeat(): void {
    this.init.broadcast({ type: 'heartbeat', member: this.selfRecord(), seq: ++this.seq, time: this.init.clock.now() })
  }

  private tick(): void {
    if (!this.started) return
    this.heartbeat()
    this.timer = this.init.clock.setTimeout(() => this.tick(), this.heartbeatIntervalMs)
  }
}
