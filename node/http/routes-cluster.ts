// The cluster as this node sees it: members (itself included) and engine counters.
import type { FastifyInstance } from 'fastify'
import type { RouteDeps } from './routes-kv.js'
import { membersResponseSchema, statusResponseSchema, syncResponseSchema } from './schemas.js'
import { statusView } from './status-view.js'

export function registerClusterRoutes(app: FastifyInstance, { db }: Pick<RouteDeps, 'db'>): void {
  app.get('/v1/members', { schema: { response: membersResponseSchema } }, async () => {
    const { self, members } = db.members()
    return { self, members: members.map((m) => ({ id: m.id, addrs: [...m.addrs], status: m.status, vnodes: m.vnodes })) }
  })

  app.get('/v1/status', { schema: { response: statusResponseSchema } }, async () => statusView(db.status()))

  // "Am I synced?": digests per replica set (equal on nodes holding the same keys); per
  // peer, whether it is in sync now and why not; keys anti-entropy could not reconcile.
  app.get('/v1/sync', { schema: { response: syncResponseSchema } }, async () => {
    const s = db.syncStatus()
    return {
      digest: s.digest,
      keys: s.keys,
      ranges: s.ranges.map((r) => ({ replicas: [...r.replicas], keys: r.keys, digest: r.digest })),
      peers: s.peers.map((p) => ({
        id: p.id,
        status: p.status,
        inSync: p.inSync,
        ...(p.reason === undefined ? {} : { reason: p.reason }),
        ...(p.lastExchange === undefined ? {} : { lastExchange: new Date(p.lastExchange).toISOString() }),
        pendingHints: p.pendingHints,
      })),
      synced: s.synced,
      ...(s.reason === undefined ? {} : { reason: s.reason }),
      unreconciled: s.unreconciled.map((u) => ({ key: u.key, reason: u.reason, peer: u.peer, since: new Date(u.since).toISOString() })),
    }
  })
}
