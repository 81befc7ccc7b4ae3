// POST /v1/_faults { "block": [peer ids] } replaces the node's block list ({ "block": [] }
// heals). Registered only on a node started with fault injection on.
import type { FastifyInstance } from 'fastify'
import { MAX_BLOCKED_PEERS, type FaultInjector } from './fault-injector.js'

const faultsBodySchema = {
  type: 'object',
  required: ['block'],
  additionalProperties: false,
  properties: {
    block: { type: 'array', maxItems: MAX_BLOCKED_PEERS, items: { type: 'string', minLength: 1, maxLength: 256 } },
  },
} as const

const faultsResponseSchema = {
  200: {
    type: 'object',
    required: ['blocked'],
    properties: { blocked: { type: 'array', items: { type: 'string' } } },
  },
} as const

export function registerFaultRoutes(app: FastifyInstance, faults: FaultInjector): void {
  app.post<{ Body: { block: string[] } }>('/v1/_faults', { schema: { body: faultsBodySchema, response: faultsResponseSchema } }, async (request) => {
    const blocked = faults.block(request.body.block)
    request.log.warn({ blocked }, 'fault injection: block list replaced')
    return { blocked }
  })
  app.get('/v1/_faults', { schema: { response: faultsResponseSchema } }, async () => ({ blocked: faults.blockedPeers() }))
}
