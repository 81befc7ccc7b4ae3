// Who may talk to the HTTP API. On loopback, anyone on this machine; anywhere else only
// holders of the bearer token, because the API reads and writes every key.
import { createHash, timingSafeEqual } from 'node:crypto'
import { BlockList, isIP } from 'node:net'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { HttpTokenRequiredError, InvalidHttpOptionError, failure } from './errors.js'

const loopback = new BlockList()
loopback.addSubnet('127.0.0.0', 8, 'ipv4')
loopback.addAddress('::1', 'ipv6')

/** 127.0.0.0/8, ::1 (IPv4-mapped forms included) and `localhost`. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  if (bare.toLowerCase() === 'localhost') return true
  const family = isIP(bare)
  if (family === 4) return loopback.check(bare, 'ipv4')
  if (family === 6) return loopback.check(bare, 'ipv6')
  return false
}

/** Throws unless the binding is loopback or protected by a token. */
export function checkBinding(host: string, token: string | undefined): void {
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) {
    throw new InvalidHttpOptionError('httpToken must be a non-empty string (--http-token <secret>)')
  }
  // It travels in `Authorization: Bearer TOKEN`: with a space, a control character or
  // non-ASCII text it could never match, and every request would get 401. Not echoed: a secret.
  if (token !== undefined && !/^[\x21-\x7e]+$/.test(token)) {
    throw new InvalidHttpOptionError('httpToken must be printable ASCII without spaces (--http-token <secret>, e.g. from `openssl rand -hex 32`)')
  }
  if (token === undefined && !isLoopbackHost(host)) throw new HttpTokenRequiredError(host)
}

/** Routes any caller may reach, token or not: liveness probes must not need a secret. */
const OPEN_ROUTES = new Set(['/healthz'])

/** An onRequest hook that answers 401 unless `Authorization: Bearer <token>` matches. */
export function bearerTokenHook(token: string): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  // Comparing digests keeps the comparison constant-time even when lengths differ.
  const expected = digest(token)
  return async (request, reply) => {
    if (OPEN_ROUTES.has(request.routeOptions.url ?? '')) return
    const presented = bearerOf(request.headers.authorization)
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) return
    const { status, body } = failure(
      401,
      'UNAUTHORIZED',
      presented === undefined
        ? 'this node requires a bearer token: send Authorization: Bearer <the --http-token of this node>'
        : 'the bearer token is wrong: send the --http-token this node was started with',
    )
    // Close the connection after the answer: the body of a request that was refused is
    // not worth reading, and a stranger must not be able to hold the socket open with it.
    await reply.code(status).header('www-authenticate', 'Bearer realm="rumordb"').header('connection', 'close').send(body)
  }
}

function bearerOf(header: string | undefined): string | undefined {
  const match = header === undefined ? null : /^Bearer +(\S+) *$/i.exec(header)
  return match?.[1]
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
