// Writes with a client idempotency key apply at most once, cluster-wide, whichever node a
// retry goes through and whichever node failed mid-write. A node that applied a write and
// died before telling anyone cannot be asked, so a retry elsewhere could only guess; to make
// guessing unnecessary, a keyed write is applied only by a node that a majority of the key's
// replicas accepted as its applier (a claim), and every node accepts at most one applier per
// key and remembers it durably. Two majorities share a node, so two coordinators can never
// both win a claim for different appliers: every attempt of one keyed write, through any
// node, goes to the same applier, which applies it once (its outcome record commits with the
// write) and answers retries with the first result.
//
//   coordinator → every replica of the key: claim {id, fingerprint, applier P}
//   replica: has the outcome record → replayed; has a claim for Q → claimed Q; else
//            durably claims P → claimed P
//   coordinator: a record → replay it; a majority for P → apply at P; a claim for Q → one
//            more round for Q; otherwise IdempotencyUnavailableError (nothing applied).
//
// The cost: one round trip more than an unkeyed write, and a majority of the key's replicas
// must be reachable. If the chosen applier dies mid-write, retries answer "outcome unknown"
// until it is back. Writes without a key keep full availability.
import type { Clock } from '../clock.js'
import { IdempotencyUnavailableError } from '../errors.js'
import { claimId, decodeClaim, encodeClaim, outcomeId, recordFingerprint, reusedKey, type KeyedWrite } from '../idempotency.js'
import type { Store } from '../store/store.js'
import type { ClaimRequest, Request, Response } from '../wire/messages.js'

export interface KeyedWritesInit {
  readonly self: string
  readonly store: Store
  readonly clock: Clock
  /** How long claims are kept (the idempotency TTL). */
  readonly ttlMs: number
  readonly send: (peer: string, request: Request) => Promise<Response>
  readonly isLive: (peer: string) => boolean
}

export type ClaimDecision = { readonly kind: 'replay'; readonly record: Uint8Array } | { readonly kind: 'apply'; readonly applier: string }

export interface KeyedWriteStats {
  claimRounds: number
  replays: number
  /** Keyed writes refused because no majority of the key's replicas could be reached. */
  unavailable: number
}

interface RoundResult {
  readonly record?: Uint8Array
  readonly grants: number
  /** Appliers other nodes accepted instead, in the order they answered. */
  readonly others: string[]
}

export class KeyedWrites {
  readonly stats: KeyedWriteStats = { claimRounds: 0, replays: 0, unavailable: 0 }
  /** Claims staged here and not yet committed, per id: an answer about one waits for its commit. */
  private readonly committing = new Map<string, Promise<void>>()

  constructor(private readonly init: KeyedWritesInit) {}

  /**
   * Which node applies the keyed write to `key`, or the write's first outcome if it was
   * applied before. `replicas` is the key's preference list (suspects included).
   * Throws InvalidOptionError when the id was used for another write, and
   * IdempotencyUnavailableError when no applier won a majority.
   */
  async decide(key: string, write: KeyedWrite, replicas: readonly string[]): Promise<ClaimDecision> {
    const majority = Math.floor(replicas.length / 2) + 1
    const first = replicas.find((p) => p === this.init.self || this.init.isLive(p)) ?? (replicas[0] as string)
    let round = await this.round(key, write, replicas, first, majority)
    let candidate = first
    if (round.record === undefined && round.grants < majority && round.others.length > 0) {
      // An earlier attempt chose another applier: only it may apply, so ask for it.
      candidate = round.others[0] as string
      round = await this.round(key, write, replicas, candidate, majority)
    }
    if (round.record !== undefined) {
      this.stats.replays++
      return { kind: 'replay', record: round.record }
    }
    if (round.grants >= majority) return { kind: 'apply', applier: candidate }
    this.stats.unavailable++
    throw new IdempotencyUnavailableError(key, round.grants, majority)
  }

  /** A replica's answer to a claim. */
  async handleClaim(request: ClaimRequest): Promise<Response> {
    const { store, clock } = this.init
    const now = clock.now()
    const record = store.getIdempotency(outcomeId(request.id), now)
    if (record !== undefined) return { type: 'replayed', result: record }
    const existing = store.getIdempotency(claimId(request.id), now)
    if (existing !== undefined) {
      const claim = decodeClaim(existing)
      // A damaged row is not a claim anyone may rely on, nor one to overwrite.
      if (claim === undefined) return { type: 'error', code: 'INTERNAL', message: `the claim stored for ${JSON.stringify(request.id)} is unreadable` }
      await this.committing.get(request.id)
      return { type: 'claimed', applier: claim.applier, fingerprint: claim.fingerprint }
    }
    const claim = { applier: request.applier, fingerprint: request.fingerprint }
    const committed = store.write({ idempotency: [{ id: claimId(request.id), result: encodeClaim(claim), expiresAt: now + this.init.ttlMs }] })
    this.committing.set(request.id, committed)
    try {
      await committed
    } finally {
      if (this.committing.get(request.id) === committed) this.committing.delete(request.id)
    }
    return { type: 'claimed', ...claim }
  }

  /** Asks every replica to accept `applier`; settles early on a record or a majority. */
  private round(key: string, write: KeyedWrite, replicas: readonly string[], applier: string, majority: number): Promise<RoundResult> {
    this.stats.claimRounds++
    const request: ClaimRequest = { type: 'claim', key, id: write.id, fingerprint: write.fingerprint, applier }
    return new Promise<RoundResult>((resolve, reject) => {
      const result = { grants: 0, others: [] as string[], record: undefined as Uint8Array | undefined }
      let pending = replicas.length
      let done = false
      const finish = (): void => {
        if (done) return
        if (result.record !== undefined || result.grants >= majority || pending === 0) {
          done = true
          resolve(result)
        }
      }
      const fail = (err: unknown): void => {
        if (done) return
        done = true
        reject(err)
      }
      for (const peer of replicas) {
        // A replica the failure detector suspects is not asked: a claim it holds only
        // matters for a majority it is part of, and ours then has to do without it.
        const ask =
          peer === this.init.self ? this.handleClaim(request) : this.init.isLive(peer) ? this.init.send(peer, request) : Promise.resolve(undefined)
        ask.then(
          (answer) => {
            pending--
            try {
              this.count(write, applier, answer, result)
            } catch (err) {
              fail(err)
              return
            }
            finish()
          },
          () => {
            pending--
            finish()
          },
        )
      }
      finish()
    })
  }

  private count(write: KeyedWrite, applier: string, answer: Response | undefined, result: { grants: number; others: string[]; record?: Uint8Array }): void {
    if (answer === undefined) return
    if (answer.type === 'replayed') {
      if (recordFingerprint(write.id, answer.result) !== write.fingerprint) throw reusedKey(write.id)
      result.record = answer.result
      return
    }
    if (answer.type !== 'claimed') return
    if (answer.fingerprint !== write.fingerprint) throw reusedKey(write.id)
    if (answer.applier === applier) result.grants++
    else if (!result.others.includes(answer.applier)) result.others.push(answer.applier)
  }
}
