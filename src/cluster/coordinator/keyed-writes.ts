// Writes with a client idempotency key apply at most once, cluster-wide, whichever node a
// retry goes through and whichever node failed mid-write. A node that applied a write and
// died before telling anyone cannot be asked, so a retry elsewhere could only guess; to make
// guessing unnecessary, the key's replicas first agree on the one node that applies the
// write, by single-decree Paxos (Lamport, "Paxos Made Simple") with the coordinator as
// proposer and the key's replicas as acceptors. Once an applier is chosen, every attempt of
// the write, through any node, goes to it, and it applies the write once (its outcome record
// commits with the write) and answers later attempts with the first result.
//
//   1. prepare(b) → each replica promises to ignore ballots below b and says what it
//      accepted last; a replica that holds the write's outcome record answers `replayed`.
//   2. With promises from a majority: propose the applier of the highest ballot accepted
//      among them, or (none) the first live replica; accept(b, applier) → a majority
//      accepted: that node applies the write.
//   A higher ballot seen in a refusal makes the next try start above it (a few tries, with
//   random pauses, against duelling coordinators); no majority: IdempotencyUnavailableError,
//   and this request applied nothing.
//
// The cost: two round trips more than an unkeyed write, and a majority of the key's
// replicas must be reachable. If the chosen applier dies mid-write, retries answer "outcome
// unknown" until it is back. Writes without a key keep full availability.
import type { Clock } from '../../base/clock.js'
import { IdempotencyUnavailableError } from '../../base/errors.js'
import { claimId, compareBallots, decodeClaim, encodeClaim, outcomeId, recordFingerprint, reusedKey, type ClaimState, type KeyedWrite } from '../../replica/idempotency.js'
import type { Random } from '../../base/random.js'
import type { Store } from '../../store/store.js'
import type { Ballot, ClaimedResponse, ClaimRequest, Request, Response } from '../../wire/messages.js'

export interface KeyedWritesInit {
  readonly self: string
  readonly store: Store
  readonly clock: Clock
  readonly random: Random
  /** How long claim states are kept (the idempotency TTL). */
  readonly ttlMs: number
  readonly send: (peer: string, request: Request) => Promise<Response>
  readonly isLive: (peer: string) => boolean
}

export type ClaimDecision = { readonly kind: 'replay'; readonly record: Uint8Array } | { readonly kind: 'apply'; readonly applier: string }

/** Keyed-write counters before the first keyed write. */
export function zeroKeyedWriteStats(): KeyedWriteStats {
  return { claimRounds: 0, replays: 0, unavailable: 0 }
}

export interface KeyedWriteStats {
  /** Paxos phases run (prepare and accept each count one). */
  claimRounds: number
  replays: number
  /** Keyed writes refused because no majority of the key's replicas agreed. */
  unavailable: number
}

/** Ballots a coordinator tries for one write before giving up for now. */
const MAX_BALLOTS = 4
/** Pause before a retry after a higher ballot was seen: [1, 2) × this, so duelling coordinators part. */
const BALLOT_BACKOFF_MS = 20

interface PhaseResult {
  readonly record?: Uint8Array
  /** Replicas that promised (phase 1) or accepted (phase 2) the ballot. */
  readonly ok: ClaimedResponse[]
  /** The highest round any replica had promised when it refused. */
  readonly highestSeen: number
}

export class KeyedWrites {
  readonly stats = zeroKeyedWriteStats()
  /** Claim states being committed, per id: answers about one id are given one after another. */
  private readonly locks = new Map<string, Promise<unknown>>()

  constructor(private readonly init: KeyedWritesInit) {}

  /**
   * Which node applies the keyed write to `key`, or the write's first outcome if it was
   * applied before. `replicas` is the key's preference list (suspects included). Throws
   * InvalidOptionError when the id was used for another write, and
   * IdempotencyUnavailableError when no applier could be chosen.
   */
  async decide(key: string, write: KeyedWrite, replicas: readonly string[]): Promise<ClaimDecision> {
    const majority = Math.floor(replicas.length / 2) + 1
    const candidate = replicas.find((p) => p === this.init.self || this.init.isLive(p)) ?? (replicas[0] as string)
    let round = 1
    let reached = 0
    for (let attempt = 0; attempt < MAX_BALLOTS; attempt++) {
      if (attempt > 0) await this.pause()
      const ballot: Ballot = { round, proposer: this.init.self }
      const promises = await this.phase(key, write, replicas, majority, { phase: 'prepare', ballot })
      if (promises.record !== undefined) return this.replay(promises.record)
      reached = promises.ok.length
      if (promises.ok.length < majority) {
        if (promises.highestSeen < round) break // nobody outbid us: too few replicas answer
        round = promises.highestSeen + 1
        continue
      }
      const applier = highestAccepted(promises.ok) ?? candidate
      const accepts = await this.phase(key, write, replicas, majority, { phase: 'accept', ballot, applier })
      if (accepts.record !== undefined) return this.replay(accepts.record)
      reached = accepts.ok.length
      if (accepts.ok.length >= majority) return { kind: 'apply', applier }
      if (accepts.highestSeen < round) break
      round = accepts.highestSeen + 1
    }
    this.stats.unavailable++
    throw new IdempotencyUnavailableError(key, reached, majority)
  }

  /** A replica's answer to a prepare or an accept. */
  async handleClaim(request: ClaimRequest): Promise<Response> {
    // One at a time per id, each answer only after its state committed: a promise is kept.
    const previous = this.locks.get(request.id) ?? Promise.resolve()
    const answer = previous.then(() => this.answer(request))
    const settled = answer.catch(() => undefined)
    this.locks.set(request.id, settled)
    void settled.then(() => {
      if (this.locks.get(request.id) === settled) this.locks.delete(request.id)
    })
    return answer
  }

  private async answer(request: ClaimRequest): Promise<Response> {
    const { store, clock } = this.init
    const now = clock.now()
    const record = store.getIdempotency(outcomeId(request.id), now)
    if (record !== undefined) return { type: 'replayed', result: record }
    const stored = store.getIdempotency(claimId(request.id), now)
    const current = stored === undefined ? undefined : decodeClaim(stored)
    // A damaged row is not a promise anyone may rely on, nor one to overwrite.
    if (stored !== undefined && current === undefined) {
      return { type: 'error', code: 'INTERNAL', message: `the claim stored for ${JSON.stringify(request.id)} is unreadable` }
    }
    if (current !== undefined && current.fingerprint !== request.fingerprint) return claimed(false, current)
    if (current !== undefined && compareBallots(request.ballot, current.promised) < 0) return claimed(false, current)
    const next: ClaimState =
      request.phase === 'prepare'
        ? { fingerprint: request.fingerprint, promised: request.ballot, ...(current?.accepted === undefined ? {} : { accepted: current.accepted }) }
        : { fingerprint: request.fingerprint, promised: request.ballot, accepted: { ballot: request.ballot, applier: request.applier as string } }
    await store.write({ idempotency: [{ id: claimId(request.id), result: encodeClaim(next), expiresAt: now + this.init.ttlMs }] })
    return claimed(true, next)
  }

  /** One phase with every replica; settles early on a record or a majority of oks. */
  private phase(
    key: string,
    write: KeyedWrite,
    replicas: readonly string[],
    majority: number,
    step: { readonly phase: 'prepare' | 'accept'; readonly ballot: Ballot; readonly applier?: string },
  ): Promise<PhaseResult> {
    this.stats.claimRounds++
    const request: ClaimRequest = { type: 'claim', key, id: write.id, fingerprint: write.fingerprint, ...step }
    return new Promise<PhaseResult>((resolve, reject) => {
      const result = { ok: [] as ClaimedResponse[], highestSeen: 0, record: undefined as Uint8Array | undefined }
      let pending = replicas.length
      let done = false
      const finish = (): void => {
        if (done) return
        if (result.record !== undefined || result.ok.length >= majority || pending === 0) {
          done = true
          resolve(result)
        }
      }
      for (const peer of replicas) {
        // A suspected replica is not asked: its promise only matters for a majority it is
        // part of, and ours then has to do without it.
        const ask =
          peer === this.init.self ? this.handleClaim(request) : this.init.isLive(peer) ? this.init.send(peer, request) : Promise.resolve(undefined)
        ask.then(
          (answer) => {
            pending--
            try {
              count(write, answer, result)
            } catch (err) {
              if (!done) {
                done = true
                reject(err)
              }
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

  private replay(record: Uint8Array): ClaimDecision {
    this.stats.replays++
    return { kind: 'replay', record }
  }

  private pause(): Promise<void> {
    const ms = BALLOT_BACKOFF_MS * (1 + this.init.random.next())
    return new Promise((resolve) => this.init.clock.setTimeout(resolve, ms))
  }
}

function claimed(ok: boolean, state: ClaimState): ClaimedResponse {
  return { type: 'claimed', ok, fingerprint: state.fingerprint, promised: state.promised, ...(state.accepted === undefined ? {} : { accepted: state.accepted }) }
}

function count(write: KeyedWrite, answer: Response | undefined, result: { ok: ClaimedResponse[]; highestSeen: number; record?: Uint8Array }): void {
  if (answer === undefined) return
  if (answer.type === 'replayed') {
    if (recordFingerprint(write.id, answer.result) !== write.fingerprint) throw reusedKey(write.id)
    result.record = answer.result
    return
  }
  if (answer.type !== 'claimed') return
  if (answer.fingerprint !== write.fingerprint) throw reusedKey(write.id)
  if (answer.ok) result.ok.push(answer)
  else result.highestSeen = Math.max(result.highestSeen, answer.promised.round)
}

/** The applier of the highest ballot accepted among these promises (Paxos's value rule). */
function highestAccepted(promises: readonly ClaimedResponse[]): string | undefined {
  let best: ClaimedResponse['accepted']
  for (const p of promises) if (p.accepted !== undefined && (best === undefined || compareBallots(p.accepted.ballot, best.ballot) > 0)) best = p.accepted
  return best?.applier
}
