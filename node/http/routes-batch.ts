// POST /v1/batch: many writes in one request. The whole batch is checked before any write
// starts, so one bad item changes nothing; then every write starts at once (the database
// group-commits them and the coordinator batches their replication) and each answers for
// itself: the writes are independent, not a transaction.
import type { FastifyInstance } from 'fastify'
import type { Operation } from '../../src/index.js'
import { validateIdempotencyKey } from '../../src/replica/idempotency.js'
import { validateKey, validateOperationArgument } from '../../src/base/validation.js'
import { failure, httpFailureOf, type ErrorBody, type HttpFailure } from './errors.js'
import { operationOf, ttlOf, writeAndRecord, writeOptionsOf, type RouteDeps, type WriteBody, type WriteQuery, type WriteReply } from './routes-kv.js'
import { ARGUMENT_OF, batchBodySchema, batchResponseSchema, MAX_BATCH_BODY_BYTES, writeQuerySchema } from './schemas.js'

/** One item after schema validation: a write body with its key. */
export interface BatchItem extends WriteBody {
  readonly key: string
  readonly idempotencyKey?: string
}

export type BatchItemResult = ({ ok: true } & WriteReply) | { key: string; type: Operation['type']; ok: false; error: ErrorBody['error'] }

/**
 * The first item the database would refuse before touching anything (a bad key, an
 * argument it cannot store, a bad idempotency key) or whose idempotency key repeats an
 * earlier item's, as the failure to answer; undefined when every item may be written.
 */
export function firstInvalidItem(items: readonly BatchItem[], ops: readonly Operation[]): HttpFailure | undefined {
  const seen = new Map<string, number>()
  for (const [i, item] of items.entries()) {
    const op = ops[i] as Operation
    const id = item.idempotencyKey
    const refused =
      refusalOf(i, 'key', () => validateKey(item.key)) ??
      refusalOf(i, ARGUMENT_OF[op.type], () => validateOperationArgument(op)) ??
      (id === undefined ? undefined : refusalOf(i, 'idempotencyKey', () => validateIdempotencyKey(id)))
    if (refused !== undefined) return refused
    if (id === undefined) continue
    const first = seen.get(id)
    if (first !== undefined) {
      return failure(
        400,
        'INVALID_REQUEST',
        `body.writes[${i}].idempotencyKey repeats body.writes[${first}].idempotencyKey (${JSON.stringify(id)}); give each write of a batch its own key`,
      )
    }
    seen.set(id, i)
  }
  return undefined
}

/** The failure `check` throws, as the single route would answer it, naming the item's field. */
function refusalOf(index: number, field: string, check: () => void): HttpFailure | undefined {
  try {
    check()
    return undefined
  } catch (err) {
    const { status, body } = httpFailureOf(err)
    return failure(status, body.error.code, `body.writes[${index}].${field}: ${body.error.message}`)
  }
}

export function registerBatchRoutes(app: FastifyInstance, deps: RouteDeps): void {
  app.post<{ Querystring: WriteQuery; Headers: { 'idempotency-key'?: string }; Body: { writes: BatchItem[] } }>(
    '/v1/batch',
    { bodyLimit: MAX_BATCH_BODY_BYTES, schema: { querystring: writeQuerySchema, body: batchBodySchema, response: batchResponseSchema } },
    async (request, reply) => {
      // Silently ignoring it would let a client believe the whole batch is retry-safe.
      if (request.headers['idempotency-key'] !== undefined) {
        const { status, body } = failure(400, 'INVALID_REQUEST', 'a batch takes no Idempotency-Key header: give each write its own "idempotencyKey"')
        return reply.code(status).send(body)
      }
      const { writes } = request.body
      const ops = writes.map(operationOf)
      const refused = firstInvalidItem(writes, ops)
      if (refused !== undefined) {
        request.log.info(`${refused.body.error.code}: ${refused.body.error.message}`)
        return reply.code(refused.status).send(refused.body)
      }
      const options = writeOptionsOf(request.query)
      const results = await Promise.all(
        writes.map(async (item, i): Promise<BatchItemResult> => {
          const op = ops[i] as Operation
          try {
            return { ok: true, ...(await writeAndRecord(deps, item.key, op, { ...options, idempotencyKey: item.idempotencyKey, ...ttlOf(item) })) }
          } catch (err) {
            deps.commits?.noteFailure(err)
            const { status, body } = httpFailureOf(err)
            if (status >= 500 && body.error.code === 'INTERNAL') request.log.error({ err }, `writes[${i}]: ${body.error.message}`)
            return { key: item.key, type: op.type, ok: false, error: body.error }
          }
        }),
      )
      return { results }
    },
  )
}
