// Keys: write one operation, read a value, list keys. Requests are validated by the
// schemas before they get here; the database's own errors become HTTP errors in the
// server's error handler (errors.ts).
import type { FastifyInstance } from 'fastify'
import type { CrdtTypeName, Database, JsonValue, Operation, WriteOptions } from '../../src/index.js'
import type { FieldOperation } from '../../src/base/operations.js'
import type { CommitHealth } from './commit-health.js'
import { failure } from './errors.js'
import type { HttpMetrics } from './metrics.js'
import {
  DEFAULT_KEYS_LIMIT,
  deleteResponseSchema,
  keyParamsSchema,
  keysQuerySchema,
  keysResponseSchema,
  readQuerySchema,
  readResponseSchema,
  resolveBodySchema,
  resolveResponseSchema,
  writeBodySchema,
  writeHeadersSchema,
  writeQuerySchema,
  writeResponseSchema,
} from './schemas.js'

export interface RouteDeps {
  readonly db: Database
  readonly metrics: HttpMetrics
  /** Told about writes that failed to commit, for /readyz. */
  readonly commits?: CommitHealth
}

/** The body after schema validation: the type/op pair and its argument are known to fit. */
export interface WriteBody {
  readonly type: CrdtTypeName
  readonly op: Operation['op']
  readonly amount?: number
  readonly element?: JsonValue
  readonly value?: JsonValue
  /** A map write: the field path, and for `update` the field write. */
  readonly path?: readonly string[]
  readonly update?: WriteBody
  /** The key expires this many milliseconds after the write. */
  readonly ttl?: number
}

/** The write option a body's `ttl` gives (none without one). */
export function ttlOf(body: WriteBody): { ttl?: number } {
  return body.ttl === undefined ? {} : { ttl: body.ttl }
}

/** Builds the database operation; counters default to amount 1. */
export function operationOf(body: WriteBody): Operation {
  switch (body.type) {
    case 'map': {
      const path = body.path as readonly string[]
      if (body.op === 'remove') return { type: 'map', op: 'remove', path }
      return { type: 'map', op: 'update', path, update: operationOf(body.update as WriteBody) as FieldOperation }
    }
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

/** The query string of a write, after schema validation. */
export interface WriteQuery {
  readonly w?: string
  readonly requireQuorum?: 'true' | 'false'
}

export function writeOptionsOf(query: WriteQuery): { w: number | undefined; requireQuorum: boolean } {
  return { w: query.w === undefined ? undefined : Number(query.w), requireQuorum: query.requireQuorum === 'true' }
}

/** What a write answers: the body of POST /v1/kv/:key and of an ok item of POST /v1/batch. */
export type WriteReply =
  | { key: string; type: CrdtTypeName; value?: unknown; size?: number; acks: number | undefined; quorum: boolean; token: string }
  | { key: string; type: CrdtTypeName; value?: unknown; size?: number; token: string; replayed: true }

/**
 * A write to a set answers its elements only up to this many; a bigger set answers its
 * `size`, and its elements are read in pages (GET /v1/kv/:key?limit=), so that a write's
 * answer does not grow with the set.
 */
export const MAX_ANSWERED_ELEMENTS = 1000

/** `value` (unless the set is too big to answer whole) and, for a set, `size`. */
function answeredValue(result: { readonly value: unknown; readonly size?: number }): { value?: unknown; size?: number } {
  if (result.size === undefined) return { value: result.value }
  if (result.size > MAX_ANSWERED_ELEMENTS) return { size: result.size }
  return { value: result.value, size: result.size }
}

/** Applies one write and counts it in the metrics; a failure is counted, then thrown. */
export async function writeAndRecord({ db, metrics }: RouteDeps, key: string, op: Operation, options: WriteOptions): Promise<WriteReply> {
  let result
  try {
    result = await db.write(key, op, options)
  } catch (err) {
    metrics.operation(op.type, op.op, outcomeOf(err))
    if ((err as { code?: unknown }).code === 'QUORUM_NOT_MET') metrics.quorumMissed()
    throw err
  }
  // A replay of an idempotency key returns the recorded value and token only.
  if (result.replayed === true) {
    metrics.operation(op.type, op.op, 'replayed')
    return { key, type: op.type, ...answeredValue(result), token: result.token, replayed: true }
  }
  const quorum = result.quorum ?? true
  metrics.operation(op.type, op.op, 'ok')
  metrics.writeAcked(result.acks ?? 1, quorum)
  return { key, type: op.type, ...answeredValue(result), acks: result.acks, quorum, token: result.token }
}

export function registerKvRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { db, metrics } = deps
  app.post<{
    Params: { key: string }
    Querystring: WriteQuery
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
    async (request) =>
      writeAndRecord(deps, request.params.key, operationOf(request.body), {
        ...writeOptionsOf(request.query),
        idempotencyKey: request.headers['idempotency-key'],
        ...ttlOf(request.body),
      }),
  )

  app.get<{ Params: { key: string }; Querystring: { r?: string; token?: string; requireQuorum?: 'true' | 'false'; after?: string; limit?: string } }>(
    '/v1/kv/:key',
    { schema: { params: keyParamsSchema, querystring: readQuerySchema, response: readResponseSchema } },
    async (request, reply) => {
      const { key } = request.params
      const { r, token, requireQuorum, after, limit } = request.query
      let afterElement: JsonValue | undefined
      if (after !== undefined) {
        try {
          afterElement = JSON.parse(after) as JsonValue
        } catch {
          const { status, body } = failure(400, 'INVALID_REQUEST', 'after must be an element of the set as JSON text (e.g. after=%22apple%22 for "apple"); pass the `next` of the previous page')
          return reply.code(status).send(body)
        }
      }
      let found
      try {
        found = await db.get(key, {
          r: r === undefined ? undefined : Number(r),
          token,
          requireQuorum: requireQuorum === 'true',
          ...(afterElement === undefined ? {} : { after: afterElement }),
          ...(limit === undefined ? {} : { limit: Number(limit) }),
        })
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

  // Deletes the key, whatever its type (observed-remove: see the README's Data model).
  app.delete<{ Params: { key: string }; Querystring: WriteQuery; Headers: { 'idempotency-key'?: string } }>(
    '/v1/kv/:key',
    { schema: { params: keyParamsSchema, querystring: writeQuerySchema, headers: writeHeadersSchema, response: deleteResponseSchema } },
    async (request) => {
      let result
      try {
        result = await db.delete(request.params.key, { ...writeOptionsOf(request.query), idempotencyKey: request.headers['idempotency-key'] })
      } catch (err) {
        metrics.operation('key', 'delete', outcomeOf(err))
        if ((err as { code?: unknown }).code === 'QUORUM_NOT_MET') metrics.quorumMissed()
        throw err
      }
      metrics.operation('key', 'delete', result.replayed === true ? 'replayed' : 'ok')
      if (result.replayed !== true) metrics.writeAcked(result.acks ?? 1, result.quorum ?? true)
      return result
    },
  )

  // Ends a type conflict (a key written with different types on two sides of a partition).
  app.post<{ Params: { key: string }; Querystring: WriteQuery; Body: { keep: CrdtTypeName } }>(
    '/v1/kv/:key/resolve',
    { schema: { params: keyParamsSchema, querystring: writeQuerySchema, body: resolveBodySchema, response: resolveResponseSchema } },
    async (request) => db.resolve(request.params.key, request.body.keep, writeOptionsOf(request.query)),
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
