// `rumordb map KEY PATH OP [ARG]` in-process against a real HTTP server on 127.0.0.1: every
// field operation, nested paths, field removal, --json, and clear errors for bad input.
import { afterEach, describe, expect, it } from 'vitest'
import { buildProgram } from '../../node/cli/program.js'
import { closeAll, testServer } from './http-harness.js'

afterEach(closeAll)

async function rumordb(...args: string[]): Promise<string[]> {
  const lines: string[] = []
  await buildProgram((line) => lines.push(line)).parseAsync(args, { from: 'user' })
  return lines
}

describe('rumordb map', () => {
  it('writes fields of every type by path, removes a field, and get prints the document', async () => {
    const { server, db } = await testServer()
    const { url } = await server.listen()
    const map = (...args: string[]) => rumordb('--node', url, 'map', 'profile', ...args)
    const [first, token] = await map('likes', 'incr', '3')
    expect(first).toBe('profile (map) = {"likes":3}   [1 ack]')
    expect(token).toMatch(/^session token: /)
    await map('likes', 'decr')
    await map('visits', 'gincr', '5')
    await map('tags', 'add', '"math"')
    await map('tags', 'rm', '"math"')
    await map('name', 'set', '"Ada"')
    await map('address.city', 'set', '"London"')
    await map('["a.b"]', 'set', 'true')
    expect(await db.map('profile').value()).toEqual({ 'a.b': true, address: { city: 'London' }, likes: 2, name: 'Ada', tags: [], visits: 5 })
    expect((await map('visits', 'remove'))[0]).toBe('profile (map) = {"a.b":true,"address":{"city":"London"},"likes":2,"name":"Ada","tags":[]}   [1 ack]')
    expect(await rumordb('--node', url, 'get', 'profile')).toEqual(['profile (map) = {"a.b":true,"address":{"city":"London"},"likes":2,"name":"Ada","tags":[]}   [1 replica]'])
    const [json] = await rumordb('--node', url, '--json', 'map', 'profile', 'likes', 'incr')
    expect(JSON.parse(json as string)).toMatchObject({ key: 'profile', type: 'map', value: { likes: 3 }, acks: 1 })
  })

  it('says what is wrong with a bad operation, path or argument, and writes nothing', async () => {
    const { server, db } = await testServer()
    const { url } = await server.listen()
    const map = (...args: string[]) => rumordb('--node', url, 'map', 'doc', ...args)
    await expect(map('x', 'push', '1')).rejects.toThrow(/map: unknown operation "push"; use incr, decr, gincr, add, rm, set or remove/)
    await expect(map('x', 'set')).rejects.toThrow(/map set needs the value as JSON/)
    await expect(map('x', 'set', 'nope')).rejects.toThrow(/the value must be JSON/)
    await expect(map('a..b', 'incr')).rejects.toThrow(/the field path must be names joined by dots/)
    await expect(map('x', 'remove', '1')).rejects.toThrow(/map remove takes no argument/)
    await expect(map('x', 'incr', '-1')).rejects.toThrow(/N must be a non-negative integer/)
    expect(await db.get('doc')).toBeUndefined()
    await map('x', 'incr')
    await expect(map('x', 'set', '1')).rejects.toThrow(/map field "x" holds a PN-counter/)
  })
})
