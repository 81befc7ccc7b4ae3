// POST /v1/leave: the node leaves the cluster for good (the others show it `left` and move
// its key ranges), then shuts down. Registered only by a node process that can stop itself.
import type { FastifyInstance } from 'fastify'

const leaveResponseSchema = {
  202: { type: 'object', required: ['leaving'], properties: { leaving: { type: 'boolean' } } },
} as const

export function registerLeaveRoute(app: FastifyInstance, leave: () => void): void {
  app.post('/v1/leave', { schema: { response: leaveResponseSchema } }, async (request, reply) => {
    request.log.warn('leave requested over HTTP: this node leaves the cluster and stops')
    // Answered first: the shutdown closes this server.
    reply.code(202).send({ leaving: true })
    setImmediate(leave)
    return reply
  })
}
