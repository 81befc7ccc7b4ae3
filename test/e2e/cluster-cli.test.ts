// Three `rumordb start` processes on loopback, driven only through the CLI and HTTP,
// private as a user starts them: A creates the cluster secret, `rumordb invite` on A
// prints the invite, B and C start with `--join`; write on A, read on C; SIGKILL B; keep
// writing with w = 2 (sloppy quorum, hints); restart B from its data directory (same peer
// id, the kept secret); B gets its hints and converges; no acknowledged write is lost.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cli, eventually, NodeProcess } from './node-process.js'

let dir: string
let a: NodeProcess
let b: NodeProcess
let c: NodeProcess

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-e2e-'))
  // stopWithParent: the nodes stop if this test process dies before afterAll.
  a = new NodeProcess('A', join(dir, 'a'), { private: true, stopWithParent: true })
  await a.start()
  const invite = cli(['--node', a.url, 'invite'])
  expect(invite.status, invite.stderr).toBe(0)
  expect(invite.stdout.trim()).toMatch(/^rumordb-invite:1:\S+$/)
  const joinArgs = (): string[] => ['--join', invite.stdout.trim()]
  b = new NodeProcess('B', join(dir, 'b'), { private: true, args: joinArgs, stopWithParent: true })
  c = new NodeProcess('C', join(dir, 'c'), { private: true, args: joinArgs, stopWithParent: true })
  await Promise.all([b.start(), c.start()])
  await eventually(async () => {
    const views = await Promise.all([a, b, c].map((n) => n.http('GET', '/v1/members')))
    return views.every((v) => v.body.members.filter((m: { status: string }) => m.status === 'alive').length === 3)
  }, 'three members alive everywhere')
}, 120_000)

afterAll(async () => {
  await Promise.all([a, b, c].map((n) => n?.kill('SIGTERM')))
  rmSync(dir, { recursive: true, force: true })
})

describe('a three-process cluster through the CLI and HTTP', () => {
  it('a write on A is read on C, through the CLI', () => {
    const w = cli(['--node', a.url, '--json', 'incr', 'visits', '5'])
    expect(w.status, w.stderr).toBe(0)
    expect(JSON.parse(w.stdout)).toMatchObject({ key: 'visits', type: 'pncounter', value: 5, quorum: true })
    const added = cli(['--node', a.url, 'add', 'cart', '{"sku":"apple"}'])
    expect(added.stdout).toContain('cart (orset) = [{"sku":"apple"}]')
    const r = cli(['--node', c.url, '--json', 'get', 'visits', '--r', '3'])
    expect(r.status, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toEqual({ key: 'visits', type: 'pncounter', value: 5, replicas: 3 })
    const missing = cli(['--node', c.url, 'get', 'nothing-here'])
    expect(missing.status).toBe(1)
    expect(missing.stderr.trim()).toBe('rumordb: nothing-here: no such key')
  })

  it('SIGKILL B, keep writing with w = 2, restart B: it gets its hints and nothing acknowledged is lost', async () => {
    const peerIdBefore = b.info!.peerId
    expect(await b.kill('SIGKILL')).toBe(null)
    let acked = 0
    let attempted = 0
    for (let i = 0; i < 30; i++) {
      attempted++
      const r = await a.http('POST', '/v1/kv/hits?w=2', { type: 'gcounter', op: 'increment', amount: 1 })
      if (r.status === 200) acked++
      const s = await c.http('POST', `/v1/kv/${encodeURIComponent(`tags`)}?w=2`, { type: 'orset', op: 'add', element: `t${i}` })
      expect(s.status).toBe(200)
    }
    expect(acked).toBeGreaterThan(0)
    const pending = async (): Promise<number> => (await a.http('GET', '/v1/status')).body.pendingHints + (await c.http('GET', '/v1/status')).body.pendingHints
    expect(await pending()).toBeGreaterThan(0)

    await b.start()
    expect(b.info!.peerId).toBe(peerIdBefore)
    await eventually(async () => (await pending()) === 0, 'hints delivered to B')
    await eventually(async () => {
      const hits = await b.http('GET', '/v1/kv/hits?r=1')
      const tags = await b.http('GET', '/v1/kv/tags?r=1')
      return hits.status === 200 && hits.body.value >= acked && tags.status === 200 && tags.body.value.length === 30
    }, 'B to hold every acknowledged write')
    for (const node of [a, b, c]) {
      const hits = await node.http('GET', '/v1/kv/hits?r=3')
      expect(hits.body.value).toBeGreaterThanOrEqual(acked)
      expect(hits.body.value).toBeLessThanOrEqual(attempted)
      const tags = await node.http('GET', '/v1/kv/tags?r=3')
      expect(tags.body.value).toHaveLength(30)
    }
  }, 120_000)
})
