// Replication to one peer, coalesced. While a send to a peer is in flight, further deltas
// for it wait, and go together as one replicate-batch when it returns: a burst of writes
// costs each replica a message per round trip, not one per write, and the replica merges
// the batch in one store transaction. A delta a caller waits on (its write still needs
// acknowledgements) goes at the end of this turn when nothing is in flight; one that nobody
// waits on (a w = 1 write already committed here, a read repair) may linger up to
// `lingerMs` for company, as Kafka's linger.ms or Nagle's algorithm do. One delta alone
// still goes as a plain replicate, as does one too large to share a message (it may travel
// in parts).
//
// A message carrying only deltas nobody waits on gets a long timeout (REPLICATION_TIMEOUT_MS)
// instead of the peer's adaptive one: on a loaded machine a replica may take more than the
// usual 500 ms to answer, and giving up on it only turns the deltas into hints, rumors and
// handoffs, which load every node further (issue 15's 5-node all-writers run did that).
//
// Each delta is acknowledged on its own: a batch answered `replicated` acknowledges every
// item it does not list as refused; a batch that failed (unreachable, timed out, reset,
// refused whole) acknowledges none, and the coordinator delivers each of its deltas
// elsewhere, as it did for a single replicate that failed. Merging is idempotent, so a
// batch applied whose answer was lost, then delivered again, changes nothing twice.
import type { Clock, TimerHandle } from '../../base/clock.js'
import type { ReplicateItem, Request, Response } from '../../wire/messages.js'
import { DEFAULT_REPLICATION_LINGER_MS, MAX_BATCH_DELTA_BYTES, MAX_REPLICATION_BATCH_BYTES, MAX_REPLICATION_BATCH_ITEMS, REPLICATION_TIMEOUT_MS } from './constants.js'
import { isUnreachable } from './quorum.js'

export interface ReplicationBatcherInit {
  /** `timeoutMs` overrides the peer's adaptive request timeout. */
  readonly send: (peer: string, request: Request, options?: { readonly timeoutMs?: number }) => Promise<Response>
  readonly clock: Clock
  /** Counted here (the coordinator's, in its status). */
  readonly stats: ReplicationStats
  /** How long a delta nobody waits on may wait for others (default DEFAULT_REPLICATION_LINGER_MS; 0: never). */
  readonly lingerMs?: number
  /** Bounds of one batch (defaults in constants.ts). */
  readonly maxItems?: number
  readonly maxBytes?: number
}

export interface ReplicationStats {
  /** Deltas sent to other replicas, batched or not. */
  deltasReplicated: number
  /** Replicate-batch messages among the messages that carried them. */
  replicationBatches: number
}

interface Waiting {
  readonly item: ReplicateItem
  readonly bytes: number
  /** A caller waits on its acknowledgement. */
  readonly urgent: boolean
  readonly resolve: (acked: boolean) => void
  readonly reject: (err: unknown) => void
}

interface PeerQueue {
  sending: boolean
  waiting: Waiting[]
  bytes: number
  /** A delta a caller waits on is queued: no lingering. */
  urgent: boolean
  /** When the oldest waiting delta was queued. */
  since: number
  timer: TimerHandle | undefined
  /** A flush is queued as a microtask. */
  flushing: boolean
}

export class ReplicationBatcher {
  private readonly queues = new Map<string, PeerQueue>()
  private readonly lingerMs: number
  private readonly maxItems: number
  private readonly maxBytes: number

  constructor(private readonly init: ReplicationBatcherInit) {
    this.lingerMs = init.lingerMs ?? DEFAULT_REPLICATION_LINGER_MS
    this.maxItems = init.maxItems ?? MAX_REPLICATION_BATCH_ITEMS
    this.maxBytes = init.maxBytes ?? MAX_REPLICATION_BATCH_BYTES
  }

  /**
   * Gets `item` durably merged on `peer`: resolves true once the peer acknowledged it,
   * false when it did not (unreachable, timed out, refused). Rejects only on an error that
   * is this node's own (a message it could not encode). `urgent`: a caller waits on the
   * acknowledgement, so the delta does not linger.
   */
  replicate(peer: string, item: ReplicateItem, options: { readonly urgent?: boolean } = {}): Promise<boolean> {
    this.init.stats.deltasReplicated++
    const bytes = itemBytes(item)
    const urgent = options.urgent === true
    if (bytes > MAX_BATCH_DELTA_BYTES) return this.sendOne(peer, item, urgent)
    let queue = this.queues.get(peer)
    if (queue === undefined) {
      queue = { sending: false, waiting: [], bytes: 0, urgent: false, since: 0, timer: undefined, flushing: false }
      this.queues.set(peer, queue)
    }
    const q = queue
    return new Promise<boolean>((resolve, reject) => {
      if (q.waiting.length === 0) q.since = this.init.clock.now()
      q.waiting.push({ item, bytes, urgent, resolve, reject })
      q.bytes += bytes
      if (urgent || this.lingerMs <= 0) q.urgent = true
      this.schedule(peer, q)
    })
  }

  /** Sends every lingering delta now (a stopping node does not wait out the linger). */
  flushAll(): void {
    for (const [peer, queue] of this.queues) {
      queue.urgent = true
      this.schedule(peer, queue)
    }
  }

  /** Flushes when the queue is due (at the end of this turn), else arms its linger timer. */
  private schedule(peer: string, queue: PeerQueue): void {
    if (queue.sending || queue.flushing) return
    if (queue.waiting.length === 0) {
      if (this.queues.get(peer) === queue) this.queues.delete(peer)
      return
    }
    const full = queue.waiting.length >= this.maxItems || queue.bytes >= this.maxBytes
    const dueIn = queue.urgent || full ? 0 : queue.since + this.lingerMs - this.init.clock.now()
    if (dueIn <= 0) {
      if (queue.timer !== undefined) this.init.clock.clearTimeout(queue.timer)
      queue.timer = undefined
      queue.flushing = true
      // What else this turn queues for the peer goes with it.
      queueMicrotask(() => {
        queue.flushing = false
        this.flush(peer, queue)
      })
      return
    }
    if (queue.timer === undefined) {
      queue.timer = this.init.clock.setTimeout(() => {
        queue.timer = undefined
        queue.urgent = true
        this.schedule(peer, queue)
      }, dueIn)
    }
  }

  private flush(peer: string, queue: PeerQueue): void {
    if (queue.sending || queue.waiting.length === 0) return this.schedule(peer, queue)
    let count = 0
    let bytes = 0
    while (count < queue.waiting.length && count < this.maxItems) {
      const next = (queue.waiting[count] as Waiting).bytes
      if (count > 0 && bytes + next > this.maxBytes) break
      bytes += next
      count++
    }
    const batch = queue.waiting.splice(0, count)
    queue.bytes -= bytes
    // What is left waited as long as the batch: it goes as soon as the batch returns.
    queue.urgent = queue.waiting.length > 0
    queue.sending = true
    void this.sendBatch(peer, batch).finally(() => {
      queue.sending = false
      this.schedule(peer, queue)
    })
  }

  /** Sends the batch and settles each of its deltas; never rejects. */
  private async sendBatch(peer: string, batch: readonly Waiting[]): Promise<void> {
    if (batch.length === 1) {
      const only = batch[0] as Waiting
      await this.sendOne(peer, only.item, only.urgent).then(only.resolve, only.reject)
      return
    }
    this.init.stats.replicationBatches++
    let response: Response
    try {
      response = await this.init.send(peer, { type: 'replicate-batch', items: batch.map((w) => w.item) }, timeoutFor(batch.some((w) => w.urgent)))
    } catch (err) {
      for (const w of batch) {
        if (isUnreachable(err)) w.resolve(false)
        else w.reject(err)
      }
      return
    }
    const refused = response.type === 'replicated' ? new Set(response.refused) : undefined
    batch.forEach((w, i) => w.resolve(refused !== undefined && !refused.has(i)))
  }

  private async sendOne(peer: string, item: ReplicateItem, urgent: boolean): Promise<boolean> {
    try {
      const response = await this.init.send(peer, { type: 'replicate', ...item }, timeoutFor(urgent))
      return response.type === 'ack'
    } catch (err) {
      if (isUnreachable(err)) return false
      throw err
    }
  }
}

/** A caller waiting: the peer's adaptive timeout; nobody waiting: a long one. */
function timeoutFor(urgent: boolean): { readonly timeoutMs?: number } {
  return urgent ? {} : { timeoutMs: REPLICATION_TIMEOUT_MS }
}

/** About what the item adds to a message: its bytes and a little framing. */
function itemBytes(item: ReplicateItem): number {
  return item.key.length * 3 + item.state.length + (item.hintFor?.length ?? 0) + (item.record === undefined ? 0 : item.record.id.length * 3 + item.record.result.length) + 16
}
