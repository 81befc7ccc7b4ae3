// GET /v1/invite: a one-line invite for another node to join this cluster (the cluster
// secret and this node's addresses). Protected by the bearer token like every route but
// /healthz; on loopback without a token, anyone with a shell on this machine can ask.
import type { FastifyInstance } from 'fastify'
import { ClusterAccessError } from '../cluster-access.js'

const inviteResponseSchema = {
  200: { type: 'object', required: ['invite'], properties: { invite: { type: 'string' } } },
  409: {
    type: 'object',
    required: ['error'],
    properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
  },
} as const

export function registerInviteRoute(app: FastifyInstance, invite: () => string): void {
  app.get('/v1/invite', { schema: { response: inviteResponseSchema } }, async (_request, reply) => {
    try {
      return { invite: invite() }
    } catch (err) {
      // A local database or an open cluster has no secret to hand out: nothing is wrong
      // with the request. Anything else is the server's fault (500, logged).
      if (!(err instanceof ClusterAccessError)) throw err
      return reply.code(409).send({ error: { code: 'NO_INVITE', message: err.message } })
    }
  })
}
