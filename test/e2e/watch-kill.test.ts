// The change feed's promise on a real `rumordb start` process killed with SIGKILL while
// writes flow: "resuming with the last cursor misses nothing committed after it (at least
// once, in commit order, per node), across restarts of the node". Writers POST and DELETE
// keys under `feed:` (counters, sets, registers) without pause; a consumer follows
// GET /v1/watch?prefix=feed:. The node is killed KILLS times and restarted on its data
// directory; the consumer resumes with `since=` the last cursor it had handled. In even
// lives the consumer keeps up until the kill (the resume races the writes that were in
// flight); in odd lives it stops handling events halfway, as a stalled consumer would, so
// the resumed feed must catch up on every change committed between its cursor and the kill.
//
// Keys are of two kinds: hot keys written in every life of the node, and keys written in
// one life only (`feed:life2-…`). A life's own keys are never written again after its
// kill, so a change the resumed feed failed to give shows as a stale last event for good:
// later writes cannot hide it.
//
// What is checked, once the writers stop and the consumer has drained:
// - the last event of every key equals the key's final state read from the node (deleted
//   and never seen both read as 404);
// - every acknowledged write is covered by its key's last event, whose cursor (the HLC of
//   the key's last commit or later) has a wall time at or after the moment the write was
//   sent: the node's HLC reads the same system clock as Date.now() here, so a write commits
//   no earlier than it was sent. ("An event received after the write's answer" would not be
//   sound: the node announces a change before it answers the write, so its event may
//   arrive first.)
// - per connection, cursors strictly increase (their decoded HLC bytes), each resumed
//   connection starts after its `since`, every cursor names the same node across restarts,
//   events match their SSE id, and no key outside the prefix shows;
// - each connection, every resumed one included, received events, the one after a stall
//   changes read from the store (the checks are not vacuous), and the checks themselves
//   report a dropped or reordered event.
// The seed (RUMORDB_TEST_SEED replays one) picks keys and operations; the kill points are
// events (acknowledged writes), so a replay repeats the choices, not the exact timing.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { decodeTimestamp, type Timestamp } from '../../crdts/hlc.js'
import { openWatch, serverSentEvents, type OpenWatch } from '../../node/cli/watch-command.js'
import { seededRandom, type Random } from '../../src/base/random.js'
import { eventually, NodeProcess } from './node-process.js'

const PREFIX = 'feed:'
/** A key just outside the prefix (`feed` without its colon): its changes must not show. */
const OUTSIDE_KEY = 'feedback:outside'
const KILLS = 4
const WRITERS = 4
/** Writes acknowledged in each life of the node before it is killed. */
const ACKS_PER_LIFE = 60
const KINDS = ['counter', 'set', 'register'] as const
type Kind = (typeof KINDS)[number]
const KEYS_PER_KIND = 2
/** Limits for a loaded 2-core machine; on an idle one each wait ends well within a second or two. */
const WAIT_MS = 60_000
const CURSOR_VERSION = 1
const CURSOR_BYTES = 1 + 8 + 4

const report = (line: string): void => console.log(`[watch-kill] ${line}`)

interface Write {
  readonly id: number
  readonly key: string
  readonly life: number
  /** Undefined for a DELETE. */
  readonly body: Record<string, unknown> | undefined
  /** Date.now() just before the request left: the write's commit is no earlier. */
  sentAt: number
  /** 200, another HTTP status, or why the request failed (the node was killed under it). */
  outcome?: number | string
}

interface SeenEvent {
  readonly connection: number
  readonly key: string
  readonly cursor: string
  /** The cursor's 8 HLC bytes and what they say. */
  readonly hlc: Buffer
  readonly at: Timestamp
  /** The cursor's 4 bytes naming the node, in hex. */
  readonly issuer: string
  readonly version: number
  readonly idMatches: boolean
  readonly deleted: boolean
  readonly type: string | undefined
  readonly value: unknown
  /** `local` / `remote` for a change seen as it committed; undefined for one read from the store (catching up). */
  readonly origin: string | undefined
}

interface Connection {
  readonly index: number
  readonly since: string | undefined
  readonly events: SeenEvent[]
  readonly watch: OpenWatch
  /** Settles when the stream ends (the node killed, or closed here); `cut` says how. */
  readonly done: Promise<void>
  readonly cut: string | undefined
  /** The consumer stops handling events: what arrives after that is dropped, its cursor not kept. */
  stall(): void
}

/** A key's state read from the node at the end: undefined when it answers 404. */
type FinalState = { readonly type: string; readonly value: unknown } | undefined

function decodeCursor(cursor: string): { version: number; hlc: Buffer; at: Timestamp; issuer: string } {
  const bytes = Buffer.from(cursor, 'base64url')
  if (bytes.length !== CURSOR_BYTES) throw new Error(`cursor ${cursor} is ${bytes.length} bytes, not ${CURSOR_BYTES}`)
  const hlc = bytes.subarray(1, 9)
  return { version: bytes[0] as number, hlc, at: decodeTimestamp(new Uint8Array(hlc)), issuer: bytes.subarray(9).toString('hex') }
}

/** The writers' view of the node: its URL while it runs, and which life it is in. */
class Target {
  private url: string | undefined
  private life = 0
  private stopped = false
  private waiting: (() => void)[] = []

  up(url: string, life: number): void {
    this.url = url
    this.life = life
    this.wakeAll()
  }

  down(): void {
    this.url = undefined
  }

  stop(): void {
    this.stopped = true
    this.wakeAll()
  }

  /** The running node (undefined once stopped); waits while it is down. */
  async running(after?: string): Promise<{ url: string; life: number } | undefined> {
    while (!this.stopped && (this.url === undefined || this.url === after)) await new Promise<void>((resolve) => this.waiting.push(resolve))
    return this.stopped ? undefined : { url: this.url as string, life: this.life }
  }

  private wakeAll(): void {
    for (const wake of this.waiting.splice(0)) wake()
  }
}

/**
 * One operation on a key of `life`: mostly under the prefix (hot keys and the life's own),
 * sometimes just outside it. Every key takes deletes, sets removes too (a remove that lands
 * on a deleted set is still a delete in the live feed, as reads say).
 */
function plan(rng: Random, id: number, life: number, addedTo: Map<string, number[]>): Write {
  const roll = rng.next()
  const kind = KINDS[rng.int(KINDS.length)] as Kind
  const hot = roll < 0.5
  const key = roll < 0.06 ? OUTSIDE_KEY : `${PREFIX}${hot ? 'hot' : `life${life}`}-${kind}-${rng.int(KEYS_PER_KIND)}`
  const base = { id, key, life, sentAt: 0 }
  if (rng.next() < 0.1) return { ...base, body: undefined }
  if (key === OUTSIDE_KEY || kind === 'register') return { ...base, body: { type: 'lww', op: 'set', value: { write: id, n: rng.int(1000) } } }
  if (kind === 'counter') {
    return rng.next() < 0.7
      ? { ...base, body: { type: 'pncounter', op: 'increment', amount: 1 + rng.int(5) } }
      : { ...base, body: { type: 'pncounter', op: 'decrement', amount: 1 + rng.int(3) } }
  }
  const added = addedTo.get(key) ?? []
  if (added.length > 0 && rng.next() < 0.25) return { ...base, body: { type: 'orset', op: 'remove', element: `w${added[rng.int(added.length)]}` } }
  addedTo.set(key, [...added, id])
  return { ...base, body: { type: 'orset', op: 'add', element: `w${id}` } }
}

async function send(url: string, write: Write): Promise<void> {
  const path = `${url}/v1/kv/${encodeURIComponent(write.key)}`
  write.sentAt = Date.now()
  try {
    const res = await fetch(path, {
      method: write.body === undefined ? 'DELETE' : 'POST',
      headers: write.body === undefined ? {} : { 'content-type': 'application/json' },
      body: write.body === undefined ? undefined : JSON.stringify(write.body),
      signal: AbortSignal.timeout(30_000),
    })
    await res.text()
    write.outcome = res.status
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code
    write.outcome = cause ?? (err as Error).name
  }
}

/** A writer: one request at a time, without pause, until stopped; after a failure it waits for the next life of the node. */
async function writer(index: number, seed: number, target: Target, writes: Write[], nextId: () => number): Promise<void> {
  const rng = seededRandom(seed + index)
  const addedTo = new Map<string, number[]>()
  let failedOn: string | undefined
  for (;;) {
    const node = await target.running(failedOn)
    if (node === undefined) return
    const write = plan(rng, nextId(), node.life, addedTo)
    writes.push(write)
    await send(node.url, write)
    failedOn = typeof write.outcome === 'number' ? undefined : node.url
  }
}

/** Follows the feed from `since`: resolves once the stream is open; events collect as they come. */
async function follow(index: number, url: string, since: string | undefined): Promise<Connection> {
  const watch = await openWatch({ node: url }, PREFIX, since)
  const state = { handling: true, cut: undefined as string | undefined }
  const events: SeenEvent[] = []
  const done = (async () => {
    try {
      for await (const sse of serverSentEvents(watch.body)) {
        if (!state.handling) continue
        const data = JSON.parse(sse.data) as { key: string; type?: string; value?: unknown; deleted?: boolean; origin?: string; cursor: string }
        events.push({
          connection: index,
          key: data.key,
          cursor: data.cursor,
          ...decodeCursor(data.cursor),
          idMatches: sse.id === data.cursor,
          deleted: data.deleted === true,
          type: data.type,
          value: data.value,
          origin: data.origin,
        })
      }
      state.cut = 'ended (connection closed)'
    } catch (err) {
      state.cut = `cut: ${(err as Error).message}`
    }
  })()
  return {
    index,
    since,
    events,
    watch,
    done,
    get cut() {
      return state.cut
    },
    stall: () => {
      state.handling = false
    },
  }
}

function describeEvent(e: SeenEvent | undefined): string {
  if (e === undefined) return 'no event'
  const state = e.deleted ? 'deleted' : `${e.type} ${JSON.stringify(e.value)}`
  return `${state} (connection ${e.connection}, cursor ${e.cursor} = ${e.at.wallMs}.${e.at.logical})`
}

function describeFinal(state: FinalState): string {
  return state === undefined ? '404 (missing or deleted)' : `${state.type} ${JSON.stringify(state.value)}`
}

/**
 * What the consumer missed: keys whose last event is not their final state, and acknowledged
 * writes with no event of their key at or after them. Empty when the promise held.
 */
function missed(keys: readonly string[], finals: ReadonlyMap<string, FinalState>, events: readonly SeenEvent[], writes: readonly Write[]): string[] {
  const problems: string[] = []
  const last = new Map<string, SeenEvent>()
  for (const e of events) last.set(e.key, e)
  for (const key of keys) {
    const final = finals.get(key)
    const seen = last.get(key)
    const agrees =
      final === undefined
        ? seen === undefined || seen.deleted
        : seen !== undefined && !seen.deleted && seen.type === final.type && isDeepStrictEqual(seen.value, final.value)
    if (!agrees) problems.push(`${key}: the node holds ${describeFinal(final)}, the last event was ${describeEvent(seen)}`)
  }
  for (const w of writes) {
    if (w.outcome !== 200 || !w.key.startsWith(PREFIX)) continue
    const latest = last.get(w.key)
    if (latest === undefined || latest.at.wallMs < w.sentAt) {
      problems.push(`write #${w.id} to ${w.key} (${JSON.stringify(w.body ?? 'DELETE')}, life ${w.life}, sent at ${w.sentAt}, answered 200): no event of the key at or after it; last event: ${describeEvent(latest)}`)
    }
  }
  return problems
}

/** Cursors out of order or foreign, events outside the prefix, ids that differ from the cursor. */
function disorder(connections: readonly Connection[]): string[] {
  const problems: string[] = []
  const issuer = connections.find((c) => c.events.length > 0)?.events[0]?.issuer
  for (const c of connections) {
    let previous = c.since === undefined ? undefined : decodeCursor(c.since).hlc
    let previousCursor = c.since
    for (const e of c.events) {
      const where = `connection ${c.index}, ${e.key} at cursor ${e.cursor}`
      if (previous !== undefined && Buffer.compare(e.hlc, previous) <= 0) problems.push(`${where}: not after the cursor before it (${previousCursor})`)
      if (e.version !== CURSOR_VERSION) problems.push(`${where}: cursor version ${e.version}`)
      if (e.issuer !== issuer) problems.push(`${where}: cursor names node ${e.issuer}, earlier ones ${issuer}`)
      if (!e.idMatches) problems.push(`${where}: its SSE id is not its cursor`)
      if (!e.key.startsWith(PREFIX)) problems.push(`${where}: outside the prefix ${PREFIX}`)
      previous = e.hlc
      previousCursor = e.cursor
    }
  }
  return problems
}

async function readFinals(url: string, keys: readonly string[]): Promise<Map<string, FinalState>> {
  const finals = new Map<string, FinalState>()
  for (const key of keys) {
    const res = await fetch(`${url}/v1/kv/${encodeURIComponent(key)}`, { signal: AbortSignal.timeout(30_000) })
    const body = (await res.json()) as { type: string; value: unknown }
    if (res.status === 404) finals.set(key, undefined)
    else if (res.status === 200) finals.set(key, { type: body.type, value: body.value })
    else throw new Error(`GET ${key} answered ${res.status} ${JSON.stringify(body)}`)
  }
  return finals
}

let dir: string | undefined
let node: NodeProcess | undefined
let target: Target | undefined
const connections: Connection[] = []

afterEach(async () => {
  target?.stop()
  for (const c of connections.splice(0)) c.watch.close()
  // Killed by its pid (NodeProcess.kill signals its own child), on failure too.
  if (node?.running === true) await node.kill('SIGKILL')
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
  dir = undefined
  node = undefined
  target = undefined
}, 60_000)

describe('the change feed of a node killed with SIGKILL while writes flow', () => {
  it('resuming with the last cursor received misses nothing committed after it, in commit order, across restarts', async () => {
    const fromEnv = process.env.RUMORDB_TEST_SEED
    const seed = fromEnv === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(fromEnv)
    if (!Number.isSafeInteger(seed)) throw new Error(`RUMORDB_TEST_SEED must be an integer, got ${JSON.stringify(fromEnv)}`)
    report(`seed ${seed} (replay with RUMORDB_TEST_SEED=${seed})`)
    const started = performance.now()
    const since = (t: number): number => Math.round(performance.now() - t)

    dir = mkdtempSync(join(tmpdir(), 'rumordb-watch-kill-'))
    const n = new NodeProcess('N', join(dir, 'n'), { stopWithParent: true })
    node = n
    await n.start()
    const writes: Write[] = []
    let ids = 0
    const run = new Target()
    target = run
    connections.push(await follow(0, n.url, undefined))
    run.up(n.url, 0)
    const writers = Array.from({ length: WRITERS }, (_, i) => writer(i, seed, run, writes, () => ids++))
    const acksIn = (life: number): number => writes.filter((w) => w.life === life && w.outcome === 200).length
    const stalledAfter = new Map<number, number>()

    for (let life = 0; life <= KILLS; life++) {
      const current = connections[life] as Connection
      const lifeStarted = performance.now()
      const stalls = life % 2 === 1 && life < KILLS
      await eventually(
        async () => acksIn(life) >= (stalls ? ACKS_PER_LIFE / 2 : ACKS_PER_LIFE) && current.events.length > 0,
        `writes acknowledged in life ${life} and an event on connection ${life}`,
        WAIT_MS,
        10,
      )
      if (stalls) {
        current.stall()
        stalledAfter.set(life, acksIn(life))
        await eventually(async () => acksIn(life) >= ACKS_PER_LIFE, `${ACKS_PER_LIFE} writes acknowledged in life ${life}`, WAIT_MS, 10)
      }
      if (life === KILLS) break
      run.down()
      const pid = n.pid
      const inFlight = writes.filter((w) => w.outcome === undefined).length
      await n.kill('SIGKILL')
      await current.done
      report(
        `life ${life}: pid ${pid} killed after ${since(lifeStarted)} ms with ${inFlight} writes in flight; connection ${life} ${current.cut}; ` +
          `${current.events.length} events handled${stalls ? ` (the consumer stalled after ${stalledAfter.get(life)} of the life's ${acksIn(life)} acknowledged writes)` : ''}`,
      )

      const restarting = performance.now()
      await n.start()
      const resumeFrom = connections.flatMap((c) => c.events).at(-1)?.cursor
      run.up(n.url, life + 1)
      connections.push(await follow(life + 1, n.url, resumeFrom))
      report(`life ${life + 1}: restarted on the same data directory in ${since(restarting)} ms; consumer resumed with since=${resumeFrom}`)
    }

    run.stop()
    await Promise.all(writers)
    const stopped = performance.now()
    const keys = [...new Set(writes.map((w) => w.key).filter((k) => k.startsWith(PREFIX)))].sort()
    let problems: string[] = []
    let finals = new Map<string, FinalState>()
    const events = (): SeenEvent[] => connections.flatMap((c) => c.events)
    const drained = await eventually(
      async () => {
        finals = await readFinals(n.url, keys)
        problems = missed(keys, finals, events(), writes)
        return problems.length === 0
      },
      'the consumer to see every key in its final state',
      WAIT_MS,
    ).then(
      () => true,
      () => false,
    )
    const last = connections.at(-1) as Connection
    last.watch.close()
    await last.done

    const acked = writes.filter((w) => w.outcome === 200)
    const failed = writes.filter((w) => typeof w.outcome === 'string')
    const refused = writes.filter((w) => typeof w.outcome === 'number' && w.outcome !== 200)
    report(
      `${writes.length} writes (${acked.length} answered 200, ${failed.length} cut by a kill, ${refused.length} refused) on ${keys.length} keys; ` +
        `${events().length} events over ${connections.length} connections (${connections.map((c) => `${c.events.length}, ${c.events.filter((e) => e.origin === undefined).length} caught up`).join('; ')}); ` +
        `drained ${drained ? 'in' : 'NOT within'} ${since(stopped)} ms after the writers stopped; ${since(started)} ms in all`,
    )

    expect(problems, `seed ${seed}: changes the feed did not give`).toEqual([])
    expect(disorder(connections), `seed ${seed}: cursors out of order, foreign, or outside the prefix`).toEqual([])
    // A write to a running node is answered 200; only a kill under it may cut it.
    expect(refused.map((w) => `#${w.id} ${w.key}: ${w.outcome}`)).toEqual([])
    // Not vacuous: every life took writes and every connection, each resumed one too, got events.
    for (let life = 0; life <= KILLS; life++) expect(acksIn(life), `writes acknowledged in life ${life}`).toBeGreaterThanOrEqual(ACKS_PER_LIFE)
    for (const c of connections) expect(c.events.length, `events on connection ${c.index}`).toBeGreaterThan(0)
    // After a stall, writes acknowledged later than the consumer's cursor must come back as
    // changes read from the store (no origin) on the resumed connection.
    for (const life of stalledAfter.keys()) {
      const resumed = connections[life + 1] as Connection
      expect(resumed.events.filter((e) => e.origin === undefined).length, `changes caught up on connection ${life + 1}`).toBeGreaterThan(0)
    }
    expect(connections.length).toBe(KILLS + 1)
    expect(writes.some((w) => w.key === OUTSIDE_KEY && w.outcome === 200), 'a write just outside the prefix').toBe(true)
    // And the checks see a loss or a reordering: every event of one written key dropped, two cursors swapped.
    const all = events()
    const lost = (all.findLast((e) => acked.some((w) => w.key === e.key)) as SeenEvent).key
    expect(missed(keys, finals, all.filter((e) => e.key !== lost), writes)).not.toEqual([])
    const swapped = connections.map((c) => ({ ...c, events: c.events.length >= 2 ? [c.events[1] as SeenEvent, c.events[0] as SeenEvent, ...c.events.slice(2)] : c.events }))
    expect(disorder(swapped)).not.toEqual([])
  }, 180_000)
})
