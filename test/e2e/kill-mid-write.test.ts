// Four `rumordb start` processes on loopback (n = 3). B, the first replica of a key, is
// frozen (SIGSTOP) while A coordinates a write to it, then killed (SIGKILL); retries go
// through C while B is down, then through C and A once B is back from its data directory.
// The unkeyed write's key leaves A out of its replicas: a replica would apply it itself,
// and only a write forwarded to B can meet B's failure. D is a fourth member, so such keys
// exist.
// The promises checked: a write with an Idempotency-Key is applied at most once whichever
// node a retry goes through; while its applier is down a retry answers 504 OUTCOME_UNKNOWN
// or 503 IDEMPOTENCY_UNAVAILABLE; once it is back a retry returns the first result or
// applies it once. A write without a key is never applied at a second replica after an
// ambiguous failure: 504 OUTCOME_UNKNOWN, and never two increments in the end.
//
// Two orders: B killed with the write queued in its sockets (it never applied it), and B
// applying the write after A gave up on it, then killed before anyone heard of it (the
// crash between commit and answer, as the coordinator and the client see it: B's answer
// found nobody waiting). Measured answers and times are printed.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually, NodeProcess } from './node-process.js'
import { allAlive, allSynced, call, counters, freeze, holdsLocally, keyFirstOn, ringOf, stopAll, summary, thaw, type Answer } from './process-helpers.js'

/** Members; every key has 3 replicas (the default n). */
const N = 4
const REPLICAS = 3
const ADD_7 = { type: 'pncounter', op: 'increment', amount: 7 }
const ADD_1 = { type: 'pncounter', op: 'increment', amount: 1 }
const UNKNOWN = '504 OUTCOME_UNKNOWN'
const UNAVAILABLE = '503 IDEMPOTENCY_UNAVAILABLE'
/** Limits for a loaded 2-core machine; on an idle one each wait ends in a few seconds. */
const WAIT_MS = 60_000

let dir: string
let a: NodeProcess
let b: NodeProcess
let c: NodeProcess
let d: NodeProcess

const nodes = (): NodeProcess[] => [a, b, c, d]
const since = (start: number): number => Math.round(performance.now() - start)
const report = (line: string): void => console.log(`[kill-mid-write] ${line}`)

function keyedWrite(node: NodeProcess, key: string, idempotencyKey: string): Promise<Answer> {
  return call(node, 'POST', `/v1/kv/${encodeURIComponent(key)}`, { body: ADD_7, headers: { 'idempotency-key': idempotencyKey } })
}

function plainWrite(node: NodeProcess, key: string): Promise<Answer> {
  return call(node, 'POST', `/v1/kv/${encodeURIComponent(key)}`, { body: ADD_1 })
}

/** The counter's value read from all three replicas through `node`; 0 when no replica has it. */
async function readAll(node: NodeProcess, key: string): Promise<number> {
  const answer = await call(node, 'GET', `/v1/kv/${encodeURIComponent(key)}?r=${REPLICAS}`)
  if (answer.status === 404) return 0
  expect(answer.status, JSON.stringify(answer.body)).toBe(200)
  return answer.body.value as number
}

/** B running (restarted on its data directory: same peer id) and every node seeing three members alive. */
async function bringBackB(): Promise<{ readyMs: number; aliveMs: number }> {
  const start = performance.now()
  if (!b.running) await b.start()
  thaw(b)
  const readyMs = since(start)
  await eventually(() => allAlive(nodes(), N), 'every node to see four members alive', WAIT_MS)
  return { readyMs, aliveMs: since(start) }
}

/**
 * After B's kill: a retry through C while B is down, B back, retries through C and A, then
 * anti-entropy settles and every node reads the key's value from all replicas: 7, once.
 */
async function retriesUntilApplied(key: string, idempotencyKey: string, appliedAtB: boolean): Promise<void> {
  const whileDown = await keyedWrite(c, key, idempotencyKey)
  report(`retry through C while B is down: ${summary(whileDown)} in ${whileDown.ms} ms`)
  // A replay is right too: B's outcome record may have reached C before B died.
  const allowedWhileDown = appliedAtB ? [UNKNOWN, UNAVAILABLE, '200 value=7 replayed'] : [UNKNOWN, UNAVAILABLE]
  expect(allowedWhileDown, JSON.stringify(whileDown.body)).toContain(summary(whileDown))

  const back = await bringBackB()
  report(`B restarted: ready in ${back.readyMs} ms, alive on every node after ${back.aliveMs} ms`)
  // Alive in every member table (heartbeats travel by gossip, through A) is not yet
  // connected everywhere: B listens on a new port, and C may not have reached it yet. A
  // retry then finds B out of reach and answers as with B down; clients retry, so does this.
  const backAt = performance.now()
  const answers: Answer[] = []
  await eventually(
    async () => {
      const answer = await keyedWrite(c, key, idempotencyKey)
      answers.push(answer)
      return answer.status === 200 || ![UNKNOWN, UNAVAILABLE].includes(summary(answer))
    },
    'a retry through C to be answered with B back',
    WAIT_MS,
  )
  const throughC = answers.at(-1) as Answer
  const early = answers.slice(0, -1).map(summary)
  report(
    `retry through C with B back: ${summary(throughC)} in ${throughC.ms} ms, ${since(backAt)} ms after B was alive everywhere` +
      (early.length === 0 ? '' : ` (answers before it: ${early.join(', ')})`),
  )
  expect(throughC.status, JSON.stringify(throughC.body)).toBe(200)
  expect(throughC.body.value).toBe(7)
  // B applied it before: only its first result may come back.
  if (appliedAtB) expect(throughC.body.replayed).toBe(true)
  const throughA = await keyedWrite(a, key, idempotencyKey)
  report(`retry through A: ${summary(throughA)} in ${throughA.ms} ms`)
  expect(summary(throughA), JSON.stringify(throughA.body)).toBe('200 value=7 replayed')

  const settling = performance.now()
  await eventually(() => allSynced(nodes()), "'synced: true' on every node", WAIT_MS)
  report(`synced on every node ${since(settling)} ms after the last retry`)
  for (const node of nodes()) expect(await readAll(node, key), `${key} read through ${node.name}`).toBe(7)
}

beforeAll(async () => {
  const start = performance.now()
  dir = mkdtempSync(join(tmpdir(), 'rumordb-kill-mid-write-'))
  // stopWithParent: the nodes stop if this test process dies before afterAll.
  a = new NodeProcess('A', join(dir, 'a'), { stopWithParent: true })
  await a.start()
  const args = (): string[] => ['--bootstrap', a.info!.addrs[0] as string]
  b = new NodeProcess('B', join(dir, 'b'), { args, stopWithParent: true })
  c = new NodeProcess('C', join(dir, 'c'), { args, stopWithParent: true })
  d = new NodeProcess('D', join(dir, 'd'), { args, stopWithParent: true })
  await Promise.all([b.start(), c.start(), d.start()])
  await eventually(() => allAlive(nodes(), N), 'four members alive everywhere', WAIT_MS)
  report(`four nodes up and alive everywhere in ${since(start)} ms`)
}, 120_000)

afterAll(async () => {
  await stopAll([a, b, c, d])
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
}, 60_000)

describe('a replica killed in the middle of a write, on real processes', () => {
  it('B killed with the write in flight, before it applied it: 504, never applied elsewhere, applied once when B is back', async () => {
    await bringBackB()
    const ring = await ringOf(a)
    const keyed = keyFirstOn(ring, b.info!.peerId, 'keyed-in-flight', REPLICAS)
    const plain = keyFirstOn(ring, b.info!.peerId, 'plain-in-flight', REPLICAS, a.info!.peerId)
    const idempotencyKey = 'kill-in-flight'
    const before = await counters(a)

    freeze(b)
    const sent = performance.now()
    const keyedFirst = keyedWrite(a, keyed, idempotencyKey)
    const plainFirst = plainWrite(a, plain)
    let answeredBeforeKill = false
    void Promise.allSettled([keyedFirst, plainFirst]).then(() => (answeredBeforeKill = true))
    // In flight: A began both writes and sent the six requests they start with (prepare and
    // accept to B and C, then the keyed apply to B; the plain apply to B). Requests to a
    // frozen B time out after 500 ms at the least, so this comes long before any answer.
    await eventually(
      async () => {
        const now = await counters(a)
        return now.writes >= before.writes + 2 && now.requestsSent >= before.requestsSent + 6
      },
      "A's requests to the frozen B",
      WAIT_MS,
      10,
    )
    const inFlightMs = since(sent)
    await b.kill('SIGKILL')
    report(`B frozen, writes sent to A, SIGKILL ${inFlightMs} ms later (an answer had come back by then: ${answeredBeforeKill})`)

    const [keyedAnswer, plainAnswer] = await Promise.all([keyedFirst, plainFirst])
    report(`keyed write through A: ${summary(keyedAnswer)} after ${keyedAnswer.ms} ms; plain write: ${summary(plainAnswer)} after ${plainAnswer.ms} ms`)
    expect([UNKNOWN, UNAVAILABLE], JSON.stringify(keyedAnswer.body)).toContain(summary(keyedAnswer))
    // B was frozen: it cannot have answered, so a 200 would be the write applied at a second replica.
    expect(summary(plainAnswer), JSON.stringify(plainAnswer.body)).toBe(UNKNOWN)

    await retriesUntilApplied(keyed, idempotencyKey, false)
    const plainValues = await Promise.all(nodes().map((node) => readAll(node, plain)))
    report(`plain increment of 1, read through A, B, C, D: ${plainValues.join(', ')}`)
    // B never ran after the write reached it: nothing applied, and never twice.
    for (const value of plainValues) expect(value).toBe(0)
  }, 120_000)

  it('B applied the write after A gave up on it, then was killed before anyone heard: the first result comes back, applied once', async () => {
    await bringBackB()
    const ring = await ringOf(a)
    const keyed = keyFirstOn(ring, b.info!.peerId, 'keyed-applied', REPLICAS)
    const plain = keyFirstOn(ring, b.info!.peerId, 'plain-applied', REPLICAS, a.info!.peerId)
    const idempotencyKey = 'kill-after-commit'

    freeze(b)
    // A's attempts at the frozen B time out (two each, with the same id): the outcome is unknown.
    const [keyedAnswer, plainAnswer] = await Promise.all([keyedWrite(a, keyed, idempotencyKey), plainWrite(a, plain)])
    report(`B frozen; keyed write through A: ${summary(keyedAnswer)} after ${keyedAnswer.ms} ms; plain write: ${summary(plainAnswer)} after ${plainAnswer.ms} ms`)
    expect([UNKNOWN, UNAVAILABLE], JSON.stringify(keyedAnswer.body)).toContain(summary(keyedAnswer))
    expect(summary(plainAnswer), JSON.stringify(plainAnswer.body)).toBe(UNKNOWN)
    const appliedAtB = summary(keyedAnswer) === UNKNOWN

    // B reads the requests queued in its sockets and applies them; their answers find
    // nobody waiting. Once B holds the writes, it dies.
    const thawed = performance.now()
    thaw(b)
    await eventually(
      async () => (await holdsLocally(b, plain)) && (!appliedAtB || (await holdsLocally(b, keyed))),
      'B to apply the writes queued while it was frozen',
      WAIT_MS,
      10,
    )
    const appliedMs = since(thawed)
    await b.kill('SIGKILL')
    report(`B thawed, held the writes after ${appliedMs} ms, SIGKILL`)

    await retriesUntilApplied(keyed, idempotencyKey, appliedAtB)
    const plainValues = await Promise.all(nodes().map((node) => readAll(node, plain)))
    report(`plain increment of 1, read through A, B, C, D: ${plainValues.join(', ')}`)
    // Applied at B only: once, not lost, never twice.
    for (const value of plainValues) expect(value).toBe(1)
  }, 120_000)
})
