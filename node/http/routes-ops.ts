// For operators and orchestrators: liveness, readiness and Prometheus metrics.
import type { FastifyInstance } from 'fastify'
import { failure } from './errors.js'
import type { RouteDeps } from './routes-kv.js'
import { okResponseSchema, readyResponseSchema } from './schemas.js'

/** A readiness check that has not answered by then counts as failing. */
export const READY_TIMEOUT_MS = 5_000

export interface OpsDeps extends RouteDeps {
  /** Whether the network side (libp2p) is up; absent for a node without one. */
  readonly isNetworkReady?: () => boolean | Promise<boolean>
}

type Check = 'sqlite' | 'network' | 'clock'

export function registerOpsRoutes(app: FastifyInstance, { db, metrics, commits, isNetworkReady }: OpsDeps): void {
  // Liveness: the process answers. Deliberately touches nothing else.
  app.get('/healthz', { schema: { response: okResponseSchema } }, async () => ({ ok: true }))

  app.get('/readyz', { schema: { response: readyResponseSchema } }, async (request, reply) => {
    const checks: [Check, () => Promise<void>][] = [
      [
        'sqlite',
        async () => {
          await db.checkWritable()
          // The probe's one small row may still commit on a full disk: real writes decide too.
          const problem = commits?.problem()
          if (problem !== undefined) throw new Error(problem)
        },
      ],
    ]
    if (isNetworkReady !== undefined) {
      checks.push([
        'network',
        async () => {
          if (!(await isNetworkReady())) throw new Error('the network is not ready (no listening transport or no peers joined yet)')
        },
      ])
    }
    if (db.networked) {
      checks.push([
        'clock',
        async () => {
          const problem = clockProblem(db)
          if (problem !== undefined) throw new Error(problem)
        },
      ])
    }
    const results = await Promise.all(checks.map(async ([name, check]) => [name, await settle(check)] as const))
    const failed = results.filter(([, err]) => err !== undefined)
    if (failed.length === 0) return { ok: true }
    const message = failed.map(([name, err]) => `${name}: ${err instanceof Error ? err.message : String(err)}`).join('; ')
    request.log.warn({ failing: failed.map(([name]) => name) }, `not ready: ${message}`)
    const { body } = failure(503, 'NOT_READY', message)
    return reply.code(503).send({ ok: false, failing: failed.map(([name]) => name), error: body.error })
  })

  app.get('/metrics', async (_request, reply) => {
    const text = await metrics.scrape()
    return reply.type(metrics.registry.contentType).send(text)
  })
}

/**
 * Why this node's clock keeps it from serving every write (it refuses register writes while
 * the cluster disagrees with it), or undefined. A closed database is the sqlite check's.
 */
function clockProblem(db: OpsDeps['db']): string | undefined {
  let status: ReturnType<OpsDeps['db']['status']>
  try {
    status = db.status()
  } catch {
    return undefined
  }
  if (!status.networked || !status.clock.off) return undefined
  const { offsetMs, maxOffsetMs, peersDisagreeing } = status.clock
  return (
    `this node's wall clock is ${Math.abs(offsetMs)} ms ${offsetMs >= 0 ? 'ahead of' : 'behind'} the cluster's ` +
    `(${peersDisagreeing} peers disagree by more than ${maxOffsetMs} ms): register writes are refused until it is fixed; sync it (NTP)`
  )
}

/** The error a check failed with (a timeout counts), or undefined when it passed. */
async function settle(check: () => Promise<void>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<Error>((resolve) => {
    timer = setTimeout(() => resolve(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS)
  })
  try {
    return await Promise.race([check().then(() => undefined, (err: unknown) => err ?? new Error('failed')), timeout])
  } finally {
    clearTimeout(timer)
  }
}
