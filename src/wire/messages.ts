// Every message nodes exchange, as one discriminated union on `type`. Requests go over
// Transport.request and are answered by exactly one response (or `error`); broadcasts go
// over Transport.broadcast. States and deltas travel as CRDT encodings (crdts/ codecs),
// so the wire never re-encodes them. The binary frame format lives in ./codec.ts.
import type { KeyOperation } from '../base/operations.js'

/** A member as announced: the member table (src/cluster/member-table.ts) record. */
export interface MemberAnnouncement {
  readonly peerId: string
  readonly addrs: readonly string[]
  readonly vnodes: number
  readonly incarnation: number
  readonly status: 'alive' | 'left'
}

/** (key, state) pairs: full states or deltas, each a crdts/ encoding with its own type tag. */
export interface KeyState {
  readonly key: string
  /** The whole state; with `pageDigests`, only its prefix (an OR-set's header and causal context). */
  readonly state: Uint8Array
  /**
   * A big OR-set listed by its pages (crdts/orset-pages.ts): their digests (16 bytes each, in
   * element order). The state is `state` followed by those pages; the receiver asks for the
   * pages it does not hold (sync-pages), src/cluster/page-transfer/page-lists.ts.
   */
  readonly pageDigests?: Uint8Array
}

export interface KeyDigest {
  readonly key: string
  /** 16-byte state digest (src/store/digest.ts). */
  readonly digest: Uint8Array
}

export interface ArcHash {
  /** End token of a group of consecutive shared arcs: the group ends at (…, end]. */
  readonly end: bigint
  /** 16-byte XOR-aggregate of the group's key fingerprints. */
  readonly hash: Uint8Array
}

// ---- requests ------------------------------------------------------------------------

/** Coordinator → first live preferred replica: apply this operation with your actor id. */
export interface ApplyRequest {
  readonly type: 'apply'
  readonly key: string
  readonly op: KeyOperation
  readonly idempotencyKey?: string
  /**
   * Present when `idempotencyKey` is the client's: the applier commits the write's outcome
   * record with the write and answers `replayed` if it already holds one for the key.
   */
  readonly fingerprint?: string
  /** A time to live (ms): the key expires that long after the write, by the applier's clock. */
  readonly ttlMs?: number
}

/** The outcome record of a client-keyed write (src/idempotency.ts), replicated with its delta. */
export interface IdempotencyRecordPayload {
  readonly id: string
  readonly result: Uint8Array
}

/** Merge this delta/state durably; with `hintFor`, also keep it as a hint for that owner. */
export interface ReplicateRequest {
  readonly type: 'replicate'
  readonly key: string
  readonly state: Uint8Array
  readonly hintFor?: string
  /**
   * With `hintFor`: how long (ms, by the sender's clock) before sending the write that made
   * the delta began. The hint's window counts from then (a hint kept late for an early write
   * must not outlive the tombstone of a delete made after that write).
   */
  readonly hintAgeMs?: number
  /** Committed with the merge, so every replica that stores the write can answer a retry. */
  readonly record?: IdempotencyRecordPayload
}

/** One delta of a replicate-batch: a replicate request without its type. */
export type ReplicateItem = Omit<ReplicateRequest, 'type'>

/**
 * Several replicate requests to one peer, sent as one while an earlier send to it was in
 * flight (src/cluster/coordinator/replication-batcher.ts); merged in one store transaction.
 */
export interface ReplicateBatchRequest {
  readonly type: 'replicate-batch'
  readonly items: readonly ReplicateItem[]
}

export interface ReadRequest {
  readonly type: 'read'
  readonly key: string
}

/** A peer introduces itself directly and asks for the member table. */
export interface JoinRequest {
  readonly type: 'join'
  readonly member: MemberAnnouncement
}

/** A Paxos ballot: rounds compare first, then proposers (peer ids). */
export interface Ballot {
  readonly round: number
  readonly proposer: string
}

/**
 * Before a client-keyed write is applied, its coordinator runs single-decree Paxos with the
 * key's replicas on the one node that applies write `id` (src/cluster/keyed-writes.ts):
 * `prepare` a ballot, then `accept` an applier under it. Only an applier a majority
 * accepted may apply, so two retries through different nodes can never both apply.
 */
export interface ClaimRequest {
  readonly type: 'claim'
  readonly key: string
  readonly id: string
  readonly fingerprint: string
  readonly phase: 'prepare' | 'accept'
  readonly ballot: Ballot
  /** Accept only. */
  readonly applier?: string
}

/** Anti-entropy step 1: the Merkle root of the arcs both sides replicate. */
export interface SyncRootRequest {
  readonly type: 'sync-root'
  /** Hash of the membership view the ring was built from: different views, different arcs. */
  readonly ringVersion: Uint8Array
  readonly root: Uint8Array
}

/** Anti-entropy step 3: my (key, digest) entries in the arcs whose hashes differ. */
export interface SyncKeysRequest {
  readonly type: 'sync-keys'
  readonly ringVersion: Uint8Array
  /** Flattened (start, end] pairs of the ring ranges the entries cover (at most 512 ranges). */
  readonly arcs: readonly bigint[]
  readonly entries: readonly KeyDigest[]
}

/**
 * Anti-entropy, between steps 2 and 3 (repeated): my aggregates of ranges inside the
 * groups that differ, to narrow them down before keys are listed.
 */
export interface SyncRangesRequest {
  readonly type: 'sync-ranges'
  readonly ringVersion: Uint8Array
  /** Flattened (start, end] pairs (at most 512 ranges). */
  readonly ranges: readonly bigint[]
  /** One 16-byte aggregate per range. */
  readonly hashes: readonly Uint8Array[]
}

/** Anti-entropy step 5: the states you asked for. */
export interface SyncPushRequest {
  readonly type: 'sync-push'
  readonly states: readonly KeyState[]
}

/** Pages of a state you listed by its pages (KeyState.pageDigests) that I do not hold. */
export interface SyncPagesRequest {
  readonly type: 'sync-pages'
  readonly key: string
  /** The pages' digests, 16 bytes each. */
  readonly digests: Uint8Array
}

export type Request =
  | ApplyRequest
  | ReplicateRequest
  | ReplicateBatchRequest
  | ReadRequest
  | JoinRequest
  | ClaimRequest
  | SyncRootRequest
  | SyncKeysRequest
  | SyncRangesRequest
  | SyncPushRequest
  | SyncPagesRequest
  | TransferRequest

// ---- responses -----------------------------------------------------------------------

export interface AppliedResponse {
  readonly type: 'applied'
  /** What other replicas need: the mutator's delta. */
  readonly delta: Uint8Array
  /** The applying replica's full state after the write (the coordinator answers with its value); a delete's tombstones again. */
  readonly state: Uint8Array
  /** A delete: whether the key held anything visible that it removed. */
  readonly deleted?: boolean
}

/** A durable commit happened. */
export interface AckResponse {
  readonly type: 'ack'
}

/** The answer to a replicate-batch: every item was merged durably except those at `refused` (ascending indexes). */
export interface ReplicatedResponse {
  readonly type: 'replicated'
  readonly refused: readonly number[]
}

/** The keyed write was applied before: its outcome record (src/idempotency.ts). */
export interface ReplayedResponse {
  readonly type: 'replayed'
  readonly result: Uint8Array
}

/** A replica's answer to a claim: promised/accepted or not, and what it holds. */
export interface ClaimedResponse {
  readonly type: 'claimed'
  readonly ok: boolean
  /** The fingerprint the replica holds for this id (a different one: the id was reused). */
  readonly fingerprint: string
  readonly promised: Ballot
  readonly accepted?: { readonly ballot: Ballot; readonly applier: string }
}

export interface StateResponse {
  readonly type: 'state'
  /** Absent when the replica has never seen the key. */
  readonly state?: Uint8Array
  /** A big OR-set listed by its pages, as KeyState.pageDigests: `state` is then its prefix. */
  readonly pageDigests?: Uint8Array
}

export interface MembersResponse {
  readonly type: 'members'
  readonly members: readonly MemberAnnouncement[]
}

/** Anti-entropy step 2: the roots matched, nothing to do. */
export interface SyncEqualResponse {
  readonly type: 'sync-equal'
}

/** Anti-entropy step 2: roots differ (or views do): here are my hashes of the shared arcs. */
export interface SyncArcsResponse {
  readonly type: 'sync-arcs'
  readonly ringVersion: Uint8Array
  readonly arcs: readonly ArcHash[]
}

/** The answer to sync-ranges: per range, whether my aggregate differs from yours. */
export interface SyncDifferResponse {
  readonly type: 'sync-differ'
  readonly differ: readonly boolean[]
}

/** The first pages a sync-pages asked for, in its order (fewer than asked when they would make a large answer). */
export interface SyncPageDataResponse {
  readonly type: 'sync-page-data'
  readonly pages: readonly Uint8Array[]
}

/** Anti-entropy step 4: states you lack or hold differently, and the keys I want from you. */
export interface SyncStatesResponse {
  readonly type: 'sync-states'
  readonly states: readonly KeyState[]
  readonly want: readonly string[]
}

export type ErrorCode =
  | 'BAD_REQUEST'
  | 'TYPE_MISMATCH'
  | 'INVALID_VALUE'
  | 'TOO_LARGE'
  | 'CLOCK_DRIFT'
  | 'UNAVAILABLE'
  | 'INTERNAL'

export interface ErrorResponse {
  readonly type: 'error'
  readonly code: ErrorCode
  readonly message: string
}

export type Response =
  | AppliedResponse
  | AckResponse
  | ReplicatedResponse
  | ReplayedResponse
  | ClaimedResponse
  | StateResponse
  | MembersResponse
  | SyncEqualResponse
  | SyncArcsResponse
  | SyncDifferResponse
  | SyncStatesResponse
  | SyncPageDataResponse
  | ErrorResponse
  | TransferResponse

// ---- broadcasts (gossipsub topics in production) --------------------------------------

/** Sent every heartbeat interval; also how members learn of each other. */
export interface HeartbeatBroadcast {
  readonly type: 'heartbeat'
  readonly member: MemberAnnouncement
  /** Strictly increasing per incarnation; lets receivers drop duplicates and stale copies. */
  readonly seq: number
  /** The sender's wall clock when it sent this (ms since the epoch): clock-offset checks. */
  readonly time: number
}

/** Rumor mongering: a freshly applied delta. */
export interface RumorBroadcast {
  readonly type: 'rumor'
  readonly key: string
  readonly state: Uint8Array
}

export type Broadcast = HeartbeatBroadcast | RumorBroadcast

// ---- large-message transfer (src/cluster/large-messages.ts) ------------------------------
// Between messengers only (src/cluster/messenger.ts): the engine never sends or sees these.
// A message whose frame would be above MAX_FRAME_BYTES travels as parts of at most
// LARGE_PART_BYTES.

/** One part of a large request. The part that completes the message is answered with its response. */
export interface LargePartRequest {
  readonly type: 'large-part'
  /** Chosen by the sender; with the digest, it names the message among the sender's. */
  readonly transfer: number
  readonly index: number
  /** Bytes of the whole message (the part count is ⌈size / LARGE_PART_BYTES⌉). */
  readonly size: number
  /** SHA-256 of the whole message. */
  readonly digest: Uint8Array
  readonly data: Uint8Array
}

/** Asks for one part of a large response kept for the asker. */
export interface LargePullRequest {
  readonly type: 'large-pull'
  readonly transfer: number
  readonly index: number
}

/** A part was stored; the message is not complete yet. */
export interface LargeStoredResponse {
  readonly type: 'large-stored'
}

/** The response is above one frame and is kept for a while: pull its parts. */
export interface LargeReadyResponse {
  readonly type: 'large-ready'
  readonly transfer: number
  readonly size: number
  readonly digest: Uint8Array
}

/** One part of a large response. */
export interface LargeDataResponse {
  readonly type: 'large-data'
  readonly data: Uint8Array
}

export type TransferRequest = LargePartRequest | LargePullRequest
export type TransferResponse = LargeStoredResponse | LargeReadyResponse | LargeDataResponse

/** What the engine sends and serves: every request and response but the transfer's. */
export type EngineRequest = Exclude<Request, TransferRequest>
export type EngineResponse = Exclude<Response, TransferResponse>

export type Message = Request | Response | Broadcast
export type MessageType = Message['type']
