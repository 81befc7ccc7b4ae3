// The read path (DESIGN.md): ask `r` live replicas, join what they hold of the key (a type
// conflict included), answer with the join and repair the replicas that were behind. A
// session token makes the read wait for, or fetch, a state that includes its write.
import { ClockDriftError, CrdtDecodeError, decodeRecord, encodeRecord, expired, joinRecords, recordEquals, type KeyContent, type KeyRecord } from '../../../crdts/index.js'
import type { CrdtTypeName } from '../../../crdts/types.js'
import type { Timestamp } from '../../../crdts/hlc.js'
import type { Clock } from '../../base/clock.js'
import { QuorumNotMetError, StaleReadError } from '../../base/errors.js'
import { isDeleted, typedView, type TypedView } from '../../replica/key-view.js'
import type { Replica } from '../../replica/replica.js'
import { tokenCovered } from '../../replica/session-token.js'
import type { PathReadOptions, PathReadResult } from '../../replica/write-path.js'
import type { Request, Response } from '../../wire/messages.js'
import { DEFAULT_N, DEFAULT_R, DEFAULT_SESSION_READ_TIMEOUT_MS } from './constants.js'
import { clampReplicas, isUnreachable } from './quorum.js'
import { errorFromResponse, RemoteError } from '../messaging/remote-errors.js'
import type { Membership } from '../membership/membership.js'
import { preferenceList, successors } from '../ring/ring.js'
import { assembleListed, listedDigest, PageTransferError } from '../page-transfer/page-lists.js'
import { equals } from 'uint8arrays/equals'

const NO_DIGEST = new Uint8Array(0)

export interface ReadPathInit {
  readonly self: string
  readonly replica: Replica
  readonly membership: Membership
  readonly clock: Clock
  readonly send: (peer: string, request: Request) => Promise<Response>
  readonly defaults?: { readonly n?: number; readonly r?: number }
  readonly sessionReadTimeoutMs?: number
  /** Sends a joined state to a replica that answered with less (read repair). */
  readonly repair: (peer: string, key: string, state: Uint8Array) => void
  /** Counted with the coordinator's stats. */
  readonly stats: { reads: number; readRepairs: number }
}

/** The replicas asked, what each answered, and their join (more can be asked on demand). */
export interface Gathered {
  readonly preferred: string[]
  /** Answers a quorum needs: `r` as asked or configured (default min(2, n)), never lowered to the live members. */
  readonly required: number
  readonly answers: Map<string, KeyRecord | undefined>
  readonly joined: {
    /** The join of the answers, as stored (crdts/key-record.ts). */
    readonly record: KeyRecord | undefined
    /** What a reader sees of it now: removed once its expiry is due. */
    readonly content: KeyContent | undefined
    ask: (count: number, again?: boolean) => Promise<void>
  }
}

export class ReadPath {
  constructor(private readonly init: ReadPathInit) {}

  /**
   * Joins what `r` live replicas hold of the key. With `type` undefined, the key's type is
   * learned from the replicas. A key written with different types on two sides of a
   * partition joins into a type conflict: the conflict is repaired onto the replicas like
   * any state (so they converge on it) and the read throws TypeConflictError with every
   * side's value, until resolve() keeps one type. A register answer stamped more than
   * maxClockOffsetMs ahead of this node's clock is left out (clock-offsets.ts): not joined,
   * not repaired from, not counted in `replicas`.
   */
  async read(key: string, type: CrdtTypeName | undefined, options: PathReadOptions = {}): Promise<PathReadResult> {
    this.init.stats.reads++
    const { preferred, required, answers, joined } = await this.gather(key, options)
    const view = (): TypedView => typedView(key, type, joined.content)
    if (options.token !== undefined) {
      const token = options.token
      const covered = (): boolean => tokenCovered(token, joined.content, view)
      if (!covered()) await joined.ask(Infinity)
      const deadline = this.init.clock.now() + (options.timeoutMs ?? this.init.sessionReadTimeoutMs ?? DEFAULT_SESSION_READ_TIMEOUT_MS)
      let delay = 20
      while (!covered()) {
        if (this.init.clock.now() + delay > deadline) throw new StaleReadError(key)
        await new Promise<void>((resolve) => this.init.clock.setTimeout(resolve, delay))
        delay = Math.min(delay * 2, 500)
        await joined.ask(Infinity, true)
      }
    }
    const content = joined.content
    if (joined.record !== undefined) this.repair(key, joined.record, answers, new Set(preferred))
    if (options.requireQuorum === true && answers.size < required) throw new QuorumNotMetError(key, answers.size, required, 'read')
    const v = view()
    return { type: content === undefined || isDeleted(content) ? undefined : v.type, state: v.state, replicas: answers.size }
  }

  /** Asks `r` live replicas (more on demand) for the key and joins their contents. */
  async gather(
    key: string,
    options: { readonly n?: number; readonly r?: number },
  ): Promise<Gathered> {
    const { membership } = this.init
    const { ring } = membership.ring()
    const n = clampReplicas(options.n ?? this.init.defaults?.n ?? DEFAULT_N, ring.members.length)
    const required = options.r ?? Math.min(this.init.defaults?.r ?? DEFAULT_R, n)
    const wanted = Math.min(required, ring.members.length)
    const preferred = preferenceList(ring, key, n)
    const candidates = [...successors(ring, key)].filter((p) => membership.isLive(p))
    const answers = new Map<string, KeyRecord | undefined>()
    const replica = this.init.replica
    let next = 0
    const joined = {
      record: undefined as KeyRecord | undefined,
      get content(): KeyContent | undefined {
        return this.record === undefined ? undefined : expired(this.record, replica.wallNow()).content
      },
      /** Asks `count` more candidates (from the first again with `again`). */
      ask: async (count: number, again = false): Promise<void> => {
        if (again) next = 0
        const batch = candidates.slice(next, next + Math.min(count, candidates.length))
        next += batch.length
        const results = await Promise.allSettled(batch.map((peer) => this.readFrom(peer, key)))
        results.forEach((res, i) => {
          const peer = batch[i] as string
          if (res.status === 'rejected') {
            if (!isUnreachable(res.reason)) throw res.reason
            return
          }
          const answer = res.value
          if (answer === undefined) {
            answers.set(peer, undefined)
            return
          }
          // A register stamped too far ahead of this node's clock (a replica whose clock runs
          // fast wrote it; the others refused its delta) must not win here, nor be repaired
          // onto others: left out as if that replica had not answered (so it is not counted
          // in `replicas`, and another replica is asked in its place when there is one).
          for (const entry of answer.content) {
            const register = entry.type === 'lww' ? (entry.state as { timestamp: { wallMs: number } } | null) : null
            if (register !== null && membership.clockOffsets.ignoresRegister(peer, key, register.timestamp.wallMs)) return
          }
          // An expiry moves the clock as a merge would (Replica.merge): a key written again
          // after it expired elsewhere carries an expiry stamped after that time, so the old
          // expiry is due here too and the join does not bring back what it removed.
          if (answer.expiry !== undefined && !observe(replica.hlc, answer.expiry.timestamp)) return
          answers.set(peer, answer)
          const nowMs = replica.wallNow()
          joined.record = joined.record === undefined ? expired(answer, nowMs) : joinRecords(joined.record, answer, nowMs)
        })
      },
    }
    while (answers.size < wanted && next < candidates.length) await joined.ask(wanted - answers.size)
    return { preferred, required, answers, joined }
  }

  private async readFrom(peer: string, key: string): Promise<KeyRecord | undefined> {
    if (peer === this.init.self) return this.init.replica.readRecord(key)
    const response = await this.init.send(peer, { type: 'read', key })
    if (response.type !== 'state') throw errorFromResponse(peer, response, key, undefined)
    if (response.state === undefined) return undefined
    let state = response.state
    if (response.pageDigests !== undefined) {
      const listed = { key, state, pageDigests: response.pageDigests }
      // The same state as this node's (its digest says so): this node's record, not decoded again.
      if (equals(listedDigest(listed), this.init.replica.store.getDigest(key) ?? NO_DIGEST)) return this.init.replica.readRecord(key)
      try {
        state = await assembleListed(listed, this.init.replica.store.getKey(key), (request) => this.init.send(peer, request))
      } catch (err) {
        if (err instanceof PageTransferError) throw new RemoteError(peer, 'UNAVAILABLE', `the pages of ${JSON.stringify(key)} it listed: ${err.message}`)
        throw err
      }
    }
    try {
      return decodeRecord(state)
    } catch (err) {
      if (err instanceof CrdtDecodeError) throw new RemoteError(peer, 'BAD_REQUEST', `undecodable state for ${key}`)
      throw err
    }
  }

  /** Read repair: every preferred replica that answered with less gets the joined content. */
  private repair(key: string, joined: KeyRecord, answers: Map<string, KeyRecord | undefined>, preferred: Set<string>): void {
    let encoded: Uint8Array | undefined
    for (const [peer, record] of answers) {
      if (!preferred.has(peer)) continue
      if (record !== undefined && recordEquals(record, joined)) continue
      encoded ??= encodeRecord(joined)
      this.init.stats.readRepairs++
      this.init.repair(peer, key, encoded)
    }
  }
}

/** Moves the clock past `stamp`; false (the clock unchanged) when it is too far ahead to believe. */
function observe(hlc: { update(t: Timestamp): unknown }, stamp: Timestamp): boolean {
  try {
    hlc.update(stamp)
    return true
  } catch (err) {
    if (err instanceof ClockDriftError) return false
    throw err
  }
}
