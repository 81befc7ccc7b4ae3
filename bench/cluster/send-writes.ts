// How the cluster benchmark sends a workload's writes over HTTP, and what it counts as
// acknowledged: one request per write (POST /v1/kv/:key), or batches of writes in one
// request each (POST /v1/batch), where every item carries its own outcome. A write is
// acknowledged only when its own answer says so; any other outcome is unknown (it may or
// may not have been applied), so its key is "maybe" in the ledger and its counter is left
// out of the check.
import { performance } from 'node:perf_hooks'
import { runConcurrent } from '../lib/load.js'
import type { JsonResponse } from './http-json.js'
import type { KeyLedger } from './key-ledger.js'
import type { ExpectedCounters, Write, WriteBody } from './workload.js'

/** What sending needs of a node's HTTP client (JsonClient, or a fake in tests). */
export interface JsonRequester {
  request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<JsonResponse>
}

export interface SendResult {
  readonly acked: number
  /** Acknowledged writes whose answer said quorum: false. */
  readonly notQuorum: number
  /** Writes not acknowledged: an error answer, an ok: false item, or no answer. */
  readonly failed: number
  /** HTTP requests sent. */
  readonly requests: number
  /** First request sent → last answer. */
  readonly ms: number
  /** performance.now() of the last acknowledgement. */
  readonly lastAck: number
  readonly firstError?: string
}

/** One item of POST /v1/batch: the single-write body plus its key. */
export type BatchItem = WriteBody & { readonly key: string }

/** Largest batch POST /v1/batch takes. */
export const MAX_BATCH_SIZE = 1000

/** Per-write outcomes folded into the ledger, the expected counters and the totals. */
class Tally {
  acked = 0
  notQuorum = 0
  failed = 0
  requests = 0
  done = 0
  lastAck = performance.now()
  firstError: string | undefined

  constructor(
    private readonly ledger: KeyLedger,
    private readonly counters: ExpectedCounters,
  ) {}

  acknowledged(write: Write, quorum: unknown, at: number): void {
    this.ledger.record(write.key, true)
    this.counters.record(write, true)
    this.acked++
    this.done++
    this.lastAck = at
    if (quorum === false) this.notQuorum++
  }

  refused(write: Write, error: string): void {
    this.ledger.record(write.key, false)
    this.counters.record(write, false)
    this.failed++
    this.done++
    this.firstError ??= error
  }

  result(ms: number): SendResult {
    const { acked, notQuorum, failed, requests, lastAck, firstError } = this
    return { acked, notQuorum, failed, requests, ms, lastAck, ...(firstError === undefined ? {} : { firstError }) }
  }
}

async function post(client: JsonRequester, path: string, body: unknown): Promise<JsonResponse> {
  try {
    return await client.request('POST', path, body)
  } catch (err) {
    return { status: 0, body: { error: { message: (err as Error).message } } }
  }
}

const answerText = (res: JsonResponse): string => `${res.status}: ${JSON.stringify(res.body)?.slice(0, 200)}`

/** Sends `writes` one request each, write i to `clients[nodeOf(i)]`, `concurrency` in flight; never throws for a refused write. */
export async function sendWrites(
  clients: readonly JsonRequester[],
  writes: readonly Write[],
  nodeOf: (i: number) => number,
  concurrency: number,
  ledger: KeyLedger,
  counters: ExpectedCounters,
  onProgress?: (done: number) => void,
): Promise<SendResult> {
  const tally = new Tally(ledger, counters)
  const ms = await runConcurrent(
    writes.length,
    concurrency,
    async (i) => {
      const write = writes[i] as Write
      tally.requests++
      const res = await post(clients[nodeOf(i)] ?? (clients[0] as JsonRequester), `/v1/kv/${encodeURIComponent(write.key)}`, write.body)
      if (res.status === 200) tally.acknowledged(write, (res.body as { quorum?: unknown } | undefined)?.quorum, performance.now())
      else tally.refused(write, answerText(res))
    },
    { onProgress, progressEvery: 16 },
  )
  return tally.result(ms)
}

/**
 * Sends `writes` in order as batches of `batchSize` to one node (POST /v1/batch),
 * `concurrency` batches in flight; never throws for a refused batch or item.
 */
export async function sendBatches(
  client: JsonRequester,
  writes: readonly Write[],
  batchSize: number,
  concurrency: number,
  ledger: KeyLedger,
  counters: ExpectedCounters,
  onProgress?: (done: number) => void,
): Promise<SendResult> {
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new RangeError(`batch size must be an integer from 1 to ${MAX_BATCH_SIZE}, got ${batchSize}`)
  }
  const tally = new Tally(ledger, counters)
  const batches = Math.ceil(writes.length / batchSize)
  const ms = await runConcurrent(batches, concurrency, async (b) => {
    const batch = writes.slice(b * batchSize, (b + 1) * batchSize)
    tally.requests++
    const res = await post(client, '/v1/batch', { writes: batch.map(batchItem) })
    const at = performance.now()
    const outcomes = batchOutcomes(res, batch)
    if (typeof outcomes === 'string') for (const write of batch) tally.refused(write, outcomes)
    else
      outcomes.forEach((o, i) => {
        const write = batch[i] as Write
        if (o.ok) tally.acknowledged(write, o.quorum, at)
        else tally.refused(write, o.error)
      })
    onProgress?.(tally.done)
  })
  return tally.result(ms)
}

export function batchItem(write: Write): BatchItem {
  return { key: write.key, ...write.body }
}

type ItemOutcome = { readonly ok: true; readonly quorum: unknown } | { readonly ok: false; readonly error: string }

/**
 * Each item's outcome from a POST /v1/batch answer, or why the answer as a whole tells
 * nothing (not 200, or results that do not match the batch item for item, in order).
 */
export function batchOutcomes(res: JsonResponse, batch: readonly Write[]): ItemOutcome[] | string {
  if (res.status !== 200) return answerText(res)
  const results = (res.body as { results?: unknown } | undefined)?.results
  if (!Array.isArray(results) || results.length !== batch.length) {
    return `200 but not one result per item (${batch.length} sent): ${JSON.stringify(res.body)?.slice(0, 200)}`
  }
  const outcomes: ItemOutcome[] = []
  for (const [i, r] of results.entries()) {
    const item = r as { key?: unknown; ok?: unknown; quorum?: unknown; error?: unknown } | null
    const key = (batch[i] as Write).key
    if (item === null || typeof item !== 'object' || item.key !== key || typeof item.ok !== 'boolean') {
      return `200 but result ${i} is not an outcome for ${key}: ${JSON.stringify(r)?.slice(0, 200)}`
    }
    outcomes.push(item.ok ? { ok: true, quorum: item.quorum } : { ok: false, error: `batch item ${key}: ${JSON.stringify(item.error)?.slice(0, 200)}` })
  }
  return outcomes
}
