// `rumordb keys [PREFIX]` in-process against a real HTTP server on 127.0.0.1: every key in
// order across pages of GET /v1/keys, a prefix, --limit and --after, --json, bad input.
import { afterEach, describe, expect, it } from 'vitest'
import { buildProgram } from '../../node/cli/program.js'
import { CliError } from '../../node/cli/http-client.js'
import { closeAll, testServer } from './http-harness.js'

afterEach(closeAll)

async function rumordb(...args: string[]): Promise<string[]> {
  const lines: string[] = []
  await buildProgram((line) => lines.push(line)).parseAsync(args, { from: 'user' })
  return lines
}

describe('rumordb keys', () => {
  it('lists every key in order, across more than one page, with its type', async () => {
    const { server, db } = await testServer()
    const { url } = await server.listen()
    // 2,345 keys: three pages of the CLI's 1,000.
    const names = Array.from({ length: 2345 }, (_, i) => `user:${String(i).padStart(5, '0')}`)
    await Promise.all(names.map((k) => db.gcounter(k).increment()))
    await db.set('cart').add('apple')
    const all = await rumordb('--node', url, 'keys')
    expect(all).toEqual(['cart (orset)', ...names.map((k) => `${k} (gcounter)`)])
    const users = await rumordb('--node', url, 'keys', 'user:0000')
    expect(users).toEqual(names.slice(0, 10).map((k) => `${k} (gcounter)`))
    expect(await rumordb('--node', url, 'keys', 'user:', '--limit', '3', '--after', 'user:01000')).toEqual(
      ['user:01001', 'user:01002', 'user:01003'].map((k) => `${k} (gcounter)`),
    )
    expect(await rumordb('--node', url, 'keys', 'nothing-here')).toEqual([])
  })

  it('prints { keys } with --json', async () => {
    const { server, db } = await testServer()
    const { url } = await server.listen()
    await db.register('b').set(1)
    await db.counter('a').increment()
    const [json] = await rumordb('--node', url, '--json', 'keys')
    expect(JSON.parse(json!)).toEqual({ keys: [{ key: 'a', type: 'pncounter' }, { key: 'b', type: 'lww' }] })
  })

  it('refuses a --limit that is not a whole number, without calling the node', async () => {
    const { server } = await testServer()
    const { url } = await server.listen()
    for (const limit of ['-1', 'ten', '1.5']) {
      await expect(rumordb('--node', url, 'keys', '--limit', limit)).rejects.toThrow(CliError)
      await expect(rumordb('--node', url, 'keys', '--limit', limit)).rejects.toThrow(/--limit must be a whole number/)
    }
  })
})
