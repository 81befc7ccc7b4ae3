// Small rules the write and read paths share: how many replicas and acknowledgements a
// call uses, which failures mean "try another replica", and waiting for enough answers.
import { InvalidOptionError } from '../../base/errors.js'
import type { BatchExtras } from '../../replica/replica.js'
import { TransportError } from '../../transport/transport.js'
import { WireDecodeError } from '../../wire/errors.js'
import { DEFAULT_W } from './constants.js'
import { RemoteError } from '../messaging/remote-errors.js'

export function clampReplicas(n: number, members: number): number {
  return Math.max(1, Math.min(n, members))
}

/**
 * Acknowledgements a write waits for. A `w` the caller or the configuration asked for is
 * never lowered (with fewer replicas reachable the result says `quorum: false`); only the
 * default adapts to the cluster: 2, or 1 while this node is the only member.
 */
export function requiredAcks(w: number | undefined, n: number): number {
  if (w === undefined) return Math.min(DEFAULT_W, n)
  if (!Number.isSafeInteger(w) || w < 1) throw new InvalidOptionError(`w must be a positive integer, got ${String(w)}`)
  return w
}

export function mergeExtras(a: BatchExtras | undefined, b: BatchExtras | undefined): BatchExtras | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return { ...a, ...b, idempotency: [...(a.idempotency ?? []), ...(b.idempotency ?? [])] }
}

/**
 * Failures that say nothing about the request itself (unreachable, timed out, garbled, or
 * the replica could not serve it): the coordinator tries another replica. Anything else is
 * the caller's mistake and is thrown as it is.
 */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof TransportError || err instanceof WireDecodeError) return true
  return err instanceof RemoteError && (err.remoteCode === 'UNAVAILABLE' || err.remoteCode === 'INTERNAL' || err.remoteCode === 'BAD_REQUEST')
}

/** Resolves once `done()` holds after some promise settled, or when all have settled. */
export async function untilCount(promises: Promise<unknown>[], done: () => boolean): Promise<void> {
  if (done() || promises.length === 0) return
  await new Promise<void>((resolve) => {
    let settled = 0
    const check = (): void => {
      settled++
      if (done() || settled === promises.length) resolve()
    }
    for (const p of promises) p.then(check, check)
  })
}

