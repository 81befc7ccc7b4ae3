// A node's side of large messages (./large-messages.ts) that holds bytes: large requests
// being received part by part, and large responses kept for their requester to pull.
// Every peer's parts are distrusted: it bounds what one peer, and all of them, can make a
// node hold (transfers per peer, bytes per peer and in total, reserved when a transfer
// starts), refuses parts that do not fit their message, hands on a message only if its
// parts add up to its SHA-256, and forgets what is idle. No I/O and no timers: callers
// pass the time (Clock.now) and call `sweep` when they like (the messenger: on traffic).
import { equals } from 'uint8arrays/equals'
import { concat } from 'uint8arrays/concat'
import { LARGE_DIGEST_BYTES } from '../../wire/limits.js'
import type { ErrorResponse, LargeDataResponse, LargePartRequest, LargePullRequest, LargeReadyResponse, LargeStoredResponse } from '../../wire/messages.js'
import { DEFAULT_LARGE_MESSAGE_LIMITS, messageDigest, partCount, partLength, type LargeMessageLimits } from './large-messages.js'

/**
 * What a part did: stored (or already had), refused, completed its message, or is a copy
 * of the part that completed it (answer it with the original's answer, when it has one).
 */
export type PartOutcome =
  | LargeStoredResponse
  | ErrorResponse
  | { readonly type: 'complete'; readonly message: Uint8Array }
  | { readonly type: 'repeat'; readonly answer: Promise<Uint8Array> | undefined }

export interface LargeBufferStats {
  /** Parts and pulls refused: bounds, parts that do not fit their message, unknown transfers. */
  refused: number
  /** Transfers dropped unfinished: idle too long, or broken by conflicting parts. */
  dropped: number
}

interface Incoming {
  readonly size: number
  readonly digest: Uint8Array
  readonly parts: (Uint8Array | undefined)[]
  received: number
  lastActive: number
}

interface Kept {
  readonly message: Uint8Array
  /** 1 for each part pulled at least once. */
  readonly pulled: Uint8Array
  /** Parts never pulled; at 0 the response is only kept for `pulledGraceMs`. */
  remaining: number
  lastActive: number
}

interface Completed {
  readonly transfer: number
  readonly digest: Uint8Array
  /** The part that completed the message. */
  readonly index: number
  readonly at: number
  /** The answer frame sent for it (small: see the messenger), for copies of that part. */
  answer?: Promise<Uint8Array>
}

interface PeerBuffers {
  readonly incoming: Map<number, Incoming>
  readonly kept: Map<number, Kept>
  /** Recently completed transfers: their late duplicate parts must not start them again. */
  completed: Completed[]
  bytes: number
}

/** Remembered completions per peer. */
const COMPLETED_PER_PEER = 16

/**
 * The answer to a large request is remembered for copies of its last part, so it is kept
 * small: a response above this is sent as large-ready and pulled, like any large response.
 */
export const MAX_REMEMBERED_ANSWER_BYTES = 64 * 1024

/** A node's half-received large requests and the large responses it keeps for peers to pull. */
export class LargeMessageBuffers {
  readonly stats: LargeBufferStats = { refused: 0, dropped: 0 }
  private readonly peers = new Map<string, PeerBuffers>()
  private total = 0
  private nextTransfer = 1

  constructor(readonly limits: LargeMessageLimits = DEFAULT_LARGE_MESSAGE_LIMITS) {}

  /** Bytes reserved for half-received requests and held by kept responses. */
  get bytesHeld(): number {
    return this.total
  }

  /** Transfers in progress: half-received requests and kept responses not yet pulled whole. */
  get transfers(): number {
    let n = 0
    for (const p of this.peers.values()) n += p.incoming.size + pending(p.kept)
    return n
  }

  /** Takes one part of a large request from `peer`. */
  receivePart(peer: string, part: LargePartRequest, now: number): PartOutcome {
    const { partBytes, maxMessageBytes } = this.limits
    const { transfer, index, size, digest, data } = part
    if (!(Number.isSafeInteger(size) && size >= 1 && size <= maxMessageBytes)) {
      return this.refuse('BAD_REQUEST', `large-part: a message of ${size} bytes is above the largest this node takes (${maxMessageBytes}); it cannot be sent`)
    }
    const count = partCount(size, partBytes)
    if (!(Number.isSafeInteger(index) && index >= 0 && index < count)) {
      return this.refuse('BAD_REQUEST', `large-part: part ${index} is beyond the ${count} parts of a ${size}-byte message`)
    }
    const expected = partLength(size, index, partBytes)
    if (data.length !== expected) {
      return this.refuse('BAD_REQUEST', `large-part: part ${index} of a ${size}-byte message must be ${expected} bytes (parts of ${partBytes}), got ${data.length}`)
    }
    if (digest.length !== LARGE_DIGEST_BYTES) return this.refuse('BAD_REQUEST', `large-part: the digest must be ${LARGE_DIGEST_BYTES} bytes`)

    const buffers = this.buffersOf(peer)
    const completed = buffers.completed.find((c) => c.transfer === transfer && equals(c.digest, digest))
    if (completed !== undefined) {
      // A late copy: it must not start the message again, nor be answered differently.
      return index === completed.index ? { type: 'repeat', answer: completed.answer } : { type: 'large-stored' }
    }
    let incoming = buffers.incoming.get(transfer)
    if (incoming !== undefined && (incoming.size !== size || !equals(incoming.digest, digest))) {
      // Another message under the same id: the sender restarted. The old parts are of no use.
      this.dropIncoming(buffers, transfer)
      incoming = undefined
    }
    if (incoming === undefined) {
      this.dropAbandoned(buffers, now)
      const full = this.admit(buffers, size, 'half-received large messages')
      if (full !== undefined) {
        this.forgetIfIdle(peer, buffers)
        return full
      }
      incoming = { size, digest, parts: new Array<Uint8Array | undefined>(count).fill(undefined), received: 0, lastActive: now }
      buffers.incoming.set(transfer, incoming)
      this.reserve(buffers, size)
    }
    incoming.lastActive = now
    const had = incoming.parts[index]
    if (had !== undefined) {
      if (equals(had, data)) return { type: 'large-stored' }
      this.dropIncoming(buffers, transfer)
      this.forgetIfIdle(peer, buffers)
      return this.refuse('BAD_REQUEST', `large-part: part ${index} of transfer ${transfer} came twice with different bytes; the transfer is dropped, send the message again`)
    }
    incoming.parts[index] = data
    incoming.received++
    if (incoming.received < count) return { type: 'large-stored' }

    this.dropIncoming(buffers, transfer, false)
    const message = concat(incoming.parts as Uint8Array[], size)
    if (!equals(messageDigest(message), digest)) {
      this.forgetIfIdle(peer, buffers)
      return this.refuse('BAD_REQUEST', `large-part: the ${count} parts of transfer ${transfer} do not match its digest; send the message again`)
    }
    buffers.completed.push({ transfer, digest, index, at: now })
    if (buffers.completed.length > COMPLETED_PER_PEER) buffers.completed.shift()
    return { type: 'complete', message }
  }

  /** Records the answer to a completed message, for copies of its completing part. */
  answered(peer: string, transfer: number, digest: Uint8Array, answer: Promise<Uint8Array>): void {
    const completed = this.peers.get(peer)?.completed.find((c) => c.transfer === transfer && equals(c.digest, digest))
    if (completed !== undefined) completed.answer = answer
  }

  /** Keeps an encoded response for `peer` to pull; the answer tells it how, or why not. */
  keep(peer: string, message: Uint8Array, now: number): LargeReadyResponse | ErrorResponse {
    const size = message.length
    if (size < 1 || size > this.limits.maxMessageBytes) {
      return this.refuse('INTERNAL', `the response is ${size} bytes, above the largest message (${this.limits.maxMessageBytes}); it cannot be sent`)
    }
    const buffers = this.buffersOf(peer)
    const full = this.admit(buffers, size, 'large responses waiting to be pulled', 'kept')
    if (full !== undefined) {
      this.forgetIfIdle(peer, buffers)
      return full
    }
    const transfer = this.nextTransfer++
    const count = partCount(size, this.limits.partBytes)
    buffers.kept.set(transfer, { message, pulled: new Uint8Array(count), remaining: count, lastActive: now })
    this.reserve(buffers, size)
    return { type: 'large-ready', transfer, size, digest: messageDigest(message) }
  }

  /** One part of a response kept for `peer`. The response is forgotten `pulledGraceMs` after every part was pulled. */
  pull(peer: string, request: LargePullRequest, now: number): LargeDataResponse | ErrorResponse {
    const buffers = this.peers.get(peer)
    const kept = buffers?.kept.get(request.transfer)
    if (buffers === undefined || kept === undefined) {
      return this.refuse(
        'UNAVAILABLE',
        `large-pull: no response ${request.transfer} is kept for you (it was pulled whole, or dropped after ${this.limits.idleTimeoutMs} ms idle); send the request again`,
      )
    }
    const { partBytes } = this.limits
    const { index } = request
    const count = kept.pulled.length
    if (!(Number.isSafeInteger(index) && index >= 0 && index < count)) {
      return this.refuse('BAD_REQUEST', `large-pull: part ${index} is beyond the ${count} parts of response ${request.transfer}`)
    }
    kept.lastActive = now
    if (kept.pulled[index] === 0) {
      kept.pulled[index] = 1
      kept.remaining--
    }
    const start = index * partBytes
    return { type: 'large-data', data: kept.message.subarray(start, start + partLength(kept.message.length, index, partBytes)) }
  }

  /**
   * Drops transfers idle for `idleTimeoutMs`, responses pulled whole `pulledGraceMs` ago,
   * and old completions. Returns how many unfinished transfers it dropped.
   */
  sweep(now: number): number {
    if (this.peers.size === 0) return 0
    const deadline = now - this.limits.idleTimeoutMs
    const graceEnd = now - this.limits.pulledGraceMs
    let dropped = 0
    for (const [peer, buffers] of this.peers) {
      for (const [transfer, incoming] of buffers.incoming) {
        if (incoming.lastActive <= deadline) {
          this.dropIncoming(buffers, transfer)
          dropped++
        }
      }
      for (const [transfer, kept] of buffers.kept) {
        const done = kept.remaining === 0
        if (kept.lastActive <= (done ? graceEnd : deadline)) {
          buffers.kept.delete(transfer)
          this.release(buffers, kept.message.length)
          if (!done) {
            this.stats.dropped++
            dropped++
          }
        }
      }
      buffers.completed = buffers.completed.filter((c) => c.at > deadline)
      this.forgetIfIdle(peer, buffers)
    }
    return dropped
  }

  private buffersOf(peer: string): PeerBuffers {
    let buffers = this.peers.get(peer)
    if (buffers === undefined) {
      buffers = { incoming: new Map(), kept: new Map(), completed: [], bytes: 0 }
      this.peers.set(peer, buffers)
    }
    return buffers
  }

  /**
   * Undefined when a new transfer of `size` bytes fits every bound (responses pulled whole
   * make room first); else the refusal.
   */
  private admit(buffers: PeerBuffers, size: number, what: string, side: 'incoming' | 'kept' = 'incoming'): ErrorResponse | undefined {
    const { maxTransfersPerPeer, maxBytesPerPeer, maxBytesTotal, idleTimeoutMs } = this.limits
    const later = `retry when they are done (idle ones are dropped after ${idleTimeoutMs} ms)`
    const active = side === 'incoming' ? buffers.incoming.size : pending(buffers.kept)
    if (active >= maxTransfersPerPeer) {
      return this.refuse('UNAVAILABLE', `this node already holds ${active} ${what} of yours, the most it takes; ${later}`)
    }
    if (buffers.bytes + size > maxBytesPerPeer) this.evictPulled([buffers], buffers.bytes + size - maxBytesPerPeer)
    if (this.total + size > maxBytesTotal) this.evictPulled(this.peers.values(), this.total + size - maxBytesTotal)
    if (buffers.bytes + size > maxBytesPerPeer) {
      return this.refuse('UNAVAILABLE', `${size} more bytes of large messages would exceed the ${maxBytesPerPeer} this node holds for one peer; ${later}`)
    }
    if (this.total + size > maxBytesTotal) {
      return this.refuse('UNAVAILABLE', `${size} more bytes of large messages would exceed the ${maxBytesTotal} this node holds in all; ${later}`)
    }
    return undefined
  }

  /**
   * At the limit of a peer's half-received messages, drops the one idle longest if no part
   * of it can still come: its sender gave it up when a part's request timed out (at least
   * minPartTimeoutMs), and a cut transfer must not hold the peer's next messages off until
   * the idle timeout. Dropping one still in flight would only fail it; its sender retries.
   */
  private dropAbandoned(buffers: PeerBuffers, now: number): void {
    if (buffers.incoming.size < this.limits.maxTransfersPerPeer) return
    let stalest: [number, number] | undefined
    for (const [transfer, incoming] of buffers.incoming) {
      if (stalest === undefined || incoming.lastActive < stalest[1]) stalest = [transfer, incoming.lastActive]
    }
    if (stalest !== undefined && now - stalest[1] >= this.limits.minPartTimeoutMs) this.dropIncoming(buffers, stalest[0])
  }

  /** Frees at least `bytes` from responses pulled whole, if there are that many. */
  private evictPulled(from: Iterable<PeerBuffers>, bytes: number): void {
    let freed = 0
    for (const buffers of from) {
      for (const [transfer, kept] of buffers.kept) {
        if (freed >= bytes) return
        if (kept.remaining > 0) continue
        buffers.kept.delete(transfer)
        this.release(buffers, kept.message.length)
        freed += kept.message.length
      }
    }
  }

  private reserve(buffers: PeerBuffers, size: number): void {
    buffers.bytes += size
    this.total += size
  }

  private release(buffers: PeerBuffers, size: number): void {
    buffers.bytes -= size
    this.total -= size
  }

  /** Forgets a half-received message. The peer's entry stays: callers forget it when idle. */
  private dropIncoming(buffers: PeerBuffers, transfer: number, unfinished = true): void {
    const incoming = buffers.incoming.get(transfer)
    if (incoming === undefined) return
    buffers.incoming.delete(transfer)
    this.release(buffers, incoming.size)
    if (unfinished) this.stats.dropped++
  }

  /** Removes the peer's entry once it holds nothing; `buffers` must not be used after. */
  private forgetIfIdle(peer: string, buffers: PeerBuffers): void {
    if (buffers.incoming.size === 0 && buffers.kept.size === 0 && buffers.completed.length === 0) this.peers.delete(peer)
  }

  private refuse(code: ErrorResponse['code'], message: string): ErrorResponse {
    this.stats.refused++
    return { type: 'error', code, message }
  }
}

function pending(kept: Map<number, Kept>): number {
  let n = 0
  for (const k of kept.values()) if (k.remaining > 0) n++
  return n
}
