// `--ttl` on the CLI's writes (issue 14), in-process against a real HTTP server on
// 127.0.0.1: durations with units, the key expiring, bad durations refused with exit code 2
// before anything is sent, and `del` taking no ttl.
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { buildProgram } from '../../node/cli/program.js'
import { parseTtl } from '../../node/cli/client-commands.js'
import { openDatabase } from '../../src/index.js'
import { movedClock } from '../fixtures/moved-clock.js'
import { closeAll, tempDir, testServer, track } from './http-harness.js'

afterEach(closeAll)

async function rumordb(...args: string[]): Promise<string[]> {
  const lines: string[] = []
  await buildProgram((line) => lines.push(line)).parseAsync(args, { from: 'user' })
  return lines
}

describe('rumordb --ttl', () => {
  it('parses durations with units, and refuses what is not one', () => {
    expect(parseTtl('5000')).toBe(5000)
    expect(parseTtl('250ms')).toBe(250)
    expect(parseTtl('30s')).toBe(30_000)
    expect(parseTtl('15m')).toBe(900_000)
    expect(parseTtl('12h')).toBe(43_200_000)
    expect(parseTtl('7d')).toBe(604_800_000)
    for (const bad of ['0', '0s', '-5', '1.5s', '10 minutes', 'soon', '', '99999999d']) {
      expect(() => parseTtl(bad), bad).toThrow(/--ttl must be a time to live such as 30s/)
    }
  })

  it('gives the key a time to live on every value write; the key then reads as missing', async () => {
    const { clock, moved } = movedClock()
    const db = track(await openDatabase({ dataDir: join(tempDir(), 'data'), clock }))
    const { server } = await testServer({ db })
    const { url } = await server.listen()
    await rumordb('--node', url, 'set', 'session', '{"user":"ada"}', '--ttl', '30s')
    await rumordb('--node', url, 'incr', 'hits', '3', '--ttl', '1m')
    await rumordb('--node', url, 'add', 'cart', '"apple"', '--ttl', '2m')
    await rumordb('--node', url, 'map', 'doc', 'n', 'incr', '--ttl', '10s')
    await rumordb('--node', url, 'incr', 'forever')
    expect(await rumordb('--node', url, 'keys')).toEqual(['cart (orset)', 'doc (map)', 'forever (pncounter)', 'hits (pncounter)', 'session (lww)'])
    moved.ms = 45_000
    await expect(rumordb('--node', url, 'get', 'session')).rejects.toThrow(/session: no such key/)
    expect(await rumordb('--node', url, 'keys')).toEqual(['cart (orset)', 'forever (pncounter)', 'hits (pncounter)'])
    moved.ms = 61_000
    const [json] = await rumordb('--node', url, '--json', 'keys')
    expect(JSON.parse(json!)).toMatchObject({ keys: [{ key: 'cart' }, { key: 'forever' }] })
  })

  it('refuses a bad --ttl with exit code 2 and writes nothing; del has no --ttl', async () => {
    const { server, db } = await testServer()
    const { url } = await server.listen()
    await expect(rumordb('--node', url, 'incr', 'c', '--ttl', 'tomorrow')).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/--ttl must be/) })
    expect(await db.get('c')).toBeUndefined()
    await db.counter('c').increment(1)
    await expect(rumordb('--node', url, 'del', 'c', '--ttl', '5s')).rejects.toThrow(/unknown option '--ttl'/)
    expect(await db.counter('c').value()).toBe(1)
  })
})
