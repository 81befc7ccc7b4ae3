// The table from thrown errors to HTTP answers, including errors that a local database
// never throws (QUORUM_NOT_MET needs a cluster, OUTCOME_UNKNOWN a replica that vanished).
import { describe, expect, it } from 'vitest'
import {
  DatabaseClosedError,
  IdempotencyUnavailableError,
  InvalidKeyError,
  InvalidOptionError,
  InvalidTokenError,
  InvalidValueError,
  QuorumNotMetError,
  StaleReadError,
  TypeMismatchError,
  ValueTooLargeError,
  WriteOutcomeUnknownError,
} from '../../src/index.js'
import { httpFailureOf } from '../../node/http/errors.js'

describe('httpFailureOf', () => {
  it.each([
    ['QuorumNotMetError', new QuorumNotMetError('k', 1, 2), 503, 'QUORUM_NOT_MET'],
    ['TypeMismatchError', new TypeMismatchError('k', 'orset', 'lww'), 409, 'TYPE_MISMATCH'],
    ['StaleReadError', new StaleReadError('k'), 503, 'STALE_READ'],
    ['WriteOutcomeUnknownError', new WriteOutcomeUnknownError('k', 'peer-b'), 504, 'OUTCOME_UNKNOWN'],
    ['IdempotencyUnavailableError', new IdempotencyUnavailableError('k', 1, 2), 503, 'IDEMPOTENCY_UNAVAILABLE'],
    ['ValueTooLargeError', new ValueTooLargeError('the value is 70000 bytes, over 65536'), 413, 'TOO_LARGE'],
    ['InvalidKeyError', new InvalidKeyError('the key is empty'), 400, 'INVALID_REQUEST'],
    ['InvalidTokenError', new InvalidTokenError('garbled'), 400, 'INVALID_TOKEN'],
    ['InvalidOptionError', new InvalidOptionError('w must be positive'), 400, 'INVALID_REQUEST'],
    ['InvalidValueError', new InvalidValueError('a function is not JSON'), 400, 'INVALID_REQUEST'],
    ['RangeError (amount)', new RangeError('amount must be a non-negative safe integer'), 400, 'INVALID_REQUEST'],
    ['DatabaseClosedError', new DatabaseClosedError(), 503, 'UNAVAILABLE'],
    ['an unexpected Error', new Error('disk on fire'), 500, 'INTERNAL'],
    ['a thrown string', 'oops', 500, 'INTERNAL'],
  ] as const)('maps %s to %i %s', (_name, err, status, code) => {
    const failure = httpFailureOf(err)
    expect(failure.status).toBe(status)
    expect(failure.body.error.code).toBe(code)
    expect(failure.body.error.message.length).toBeGreaterThan(0)
    expect(failure.body.error.message).not.toMatch(/\n\s+at /)
  })

  it('puts acks and required in a QUORUM_NOT_MET body', () => {
    const err = new QuorumNotMetError('visits', 1, 3)
    expect(httpFailureOf(err)).toEqual({ status: 503, body: { error: { code: 'QUORUM_NOT_MET', message: err.message, acks: 1, required: 3 } } })
  })

  it('keeps the message but never the stack of an internal error', () => {
    const err = new Error('disk on fire')
    expect(httpFailureOf(err).body).toEqual({ error: { code: 'INTERNAL', message: 'disk on fire' } })
  })

  it('maps fastify client errors to 400 and its body limit to 413, even though the latter is a RangeError', () => {
    const tooLarge = Object.assign(new RangeError('Request body is too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 })
    expect(httpFailureOf(tooLarge).status).toBe(413)
    expect(httpFailureOf(tooLarge).body.error.code).toBe('TOO_LARGE')
    const media = Object.assign(new Error('Unsupported Media Type'), { code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', statusCode: 415 })
    expect(httpFailureOf(media)).toEqual({
      status: 400,
      body: { error: { code: 'INVALID_REQUEST', message: expect.stringContaining('Content-Type: application/json') } },
    })
    // A statusCode alone (not fastify's) does not make an error a client error.
    expect(httpFailureOf(Object.assign(new Error('upstream'), { statusCode: 404 })).status).toBe(500)
  })
})
