// `rumordb del KEY` in-process against a real HTTP server on 127.0.0.1: deletes a key of any
// type, says when there was nothing to delete, --json, --idempotency-key replays.
import { afterEach, describe, expect, it } from 'vitest'
import { buildProgram } from '../../node/cli/program.js'
import { closeAll, testServer } from './http-harness.js'

afterEach(closeAll)

async function rumordb(...args: string[]): Promise<string[]> {
  const lines: string[] = []
  await buildProgram((line) => lines.push(line)).parseAsync(args, { from: 'user' })
  return lines
}

describe('rumordb del', () => {
  it('deletes a key of any type; the key is gone from get and keys', async () => {
    const { server, db } = await testServer()
    const { url } = await server.listen()
    await db.set('cart').add('apple')
    await db.counter('visits').increment(3)
    const [line, tokenLine] = await rumordb('--node', url, 'del', 'cart')
    expect(line).toBe('cart: deleted   [1 ack]')
    const token = /^session token: ([A-Za-z0-9_-]+) {3}\(read your delete: get --session TOKEN\)$/.exec(tokenLine ?? '')?.[1]
    expect(token, tokenLine).toBeDefined()
    await expect(rumordb('--node', url, 'get', 'cart', '--session', token as string)).rejects.toThrow(/cart: no such key/)
    expect(await rumordb('--node', url, 'keys')).toEqual(['visits (pncounter)'])
    await expect(rumordb('--node', url, 'get', 'cart')).rejects.toThrow(/cart: no such key/)
    expect((await rumordb('--node', url, 'del', 'cart'))[0]).toBe('cart: nothing to delete   [1 ack]')
    const [json] = await rumordb('--node', url, '--json', 'del', 'visits')
    expect(JSON.parse(json!)).toMatchObject({ key: 'visits', deleted: true, acks: 1, quorum: true, token: expect.any(String) })
  })

  it('applies a delete once per --idempotency-key', async () => {
    const { server, db } = await testServer()
    const { url } = await server.listen()
    await db.set('s').add('a')
    await rumordb('--node', url, 'del', 's', '--idempotency-key', 'k1')
    await db.set('s').add('b')
    expect((await rumordb('--node', url, 'del', 's', '--idempotency-key', 'k1'))[0]).toBe('s: deleted   [replayed: applied once, earlier]')
    expect(await db.set('s').values()).toEqual(['b'])
  })
})
