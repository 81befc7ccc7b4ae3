// GET /v1/watch?prefix=&since=: the change feed (Database.watch) as Server-Sent Events.
// Each event is `id: <cursor>` and `data: { key, type, value, size?, deleted?, expired?,
// origin?, cursor }`; a client resumes after a cut by sending the last id as `since` (or as the
// Last-Event-ID header, which browsers' EventSource sends by itself). A comment line every
// HEARTBEAT_MS keeps an idle stream from being taken for a dead connection. The streams end
// when the server closes. A cursor from before what the node purged is refused with 410
// CURSOR_TOO_OLD, before the stream starts or, when a purge overtakes a slow stream, as a last
// `event: error` whose data is `{ error: { code, message } }`.
import { Readable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { CursorTooOldError, type Database, type FeedEvent } from '../../src/index.js'
import { MAX_ANSWERED_ELEMENTS } from './routes-kv.js'
import { watchQuerySchema } from './schemas.js'

/** Under the server's idle timeout (60 s by default) with room to spare. */
export const HEARTBEAT_MS = 15_000

export function registerWatchRoute(app: FastifyInstance, db: Database, heartbeatMs = HEARTBEAT_MS): void {
  const open = new Set<AsyncIterator<FeedEvent>>()
  // Before the server waits for requests in flight: a feed would never finish by itself.
  app.addHook('preClose', async () => {
    await Promise.all([...open].map((feed) => feed.return?.()))
  })
  app.get<{ Querystring: { prefix?: string; since?: string }; Headers: { 'last-event-id'?: string } }>(
    '/v1/watch',
    { schema: { querystring: watchQuerySchema } },
    async (request, reply) => {
      const since = request.query.since ?? request.headers['last-event-id']
      // A bad cursor throws here, before the stream starts: a 400 in the API's error shape.
      const feed = db.watch(request.query.prefix ?? '', since === undefined ? {} : { since })
      open.add(feed)
      const stream = Readable.from(events(feed, heartbeatMs, () => open.delete(feed)), { objectMode: false })
      // `connection: close`: when the feed ends (the server closes), so does the connection, at once.
      return reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache').header('connection', 'close').send(stream)
    },
  )
}

async function* events(feed: AsyncIterator<FeedEvent>, heartbeatMs: number, onEnd: () => void): AsyncGenerator<string> {
  try {
    yield ': rumordb change feed\n\n'
    let pending = feed.next()
    for (;;) {
      let timer: NodeJS.Timeout | undefined
      const beat = new Promise<'beat'>((resolve) => (timer = setTimeout(() => resolve('beat'), heartbeatMs)))
      let result: IteratorResult<FeedEvent> | 'beat'
      try {
        result = await Promise.race([pending, beat])
      } catch (err) {
        if (!(err instanceof CursorTooOldError)) throw err
        clearTimeout(timer)
        yield `event: error\ndata: ${JSON.stringify({ error: { code: err.code, message: err.message } })}\n\n`
        return
      }
      clearTimeout(timer)
      if (result === 'beat') {
        yield ': keep-alive\n\n'
        continue
      }
      if (result.done === true) return
      pending = feed.next()
      yield `id: ${result.value.cursor}\ndata: ${JSON.stringify(eventBody(result.value))}\n\n`
    }
  } finally {
    onEnd()
    await feed.return?.()
  }
}

/** An event as the API answers it: a set of more than MAX_ANSWERED_ELEMENTS elements gives its size only (read it in pages). */
function eventBody(e: FeedEvent): Record<string, unknown> {
  const big = e.size !== undefined && e.size > MAX_ANSWERED_ELEMENTS
  return {
    key: e.key,
    ...(e.deleted === true ? { deleted: true, ...(e.expired === true ? { expired: true } : {}) } : { type: e.type, ...(big ? {} : { value: e.value }) }),
    ...(e.size === undefined ? {} : { size: e.size }),
    ...(e.origin === undefined ? {} : { origin: e.origin }),
    cursor: e.cursor,
  }
}
