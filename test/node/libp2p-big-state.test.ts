// A state above the 4 MiB frame limit reconciles over real libp2p (127.0.0.1): the
// stream channels refuse any frame above MAX_STREAM_FRAME_BYTES, so this proves that what
// carries it fits: anti-entropy's page list and page answers (at most 1 MiB each), or,
// with sets not listed by pages, the messenger's parts (1 MiB each). A builds a 4.5 MB OR-set alone
// (it is then the key's only replica); B joins, becomes a replica, and gets the state by
// anti-entropy; a read with r = 2 at B answers from both (retried while A's answer misses
// the read's deadline on a loaded machine).
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openDatabase, type NetworkedDatabase } from '../../node/index.js'
import { MAX_FRAME_BYTES } from '../../src/wire/limits.js'
import { ORSet, type ORSetState } from '../../crdts/index.js'
import type { EngineConfig } from '../../src/cluster/engine.js'
import { until } from '../support/waits.js'

const LOOPBACK = ['/ip4/127.0.0.1/tcp/0']
const FAST = { heartbeatIntervalMs: 200, antiEntropyIntervalMs: 300, handoffIntervalMs: 300 }
const ELEMENTS = 75
const ELEMENT_CHARS = 60_000
const dirs: string[] = []
const dbs: NetworkedDatabase[] = []

function element(i: number): string {
  const head = `element-${i}:`
  return head + 'x'.repeat(ELEMENT_CHARS - head.length)
}

afterAll(async () => {
  await Promise.all(dbs.map((d) => d.close()))
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

describe('a state above one frame on libp2p', () => {
  it('reaches a node that joins later by its page list, in answers that each fit a frame', async () => {
    const { sent, received } = await bigSetToJoiner(FAST)
    console.log(`b received ${received.messages.bytesReceived} bytes`)
    // Once: both ends start a round when b joins, and b fetches the set from a only once (8.6 MB before).
    expect(received.messages.bytesReceived).toBeLessThan(1.5 * ELEMENTS * ELEMENT_CHARS)
    // Each 60 KB element ends a page of its own, and b asked a for every page, in answers of
    // at most 1 MiB (page-lists.ts).
    expect(received.antiEntropy.pagesReceived).toBeGreaterThanOrEqual(ELEMENTS)
    expect(received.antiEntropy.pageBytesReceived).toBeGreaterThan(MAX_FRAME_BYTES)
    expect(sent.messages.largeSent).toBe(0)
  }, 120_000)

  it('reaches it whole, in parts of 1 MiB, when sets are not listed by pages', async () => {
    const { sent, received } = await bigSetToJoiner({ ...FAST, listPagesFromBytes: Number.MAX_SAFE_INTEGER })
    expect(received.messages.largeReceived).toBeGreaterThanOrEqual(1)
    expect(sent.messages.largeSent).toBeGreaterThanOrEqual(1)
    expect(received.antiEntropy.pagesReceived).toBe(0)
  }, 120_000)
})

/** A builds the set alone; B joins and gets it by anti-entropy; then reads with r = 2 at B. Returns both nodes' status. */
async function bigSetToJoiner(engine: EngineConfig) {
  const base = mkdtempSync(join(tmpdir(), 'rumordb-big-'))
  dirs.push(base)
  const a = await openDatabase({ dataDir: join(base, 'a'), network: { listen: LOOPBACK, mdns: false }, engine })
  dbs.push(a)
  const built = Date.now()
  for (let i = 0; i < ELEMENTS; i++) await a.set('big').add(element(i))
  console.log(`built ${ELEMENTS} elements of ${ELEMENT_CHARS} bytes on a in ${Date.now() - built} ms`)

  const joined = Date.now()
  const b = await openDatabase({ dataDir: join(base, 'b'), network: { listen: LOOPBACK, mdns: false, join: a.invite() }, engine })
  dbs.push(b)
  // In b's own replica: a read with r = 1 may be answered by a (the key's first replica).
  const local = (): string[] => {
    const state = b.replica.read('big')?.state as ORSetState | undefined
    return state === undefined ? [] : (ORSet.value(state) as string[])
  }
  await until(async () => local().length === ELEMENTS, 'b to hold the whole set locally')
  console.log(`b got the set in ${Date.now() - joined} ms after it opened`)

  const sent = a.status()
  const received = b.status()
  if (!sent.networked || !received.networked) throw new Error('not networked')
  expect(received.antiEntropy.oversizedStates).toBe(0)
  // The state is larger than any frame the channels take, and none was refused.
  const stored = local()
  expect(stored.reduce((n, e) => n + e.length, 0)).toBeGreaterThan(MAX_FRAME_BYTES)
  expect(a.transport!.counters().requestsRefused).toBe(0)
  expect(b.transport!.counters().requestsRefused).toBe(0)

  // A read with r = 2 asks a too (its answer lists the set by its pages, which b holds). On a loaded machine a's
  // answer can miss the read's deadline: the read then says it joined 1 replica (honest, and
  // checked here), and a later read joins both.
  const reads: number[] = []
  await until(async () => {
    const read = await b.get('big', { r: 2 })
    expect((read?.value as unknown[]).length).toBe(ELEMENTS)
    reads.push(read?.replicas ?? 0)
    expect([1, 2]).toContain(read?.replicas)
    return read?.replicas === 2
  }, 'a read with r = 2 at b to join both replicas', 60_000)
  console.log(`replicas joined by each r = 2 read until both answered: ${reads.join(', ')}`)
  return { sent, received }
}
