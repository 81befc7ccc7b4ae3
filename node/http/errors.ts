// How the HTTP API reports failures: one JSON shape, `{ error: { code, message } }`, the
// framework's own refusals included, one table from the database's named errors to status
// codes, and how loudly each is logged. Pure, so the table is tested without a server
// (some errors, like QUORUM_NOT_MET, need a cluster to happen).
import {
  ClockSkewError,
  IdempotencyUnavailableError,
  CursorTooOldError,
  InvalidCursorError,
  InvalidKeyError,
  InvalidOptionError,
  InvalidTokenError,
  InvalidValueError,
  QuorumNotMetError,
  StaleReadError,
  TypeConflictError,
  TypeMismatchError,
  ValueTooLargeError,
  WriteOutcomeUnknownError,
} from '../../src/index.js'
import { clip, echo } from './echo.js'
import { MAX_BODY_BYTES, MAX_PARAM_LENGTH } from './schemas.js'

export type ErrorCode =
  | 'INVALID_REQUEST'
  | 'INVALID_TOKEN'
  | 'INVALID_CURSOR'
  | 'CURSOR_TOO_OLD'
  | 'UNAUTHORIZED'
  | 'NOT_FOUND'
  | 'TYPE_MISMATCH'
  | 'TYPE_CONFLICT'
  | 'TOO_LARGE'
  | 'QUORUM_NOT_MET'
  | 'STALE_READ'
  | 'OUTCOME_UNKNOWN'
  | 'IDEMPOTENCY_UNAVAILABLE'
  | 'CLOCK_SKEW'
  | 'UNAVAILABLE'
  | 'NOT_READY'
  | 'TIMEOUT'
  | 'INTERNAL'

export interface ErrorBody {
  readonly error: {
    readonly code: ErrorCode
    readonly message: string
    /** QUORUM_NOT_MET only: replicas that acknowledged, and how many were required. */
    readonly acks?: number
    readonly required?: number
    /** TYPE_CONFLICT only: every side's type and value. */
    readonly values?: readonly { readonly type: string; readonly value: unknown }[]
  }
}

export interface HttpFailure {
  readonly status: number
  readonly body: ErrorBody
}

/** createHttpServer refuses to expose the database beyond this machine without a token. */
export class HttpTokenRequiredError extends Error {
  readonly code = 'HTTP_TOKEN_REQUIRED'
  constructor(host: string) {
    super(
      `refusing to serve the HTTP API on ${JSON.stringify(host)} without a token: anyone who can reach that address could ` +
        'read and write every key; pass --http-token <secret> (createHttpServer({ httpToken })) or bind to 127.0.0.1',
    )
    this.name = 'HttpTokenRequiredError'
  }
}

/** A createHttpServer option that cannot work (a bad port, an empty token, …). */
export class InvalidHttpOptionError extends Error {
  readonly code = 'INVALID_HTTP_OPTION'
  constructor(reason: string) {
    super(reason)
    this.name = 'InvalidHttpOptionError'
  }
}

export function failure(status: number, code: ErrorCode, message: string): HttpFailure {
  return { status, body: { error: { code, message } } }
}

/** Error codes that mean the client hung up: nobody reads the answer any more. */
const CLIENT_GONE_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE'])

/** Whether the error only says that the client closed the connection mid-request. */
export function isClientAbort(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null
  return (typeof e?.code === 'string' && CLIENT_GONE_CODES.has(e.code)) || e?.message === 'aborted'
}

export type FailureLogLevel = 'debug' | 'info' | 'warn' | 'error'

/**
 * How loudly a failure is logged: a client that hung up at debug, a request this API
 * refused (4xx) at info, an expected refusal of an available system (STALE_READ,
 * QUORUM_NOT_MET, OUTCOME_UNKNOWN, IDEMPOTENCY_UNAVAILABLE, CLOCK_SKEW, UNAVAILABLE) at
 * warn, all three without a stack; only INTERNAL, a bug or a broken disk, at error with it.
 */
export function logLevelOf(err: unknown, { status, body }: HttpFailure): FailureLogLevel {
  if (isClientAbort(err)) return 'debug'
  if (body.error.code === 'INTERNAL') return 'error'
  return status >= 500 ? 'warn' : 'info'
}

/** Codes of errors that mean "this node is shutting down", from the database and its store. */
const CLOSED_CODES = new Set(['CLOSED', 'STORE_CLOSED'])

/**
 * The status and body for an error thrown while serving a request. STALE_READ is 503 (the
 * write is not here yet: retry later or elsewhere); OUTCOME_UNKNOWN is 504 (a replica this
 * node was waiting on stopped answering, as a gateway timeout: retry with the same
 * Idempotency-Key). CLOCK_SKEW is 503: a node whose clock is off the cluster's refused a
 * register write and wrote nothing; retry once its clock is fixed. `bodyLimitBytes` is the
 * limit of the route that refused a body.
 */
export function httpFailureOf(err: unknown, bodyLimitBytes: number = MAX_BODY_BYTES): HttpFailure {
  if (isClientAbort(err)) return failure(400, 'INVALID_REQUEST', 'the client closed the connection before the request was complete')
  // Fastify's own errors first: some of them (body too large) are RangeErrors.
  const frameworkStatus = frameworkStatusOf(err)
  const frameworkCode = codeOf(err)
  if (frameworkCode === 'FST_ERR_BAD_URL') {
    const url = /^'(.*)' is not a valid url component$/s.exec((err as Error).message)?.[1]
    return failure(
      400,
      'INVALID_REQUEST',
      `the URL${url === undefined ? '' : ` ${echo(url)}`} has a %-escape that is not UTF-8 text; percent-encode keys with encodeURIComponent`,
    )
  }
  if (frameworkCode === 'FST_ERR_MAX_PARAM_LENGTH') {
    return failure(
      414,
      'INVALID_REQUEST',
      `the key in the URL is over ${MAX_PARAM_LENGTH.toLocaleString('en-US')} characters; keys are at most 1,024 UTF-8 bytes, percent-encoded with encodeURIComponent`,
    )
  }
  if (frameworkStatus === 413) {
    const limit = `${Math.round((bodyLimitBytes / (1024 * 1024)) * 100) / 100} MiB`
    return failure(413, 'TOO_LARGE', `the request body is over the ${limit} limit; elements and values may be at most 64 KiB`)
  }
  if (frameworkStatus !== undefined && frameworkStatus >= 400 && frameworkStatus < 500) {
    return failure(400, 'INVALID_REQUEST', describeClientError(err as Error & { code?: string }))
  }
  if (err instanceof QuorumNotMetError) {
    return { status: 503, body: { error: { code: 'QUORUM_NOT_MET', message: err.message, acks: err.acks, required: err.required } } }
  }
  if (err instanceof TypeMismatchError) return failure(409, 'TYPE_MISMATCH', err.message)
  if (err instanceof TypeConflictError) {
    return { status: 409, body: { error: { code: 'TYPE_CONFLICT', message: err.message, values: err.values } } }
  }
  if (err instanceof StaleReadError) return failure(503, 'STALE_READ', err.message)
  if (err instanceof WriteOutcomeUnknownError) return failure(504, 'OUTCOME_UNKNOWN', err.message)
  // Nothing was applied by this request; the same Idempotency-Key may be retried later.
  if (err instanceof IdempotencyUnavailableError) return failure(503, 'IDEMPOTENCY_UNAVAILABLE', err.message)
  if (err instanceof ClockSkewError) return failure(503, 'CLOCK_SKEW', err.message)
  // Before RangeError: ValueTooLargeError is one.
  if (err instanceof ValueTooLargeError) return failure(413, 'TOO_LARGE', err.message)
  // Its own code: a client that kept a token it cannot use should drop it, not fix the request.
  if (err instanceof InvalidTokenError) return failure(400, 'INVALID_TOKEN', err.message)
  if (err instanceof InvalidCursorError) return failure(400, 'INVALID_CURSOR', err.message)
  // Gone: the changes after the cursor are not all there any more; read the keys again.
  if (err instanceof CursorTooOldError) return failure(410, 'CURSOR_TOO_OLD', err.message)
  if (
    err instanceof InvalidKeyError ||
    err instanceof InvalidOptionError ||
    err instanceof InvalidValueError ||
    err instanceof RangeError
  ) {
    return failure(400, 'INVALID_REQUEST', err.message)
  }
  const code = codeOf(err)
  if (code !== undefined && CLOSED_CODES.has(code)) {
    return failure(503, 'UNAVAILABLE', 'this node is shutting down; send the request to another node or retry when it is back')
  }
  return failure(500, 'INTERNAL', err instanceof Error ? err.message : 'internal error')
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' ? code : undefined
}

/** The status of an error fastify raised (bad JSON, schema failure, body too large, …). */
function frameworkStatusOf(err: unknown): number | undefined {
  const e = err as { statusCode?: unknown; validation?: unknown } | null
  const fromFastify = codeOf(err)?.startsWith('FST_') === true || e?.validation !== undefined
  return fromFastify && typeof e?.statusCode === 'number' ? e.statusCode : undefined
}

/** Fastify's own messages, with the fix spelled out where the default says too little. */
function describeClientError(err: Error & { code?: string }): string {
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'the request body must be JSON: send it with Content-Type: application/json'
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return 'the request body is empty: send a JSON object such as {"type":"pncounter","op":"increment"}'
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return `the request body is not valid JSON (${clip(err.message)})`
    default:
      return clip(err.message)
  }
}
