// Rumors (EngineConfig.rumors): a write whose delta reached every preferred replica directly
// is not broadcast (that would only repeat it to every node); one that missed a replica
// (fallback, hint) is, so gossip can carry it around the broken link. Off, never.
import { describe, expect, it } from 'vitest'
import { preferenceList } from '../../src/cluster/ring/ring.js'
import { SimCluster } from '../../src/sim/cluster.js'

const SEED = Number(process.env.RUMORDB_TEST_SEED ?? 20261122)
const QUIET = { heartbeatIntervalMs: 60_000, antiEntropyIntervalMs: 1_000_000, handoffIntervalMs: 1_000_000 }
const KEY = 'k'

interface Heard {
  readonly sent: number
  readonly merged: number
  readonly ignored: number
  readonly replicas: number
  readonly acks: number
}

/** One increment through a coordinator that is not a replica of KEY, optionally with one replica cut off. */
async function writeOnce(rumors: boolean | undefined, cutReplica: boolean): Promise<Heard> {
  const c = new SimCluster({ seed: SEED, size: 6, preseedMembers: true, config: { ...QUIET, ...(rumors === undefined ? {} : { rumors }) } })
  await c.start()
  const probe = c.engine(c.ids[0]!)
  const preferred = preferenceList(probe.membership.ring().ring, KEY, 3)
  const coordinator = c.ids.find((id) => !preferred.includes(id))!
  if (cutReplica) c.net.partition([[preferred[2]!]])
  const result = await c.settle(c.engine(coordinator).write(KEY, { type: 'gcounter', op: 'increment', amount: 1 }))
  await c.runFor(5_000)
  let sent = 0
  let merged = 0
  let ignored = 0
  for (const id of c.ids) {
    const s = c.engine(id).status()
    sent += s.coordinator.rumorsSent
    merged += s.rumors.rumorsMerged
    ignored += s.rumors.rumorsIgnored
  }
  return { sent, merged, ignored, replicas: c.statesOf(KEY).filter((s) => s !== undefined).length, acks: result.acks }
}

describe(`rumors (seed ${SEED})`, () => {
  it('are not broadcast when the coordinator delivered to every replica itself', async () => {
    const r = await writeOnce(undefined, false)
    expect(r).toEqual({ sent: 0, merged: 0, ignored: 0, replicas: 3, acks: 2 })
  })

  it('are broadcast when a replica was cut off: every reachable node hears it', async () => {
    const r = await writeOnce(undefined, true)
    expect(r.sent).toBe(1)
    // 4 nodes besides the coordinator are reachable; the cut replica hears nothing.
    expect(r.merged + r.ignored).toBe(4)
    // The two reachable replicas, and the fallback that holds the hint, merge it.
    expect(r.merged).toBeGreaterThanOrEqual(2)
    expect(r.acks).toBe(2)
  })

  it('switched off, no node hears a rumor even when a replica was missed', async () => {
    const r = await writeOnce(false, true)
    expect(r).toMatchObject({ sent: 0, merged: 0, ignored: 0, acks: 2 })
  })
})
