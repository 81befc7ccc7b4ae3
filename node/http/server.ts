// The HTTP/JSON API of one node: `createHttpServer({ db })` → `{ app, listen, close }`.
// Loopback by default; any other address needs a bearer token. The server never opens or
// closes the database: its owner (the CLI, a test) does.
import { registerInviteRoute } from './routes-invite.js'
import { registerLeaveRoute } from './routes-leave.js'
import type { AddressInfo } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import type { Database } from '../../src/index.js'
import { bearerTokenHook, checkBinding } from './auth.js'
import { failure, httpFailureOf, InvalidHttpOptionError } from './errors.js'
import { createHttpMetrics, type HttpMetrics } from './metrics.js'
import { registerBatchRoutes } from './routes-batch.js'
import { registerClusterRoutes } from './routes-cluster.js'
import { registerKvRoutes } from './routes-kv.js'
import { registerOpsRoutes } from './routes-ops.js'
import { AJV_OPTIONS, formatSchemaError, MAX_BODY_BYTES, MAX_PARAM_LENGTH } from './schemas.js'

export const DEFAULT_HTTP_HOST = '127.0.0.1'
export const DEFAULT_HTTP_PORT = 7070

export interface HttpServerOptions {
  readonly db: Database
  /** Address to bind (default 127.0.0.1). Anything but loopback requires `httpToken`. */
  readonly host?: string
  /** TCP port (default 7070; 0 picks a free one, which `listen()` reports). */
  readonly port?: number
  /** Bearer token every route but /healthz requires (`Authorization: Bearer <token>`). */
  readonly httpToken?: string
  /** Request logs go to this pino logger (at its level); false turns them off. Default: pino at info on stdout. */
  readonly logger?: Logger | false
  /** Extra readiness check for /readyz (e.g. the libp2p node is listening). */
  readonly isNetworkReady?: () => boolean | Promise<boolean>
  /** Export process_* and nodejs_* metrics on /metrics (default true). */
  readonly processMetrics?: boolean
  /** More routes, registered after the API's (the fault-injection entry adds POST /v1/_faults). */
  readonly extraRoutes?: (app: FastifyInstance) => void
  /** Serves POST /v1/leave: called once the answer left; the node leaves the cluster and stops. */
  readonly onLeave?: () => void
  /** Serves GET /v1/invite: an invite for another node to join this cluster. */
  readonly invite?: () => string
}

export interface HttpServer {
  readonly app: FastifyInstance
  readonly metrics: HttpMetrics
  /** Starts listening; the url carries the real port. */
  listen(): Promise<{ url: string }>
  /** Stops accepting requests and closes idle connections. Idempotent. Leaves the database open. */
  close(): Promise<void>
}

export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { db, isNetworkReady } = options
  const host = options.host ?? DEFAULT_HTTP_HOST
  const port = options.port ?? DEFAULT_HTTP_PORT
  if (typeof host !== 'string' || host.length === 0) throw new InvalidHttpOptionError('host must be an address to bind, e.g. 127.0.0.1')
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidHttpOptionError(`port must be an integer from 0 to 65535 (0 picks a free one), got ${String(port)}`)
  }
  checkBinding(host, options.httpToken)

  const app = Fastify({
    ...(options.logger === false
      ? { logger: false }
      : options.logger === undefined
        ? { logger: { level: 'info', name: 'rumordb:http' } }
        : { loggerInstance: options.logger.child({ component: 'rumordb:http' }) }),
    bodyLimit: MAX_BODY_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    ajv: { customOptions: AJV_OPTIONS },
    schemaErrorFormatter: formatSchemaError,
  }) as unknown as FastifyInstance
  // Fastify parses text/plain bodies by default; this API takes JSON only (415 → 400 with a hint).
  app.removeContentTypeParser('text/plain')
  const metrics = createHttpMetrics(db, { processMetrics: options.processMetrics })

  if (options.httpToken !== undefined) app.addHook('onRequest', bearerTokenHook(options.httpToken))
  app.addHook('onResponse', async (request, reply) => {
    metrics.request(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
  })
  app.setErrorHandler(async (err, request, reply) => {
    const { status, body } = httpFailureOf(err, request.routeOptions.bodyLimit)
    if (status >= 500) request.log.error({ err }, `${body.error.code}: ${body.error.message}`)
    else request.log.info(`${body.error.code}: ${body.error.message}`)
    return reply.code(status).send(body)
  })
  app.setNotFoundHandler(async (request, reply) => {
    const { status, body } = failure(
      404,
      'NOT_FOUND',
      `no route ${request.method} ${request.url.split('?')[0] ?? ''}; the API is /v1/kv/:key, /v1/batch, /v1/keys, /v1/members, /v1/status, /healthz, /readyz and /metrics`,
    )
    return reply.code(status).send(body)
  })

  registerKvRoutes(app, { db, metrics })
  registerBatchRoutes(app, { db, metrics })
  registerClusterRoutes(app, { db })
  registerOpsRoutes(app, { db, metrics, isNetworkReady })
  if (options.onLeave !== undefined) registerLeaveRoute(app, options.onLeave)
  if (options.invite !== undefined) registerInviteRoute(app, options.invite)
  options.extraRoutes?.(app)

  let closing: Promise<void> | undefined
  return {
    app,
    metrics,
    async listen() {
      await app.listen({ host, port })
      const address = app.server.address() as AddressInfo
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
      return { url: `http://${shown}:${address.port}` }
    },
    close() {
      closing ??= app.close()
      return closing
    },
  }
}
