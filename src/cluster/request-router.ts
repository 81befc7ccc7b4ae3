// Serves peers' requests and broadcasts: the replica side of the write, read and
// membership protocols. Anything a handler throws becomes an `error` response, so a bad
// request never takes the node down.
import { operationId, outcomeId, outcomeRecord } from '../replica/idempotency.js'
import type { AppliedWrite, BatchExtras, Replica } from '../replica/replica.js'
import { crdtOf } from '../replica/replica.js'
import type { Store } from '../store/store.js'
import { decodeResponse, encodeMessage } from '../wire/codec.js'
import { MAX_MESSAGE_BYTES } from '../wire/limits.js'
import type { AppliedResponse, ApplyRequest, Broadcast, ReplicateBatchRequest, ReplicatedResponse, ReplicateItem, Request, Response } from '../wire/messages.js'
import { OP_ID_TTL_MS } from './coordinator/constants.js'
import { hintExtras } from './handoff/hints.js'
import { syncedForm } from './page-transfer/page-lists.js'
import type { HintedHandoff } from './handoff/hinted-handoff.js'
import type { KeyedWrites } from './coordinator/keyed-writes.js'
import type { Membership } from './membership/membership.js'
import { responseFromError } from './messaging/remote-errors.js'
import { preferenceList } from './ring/ring.js'

export interface RouterInit {
  readonly self: string
  readonly replica: Replica
  readonly store: Store
  readonly membership: Membership
  readonly now: () => number
  readonly replicas: () => number
  /** Claims of keyed writes. */
  readonly keyed: KeyedWrites
  /** Hinted handoff's gate and ledger for the hints peers ask this node to keep. */
  readonly hints: Pick<HintedHandoff, 'admit' | 'noteAdded'>
  /** How long outcome records of keyed writes are kept. */
  readonly idempotencyTtlMs: number
  /** Anti-entropy requests (sync-*); undefined when the request is not one of its. */
  readonly antiEntropy: (from: string, request: Request) => Promise<Response> | undefined
  /** A read answers an OR-set in pages from this many bytes on by its page list (EngineConfig.listPagesFromBytes). */
  readonly listPagesFromBytes?: number
}

/** The router's counters before the first request. */
export function zeroRouterStats(): RouterStats {
  return { rumorsMerged: 0, rumorsIgnored: 0, refused: 0 }
}

export interface RouterStats {
  rumorsMerged: number
  rumorsIgnored: number
  refused: number
}

export class RequestRouter {
  readonly stats = zeroRouterStats()

  constructor(private readonly init: RouterInit) {}

  async handleRequest(from: string, request: Request): Promise<Response> {
    try {
      return await this.serve(from, request)
    } catch (err) {
      this.stats.refused++
      return responseFromError(err)
    }
  }

  handleBroadcast(from: string, message: Broadcast): void {
    switch (message.type) {
      case 'heartbeat':
        this.init.membership.handleHeartbeat(from, message.member, message.seq, message.time)
        return
      case 'rumor': {
        const { ring } = this.init.membership.ring()
        if (!preferenceList(ring, message.key, this.init.replicas()).includes(this.init.self)) {
          this.stats.rumorsIgnored++
          return
        }
        this.init.replica.merge(message.key, message.state, { origin: 'remote' }).then(
          () => this.stats.rumorsMerged++,
          () => this.stats.refused++,
        )
        return
      }
    }
  }

  /**
   * Applies an operation once per id. A client-keyed write (with a fingerprint) commits its
   * outcome record with the write and answers `replayed` once it has one; an internal
   * operation id records the answer itself, so a duplicated or retried request from its
   * coordinator gets the first answer back instead of applying an increment twice.
   */
  private async apply(request: ApplyRequest): Promise<Response> {
    const { store, now } = this.init
    const id = request.idempotencyKey
    if (id !== undefined && request.fingerprint !== undefined) {
      const keyed = { id, fingerprint: request.fingerprint }
      const recorded = store.getIdempotency(outcomeId(id), now())
      if (recorded !== undefined) return { type: 'replayed', result: recorded }
      const expiresAt = now() + this.init.idempotencyTtlMs
      const applied = await this.init.replica.apply(request.key, request.op, {
        origin: 'remote',
        ttlMs: request.ttlMs,
        extras: (w) => ({ idempotency: [outcomeRecord(keyed, w, expiresAt)] }),
      })
      return appliedAnswer(applied)
    }
    const opId = id === undefined ? undefined : operationId(id)
    if (opId !== undefined) {
      const recorded = store.getIdempotency(opId, now())
      if (recorded !== undefined) return decodeResponse(recorded, { maxBytes: MAX_MESSAGE_BYTES })
    }
    let answer: AppliedResponse | undefined
    await this.init.replica.apply(request.key, request.op, {
      origin: 'remote',
      ttlMs: request.ttlMs,
      extras: (w) => {
        answer = appliedAnswer(w)
        if (opId === undefined) return {}
        return { idempotency: [{ id: opId, result: encodeMessage(answer, { maxBytes: MAX_MESSAGE_BYTES }), expiresAt: now() + OP_ID_TTL_MS }] }
      },
    })
    return answer as AppliedResponse
  }

  /**
   * Merges a peer's delta or state. With `hintFor`, the peer asks this node to keep it as a
   * hint for that owner too: kept only for a member and within the hints' bounds
   * (hinted-handoff.ts), dated `hintAgeMs` before now; either way the state is merged and
   * acknowledged.
   */
  private async replicate(request: ReplicateItem): Promise<Response> {
    const { now } = this.init
    const owner = request.hintFor
    const hinted = owner !== undefined && owner !== this.init.self && this.init.hints.admit(owner, request.state.length)
    // Dated when the write began, by the sender's account of its age (an age cannot reach past now).
    const createdAt = now() - (request.hintAgeMs ?? 0)
    const extras: BatchExtras = {
      ...(hinted ? hintExtras(owner, request.key, request.state, createdAt) : {}),
      ...(request.record === undefined
        ? {}
        : { idempotency: [{ id: outcomeId(request.record.id), result: request.record.result, expiresAt: now() + this.init.idempotencyTtlMs }] }),
    }
    const merging = this.init.replica.merge(request.key, request.state, { origin: 'remote', extras: Object.keys(extras).length > 0 ? extras : undefined })
    if (hinted) this.init.hints.noteAdded(owner, request.key, merging, request.state.length, createdAt)
    await merging
    return { type: 'ack' }
  }

  /**
   * Merges every item as replicate() would. They are all staged in this turn, so they
   * commit in one store transaction (group commit); an item refused (a state from a clock
   * too far ahead, a forged entry) is listed, and the others are still acknowledged.
   */
  private async replicateBatch(request: ReplicateBatchRequest): Promise<ReplicatedResponse> {
    const outcomes = await Promise.allSettled(request.items.map((item) => this.replicate(item)))
    const refused: number[] = []
    outcomes.forEach((outcome, i) => {
      if (outcome.status === 'rejected') refused.push(i)
    })
    if (refused.length > 0) this.stats.refused += refused.length
    return { type: 'replicated', refused }
  }

  private async serve(from: string, request: Request): Promise<Response> {
    switch (request.type) {
      case 'apply':
        return this.apply(request)
      case 'replicate':
        return this.replicate(request)
      case 'replicate-batch':
        return this.replicateBatch(request)
      case 'claim':
        return this.init.keyed.handleClaim(request)
      case 'read': {
        // A big set by its page list: the reader takes the pages it holds and asks for the rest (page-lists.ts).
        const stored = this.init.store.getKey(request.key)
        if (stored === undefined) return { type: 'state' }
        const { state, pageDigests } = syncedForm(request.key, stored, this.init.listPagesFromBytes)
        return pageDigests === undefined ? { type: 'state', state } : { type: 'state', state, pageDigests }
      }
      case 'join':
        return this.init.membership.handleJoin(from, request.member)
      default: {
        const answer = this.init.antiEntropy(from, request)
        if (answer === undefined) return { type: 'error', code: 'BAD_REQUEST', message: `unexpected ${request.type} request` }
        return answer
      }
    }
  }
}

/** The applier's answer: the delta, and the state after the write (a delete: its tombstones again, and whether it removed anything). */
function appliedAnswer(applied: AppliedWrite): AppliedResponse {
  if (applied.type === undefined) return { type: 'applied', delta: applied.delta, state: applied.delta, deleted: applied.deleted === true }
  return { type: 'applied', delta: applied.delta, state: crdtOf(applied.type).encode(applied.state) }
}
