// The cluster as this node sees it: members (itself included) and engine counters.
import type { FastifyInstance } from 'fastify'
import type { RouteDeps } from './routes-kv.js'
import { membersResponseSchema, statusResponseSchema } from './schemas.js'
import { statusView } from './status-view.js'

export function registerClusterRoutes(app: FastifyInstance, { db }: Pick<RouteDeps, 'db'>): void {
  app.get('/v1/members', { schema: { response: membersResponseSchema } }, async () => {
    const { self, members } = db.members()
    return { self, members: members.map((m) => ({ id: m.id, addrs: [...m.addrs], status: m.status, vnodes: m.vnodes })) }
  })

  app.get('/v1/status', { schema: { response: statusResponseSchema } }, async () => statusView(db.status()))
}
