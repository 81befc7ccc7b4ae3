// The HTTP/JSON API of one node: `createHttpServer({ db })` → `{ app, listen, close }`.
// Loopback by default; any other address needs a bearer token. The server never opens or
// closes the database: its owner (the CLI, a test) does. Every answer that is not a
// success, the framework's own refusals included, is `{ error: { code, message } }`; a
// request must arrive within 30 s and a connection may sit idle for 60 s.
import { registerInviteRoute } from './routes-invite.js'
import { registerLeaveRoute } from './routes-leave.js'
import type { AddressInfo, Socket } from 'node:net'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { Logger } from 'pino'
import type { Database } from '../../src/index.js'
import { forComponent } from '../logger.js'
import { bearerTokenHook, checkBinding } from './auth.js'
import { CommitHealth } from './commit-health.js'
import { echo } from './echo.js'
import { failure, httpFailureOf, InvalidHttpOptionError, logLevelOf, type HttpFailure } from './errors.js'
import { createHttpMetrics, type HttpMetrics } from './metrics.js'
import { registerBatchRoutes } from './routes-batch.js'
import { registerClusterRoutes } from './routes-cluster.js'
import { registerKvRoutes } from './routes-kv.js'
import { registerWatchRoute } from './routes-watch.js'
import { registerOpsRoutes } from './routes-ops.js'
import { AJV_OPTIONS, formatSchemaError, MAX_BODY_BYTES, MAX_PARAM_LENGTH, noQuerySchema } from './schemas.js'

export const DEFAULT_HTTP_HOST = '127.0.0.1'
export const DEFAULT_HTTP_PORT = 7070
/** A request (headers and body) must arrive within this; a slow or stalled one gets 408 and is closed. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000
/** A connection with no traffic either way for this long is closed (an idle keep-alive, a client that stopped reading). */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000
/** close() waits this long for requests in flight, then closes their connections. */
export const CLOSE_GRACE_MS = 5_000

export interface HttpTimeouts {
  /** Time to receive a whole request, headers and body (default 30 s). */
  readonly requestMs?: number
  /** Time a connection may go without traffic either way (default 60 s). */
  readonly idleMs?: number
  /** Between comment lines on an idle change feed (GET /v1/watch), which keep it from looking idle (default 15 s). */
  readonly heartbeatMs?: number
}

export interface HttpServerOptions {
  readonly db: Database
  /** Address to bind (default 127.0.0.1). Anything but loopback requires `httpToken`. */
  readonly host?: string
  /** TCP port (default 7070; 0 picks a free one, which `listen()` reports). */
  readonly port?: number
  /** Bearer token every route but /healthz requires (`Authorization: Bearer <token>`). */
  readonly httpToken?: string
  /** Request logs go to a child of this pino logger tagged component: rumordb:http (at its level); false turns them off. Default: pino at info on stdout. */
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
  readonly timeouts?: HttpTimeouts
  /** Time source of /readyz's memory of failed commits (tests). */
  readonly now?: () => number
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
  const requestMs = options.timeouts?.requestMs ?? DEFAULT_REQUEST_TIMEOUT_MS
  const idleMs = options.timeouts?.idleMs ?? DEFAULT_IDLE_TIMEOUT_MS
  for (const [name, ms] of [['timeouts.requestMs', requestMs], ['timeouts.idleMs', idleMs]] as const) {
    if (!Number.isSafeInteger(ms) || ms < 1) throw new InvalidHttpOptionError(`${name} must be a positive integer number of milliseconds, got ${String(ms)}`)
  }

  const app = Fastify({
    ...(options.logger === false
      ? { logger: false }
      : options.logger === undefined
        ? { logger: { level: 'info', name: 'rumordb:http' } }
        : { loggerInstance: forComponent(options.logger, 'http') }),
    bodyLimit: MAX_BODY_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    ajv: { customOptions: AJV_OPTIONS },
    schemaErrorFormatter: formatSchemaError,
    requestTimeout: requestMs,
    connectionTimeout: idleMs,
    // Node looks for late requests every connectionsCheckingInterval (30 s by default):
    // often enough here that no request gets much more than its time.
    http: { headersTimeout: requestMs, connectionsCheckingInterval: Math.max(50, Math.min(Math.floor(requestMs / 4), 5_000)) },
    // A bad %-escape in the URL, a key too long for the router: in the API's error shape too.
    frameworkErrors: (err, request, reply) => sendFailure(request, reply, err),
    clientErrorHandler: (err, socket) => answerClientError(err, socket as Socket, requestMs, app.log),
  }) as unknown as FastifyInstance
  // Fastify parses text/plain bodies by default; this API takes JSON only (415 → 400 with a hint).
  app.removeContentTypeParser('text/plain')
  const metrics = createHttpMetrics(db, { processMetrics: options.processMetrics })

  const commits = new CommitHealth(db, options.now)

  // No route takes a query string it does not declare: `?verbose=1` is refused, not ignored.
  app.addHook('onRoute', (route) => {
    route.schema = { ...route.schema, querystring: route.schema?.querystring ?? noQuerySchema }
  })
  if (options.httpToken !== undefined) app.addHook('onRequest', bearerTokenHook(options.httpToken))
  app.addHook('onResponse', async (request, reply) => {
    metrics.request(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000)
  })
  app.setErrorHandler(async (err, request, reply) => {
    commits.noteFailure(err)
    return sendFailure(request, reply, err)
  })
  app.setNotFoundHandler(async (request, reply) => {
    const { status, body } = failure(
      404,
      'NOT_FOUND',
      `no route ${request.method} ${echo(request.url.split('?')[0] ?? '')}; the API is /v1/kv/:key, /v1/batch, /v1/keys, /v1/watch, /v1/members, /v1/status, /healthz, /readyz and /metrics`,
    )
    return reply.code(status).send(body)
  })

  registerKvRoutes(app, { db, metrics, commits })
  registerWatchRoute(app, db, options.timeouts?.heartbeatMs)
  registerBatchRoutes(app, { db, metrics, commits })
  registerClusterRoutes(app, { db })
  registerOpsRoutes(app, { db, metrics, commits, isNetworkReady })
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
      closing ??= (async () => {
        commits.close()
        // Requests in flight get CLOSE_GRACE_MS to finish; then their connections close too.
        const grace = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS)
        try {
          await app.close()
        } finally {
          clearTimeout(grace)
        }
      })()
      return closing
    },
  }
}

/** Answers `err` in the API's shape and logs it as loudly as it deserves (errors.ts logLevelOf). */
function sendFailure(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const failed: HttpFailure = httpFailureOf(err, request.routeOptions?.bodyLimit)
  const { status, body } = failed
  const line = `${body.error.code}: ${body.error.message}`
  switch (logLevelOf(err, failed)) {
    case 'debug':
      request.log.debug(`the client closed the connection mid-request (${(err as Error).message})`)
      break
    case 'error':
      request.log.error({ err }, line)
      break
    case 'warn':
      request.log.warn(line)
      break
    default:
      request.log.info(line)
  }
  return reply.code(status).send(body)
}

/**
 * Errors Node's HTTP parser raises before there is a request to answer (a request that did
 * not arrive in time, headers too large, not HTTP): written straight to the socket in the
 * API's shape; then the connection closes.
 */
function answerClientError(err: Error & { code?: string }, socket: Socket, requestMs: number, log: FastifyInstance['log']): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return
  const failed =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? failure(408, 'TIMEOUT', `the request did not arrive within ${requestMs / 1000} s; send the headers and the body without pausing`)
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? failure(431, 'INVALID_REQUEST', 'the request headers are too large')
        : failure(400, 'INVALID_REQUEST', 'the request is not valid HTTP/1.1')
  log.debug({ code: err.code }, `client error: ${failed.body.error.code}: ${failed.body.error.message}`)
  // Only when no answer was started on this connection: a second one would garble both.
  const answering = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage
  if (socket.writable && answering?.headersSent !== true) {
    const text = JSON.stringify(failed.body)
    socket.write(
      `HTTP/1.1 ${failed.status} ${STATUS_TEXT[failed.status] ?? 'Error'}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    )
  }
  socket.destroySoon()
}

const STATUS_TEXT: Readonly<Record<number, string>> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }
