// Errors that cross the wire: a replica answers a request it refuses with an `error`
// response; the coordinator turns it back into the error the caller would have got locally.
import type { CrdtTypeName } from '../../../crdts/types.js'
import { ClockDriftError, CrdtDecodeError, InvalidValueError, ValueTooLargeError } from '../../../crdts/index.js'
import { ClockSkewError, FieldTypeMismatchError, RumorDbError, TypeMismatchError } from '../../base/errors.js'
import type { ErrorCode, ErrorResponse, Response } from '../../wire/messages.js'

export class RemoteError extends RumorDbError {
  constructor(
    readonly peer: string,
    readonly remoteCode: ErrorCode,
    message: string,
  ) {
    super(`REMOTE_${remoteCode}`, `peer ${peer} refused the request (${remoteCode}): ${message}`)
  }
}

const TYPE_IN_MESSAGE = /\((gcounter|pncounter|orset|lww|map)\)/
/** FieldTypeMismatchError's message: the field path, the type it holds and the one written. */
const FIELD_IN_MESSAGE = /map field ("(?:[^"\\]|\\.)*") holds [^(]*\((\w+)\), not [^(]*\((\w+)\)/
/** ClockSkewError's message: the offset and the limit. */
const SKEW_IN_MESSAGE = /wall clock is (\d+) ms (ahead of|behind) the cluster's \(limit (\d+) ms\)/

/** The error a caller sees for a replica's refusal (or an unexpected answer). */
export function errorFromResponse(peer: string, response: Response, key: string, requested: CrdtTypeName | undefined): Error {
  if (response.type !== 'error') return new RemoteError(peer, 'INTERNAL', `unexpected ${response.type} response`)
  switch (response.code) {
    case 'TYPE_MISMATCH': {
      const field = FIELD_IN_MESSAGE.exec(response.message)
      if (field !== null) return new FieldTypeMismatchError(key, (JSON.parse(field[1] as string) as string).split('.'), field[2] as CrdtTypeName, field[3] as CrdtTypeName)
      const existing = TYPE_IN_MESSAGE.exec(response.message)?.[1] as CrdtTypeName | undefined
      if (existing !== undefined && requested !== undefined && existing !== requested) return new TypeMismatchError(key, existing, requested)
      return new RemoteError(peer, response.code, response.message)
    }
    case 'INVALID_VALUE':
      return new InvalidValueError(response.message)
    case 'TOO_LARGE':
      return new ValueTooLargeError(response.message)
    case 'CLOCK_DRIFT': {
      // A replica whose own clock is off refused to apply a register write: it applied nothing.
      const skew = SKEW_IN_MESSAGE.exec(response.message)
      if (skew === null) return new RemoteError(peer, response.code, response.message)
      const offsetMs = Number(skew[1]) * (skew[2] === 'behind' ? -1 : 1)
      return new ClockSkewError(peer, offsetMs, Number(skew[3]))
    }
    default:
      return new RemoteError(peer, response.code, response.message)
  }
}

/** The `error` response for an exception thrown while serving a request. */
export function responseFromError(err: unknown): ErrorResponse {
  const message = (err instanceof Error ? err.message : String(err)).slice(0, 1024)
  if (err instanceof TypeMismatchError) return { type: 'error', code: 'TYPE_MISMATCH', message }
  if (err instanceof ValueTooLargeError) return { type: 'error', code: 'TOO_LARGE', message }
  if (err instanceof InvalidValueError || err instanceof RangeError) return { type: 'error', code: 'INVALID_VALUE', message }
  if (err instanceof ClockDriftError || err instanceof ClockSkewError) return { type: 'error', code: 'CLOCK_DRIFT', message }
  if (err instanceof CrdtDecodeError) return { type: 'error', code: 'BAD_REQUEST', message }
  return { type: 'error', code: 'INTERNAL', message }
}
