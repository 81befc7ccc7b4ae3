// Keys: write one operation, read a value, list keys. Requests are validated by the
// schemas before they get here; the database's own errors become HTTP errors in the
// server's error handler (errors.ts).
import type { FastifyInstance } from 'fastify'
import type { CrdtTypeName, Database, JsonValue, Operation } from '../../src/index.js'
import { failure } from './errors.js'
import type { HttpMetrics } from './metrics.js'
import {
  DEFAULT_KEYS_LIMIT,
  keyParamsSchema,
  keysQuerySchema,
  keysResponseSchema,
  readQuerySchema,
  readResponseSchema,
  writeBodySchema,
  writeHeadersSchema,
  writeQuerySchema,
  writeResponseSchema,
} from './schemas.js'

export interface RouteDeps {
  readonly db: Database
  readonly metrics: HttpMetrics
}

/** The body after schema validation: the type/op pair and its argument are known to fit. */
interface WriteBody {
  readonly type: CrdtTypeName
  readonly op: Operation['op']
  readonly amount?: number
  readonly element?: JsonValue
  readonly value?: JsonValue
}

/** Builds the database operation; counters default to amount 1. */
export function operationOf(body: WriteBody): Operation {
  switch (body.type) {
    case 'gcounter':
      return { type: 'gcounter', op: 'increment', amount: body.amount ?? 1 }
    case 'pncounter':
      return { type: 'pncounter', op: body.op as 'increment' | 'decrement', amount: body.amount ?? 1 }
    case 'orset':
      return { type: 'orset', op: body.op as 'add' | 'remove', element: body.element as JsonValue }
    case 'lww':
      return { type: 'lww', op: 'set', value: body.value as JsonValue }
  }
}

/** The error code of a failed operation, as a metric label (`type_mismatch`, …). */
function outcomeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code.toLowerCase() : err instanceof RangeError ? 'invalid_value' : 'error'
}

export function registerKvRoutes(app: FastifyInstance, { db, metrics }: RouteDeps): void {
  app.post<{
    Params: { key: string }
    Querystring: { w?: string; requireQuorum?: 'true' | 'false' }
    Headers: { 'idempotency-key'?: string }
    Body: WriteBody
  }>(
    '/v1/kv/:key',
    {
      schema: {
        params: keyParamsSchema,
        querystring: writeQuerySchema,
        headers: writeHeadersSchema,
        body: writeBodySchema,
        response: writeResponseSchema,
      },
    },
    async (request) => {
      const { key } = request.params
      const op = operationOf(request.body)
      const idempotencyKey = request.headers['idempotency-key']
      let result
      try {
        result = await db.write(key, op, {
          w: request.query.w === undefined ? undefined : Number(request.query.w),
          requireQuorum: request.query.requireQuorum === 'true',
          idempotencyKey,
        })
      } catch (err) {
        metrics.operation(op.type, op.op, outcomeOf(err))
        if ((err as { code?: unknown }).code === 'QUORUM_NOT_MET') metrics.quorumMissed()
        throw err
      }
      // A replay of an idempotency key returns the recorded value and token only.
      if (result.replayed === true) {
        metrics.operation(op.type, op.op, 'replayed')
        return { key, type: op.type, value: result.value, token: result.token, replayed: true }
      }
      const quorum = result.quorum ?? true
      metrics.operation(op.type, op.op, 'ok')
      metrics.writeAcked(result.acks ?? 1, quorum)
      return { key, type: op.type, value: result.value, acks: result.acks, quorum, token: result.token }
    },
  )

  app.get<{ Params: { key: string }; Querystring: { r?: string; token?: string } }>(
    '/v1/kv/:key',
    { schema: { params: keyParamsSchema, querystring: readQuerySchema, response: readResponseSchema } },
    async (request, reply) => {
      const { key } = request.params
      const { r, token } = request.query
      let found
      try {
        found = await db.get(key, { r: r === undefined ? undefined : Number(r), token })
      } catch (err) {
        metrics.operation('unknown', 'get', outcomeOf(err))
        throw err
      }
      if (found === undefined) {
        metrics.operation('unknown', 'get', 'not_found')
        const { status, body } = failure(404, 'NOT_FOUND', `key ${JSON.stringify(key)} does not exist on the replicas asked; write it first`)
        return reply.code(status).send(body)
      }
      metrics.operation(found.type, 'get', 'ok')
      return found
    },
  )

  app.get<{ Querystring: { prefix?: string; after?: string; limit?: string } }>(
    '/v1/keys',
    { schema: { querystring: keysQuerySchema, response: keysResponseSchema } },
    async (request) => {
      const { prefix, after, limit } = request.query
      return { keys: db.keys({ prefix, after, limit: limit === undefined ? DEFAULT_KEYS_LIMIT : Number(limit) }) }
    },
  )
}
