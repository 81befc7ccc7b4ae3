// Serves peers' requests and broadcasts: the replica side of the write, read and
// membership protocols. Anything a handler throws becomes an `error` response, so a bad
// request never takes the node down.
import type { Replica } from '../replica.js'
import { crdtOf } from '../replica.js'
import type { Store } from '../store/store.js'
import { decodeResponse, encodeMessage } from '../wire/codec.js'
import type { AppliedResponse, ApplyRequest, Broadcast, Request, Response } from '../wire/messages.js'
import { OP_ID_PREFIX, OP_ID_TTL_MS } from './engine-constants.js'
import { hintExtras } from './coordinator.js'
import type { Membership } from './membership.js'
import { responseFromError } from './remote-errors.js'
import { preferenceList } from './ring.js'

export interface RouterInit {
  readonly self: string
  readonly replica: Replica
  readonly store: Store
  readonly membership: Membership
  readonly now: () => number
  readonly replicas: () => number
  /** Anti-entropy requests (sync-*); undefined when the request is not one of its. */
  readonly antiEntropy: (from: string, request: Request) => Promise<Response> | undefined
}

export interface RouterStats {
  rumorsMerged: number
  rumorsIgnored: number
  refused: number
}

export class RequestRouter {
  readonly stats: RouterStats = { rumorsMerged: 0, rumorsIgnored: 0, refused: 0 }

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
        this.init.membership.handleHeartbeat(from, message.member, message.seq)
        return
      case 'rumor': {
        const { ring } = this.init.membership.ring()
        if (!preferenceList(ring, message.key, this.init.replicas()).includes(this.init.self)) {
          this.stats.rumorsIgnored++
          return
        }
        this.init.replica.merge(message.key, message.state).then(
          () => this.stats.rumorsMerged++,
          () => this.stats.refused++,
        )
        return
      }
    }
  }

  /**
   * Applies an operation once per operation id: the answer is recorded in the same commit
   * as the write, so a duplicated or retried request gets the first answer back instead
   * of applying a counter increment twice.
   */
  private async apply(request: ApplyRequest): Promise<Response> {
    const opId = request.idempotencyKey === undefined ? undefined : `${OP_ID_PREFIX}${request.idempotencyKey}`
    if (opId !== undefined) {
      const recorded = this.init.store.getIdempotency(opId, this.init.now())
      if (recorded !== undefined) return decodeResponse(recorded)
    }
    let answer: AppliedResponse | undefined
    await this.init.replica.apply(request.key, request.op, (w) => {
      const crdt = crdtOf(w.type)
      answer = { type: 'applied', delta: crdt.encode(w.delta), state: crdt.encode(w.state) }
      if (opId === undefined) return {}
      return { idempotency: [{ id: opId, result: encodeMessage(answer), expiresAt: this.init.now() + OP_ID_TTL_MS }] }
    })
    return answer as AppliedResponse
  }

  private async serve(from: string, request: Request): Promise<Response> {
    const { replica } = this.init
    switch (request.type) {
      case 'apply':
        return this.apply(request)
      case 'replicate': {
        const extras = request.hintFor === undefined || request.hintFor === this.init.self
          ? undefined
          : hintExtras(request.hintFor, request.key, request.state, this.init.now())
        await replica.merge(request.key, request.state, extras)
        return { type: 'ack' }
      }
      case 'read': {
        const stored = this.init.store.getKey(request.key)
        return stored === undefined ? { type: 'state' } : { type: 'state', state: stored.state }
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
