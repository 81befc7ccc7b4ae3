// GET /v1/watch (Server-Sent Events) and `rumordb watch`, against a real HTTP server on
// 127.0.0.1: stored keys then live changes, resume by cursor (query or Last-Event-ID),
// deletes, keep-alive comments on an idle stream, bad cursors, streams ended by close().
import { afterEach, describe, expect, it } from 'vitest'
import { buildProgram } from '../../node/cli/program.js'
import { openWatch, serverSentEvents } from '../../node/cli/watch-command.js'
import { closeAll, testServer } from './http-harness.js'

afterEach(closeAll)

async function rumordb(...args: string[]): Promise<string[]> {
  const lines: string[] = []
  await buildProgram((line) => lines.push(line)).parseAsync(args, { from: 'user' })
  return lines
}

/** The next `n` events (parsed data) of an SSE iterator. */
async function take(events: AsyncIterator<{ id: string | undefined; data: string }>, n: number): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = []
  while (out.length < n) {
    const r = await events.next()
    if (r.done === true) break
    expect(r.value.id).toBe((JSON.parse(r.value.data) as { cursor: string }).cursor)
    out.push(JSON.parse(r.value.data) as Record<string, unknown>)
  }
  return out
}

describe('GET /v1/watch', () => {
  it('streams stored keys, then changes as they commit; resumes after a cursor', async () => {
    const { server, db } = await testServer()
    const { url } = await server.listen()
    await db.counter('a').increment(2)
    await db.set('b').add('x')
    const watch = await openWatch({ node: url }, '', undefined)
    const events = serverSentEvents(watch.body)[Symbol.asyncIterator]()
    const stored = await take(events, 2)
    expect(stored.map(({ key, type, value }) => ({ key, type, value }))).toEqual([
      { key: 'a', type: 'pncounter', value: 2 },
      { key: 'b', type: 'orset', value: ['x'] },
    ])
    const live = take(events, 2)
    await db.delete('a')
    await db.register('c').set({ n: 1 })
    const changes = await live
    expect(changes[0]).toMatchObject({ key: 'a', deleted: true, origin: 'local' })
    expect(changes[1]).toMatchObject({ key: 'c', type: 'lww', value: { n: 1 }, origin: 'local' })
    watch.close()

    // Resume after the first event: b, a (deleted), c; by query and by Last-Event-ID.
    const since = stored[0]!.cursor as string
    const again = await openWatch({ node: url }, '', since)
    const resumed = await take(serverSentEvents(again.body)[Symbol.asyncIterator](), 3)
    expect(resumed.map((e) => e.key)).toEqual(['b', 'a', 'c'])
    again.close()
    const response = await fetch(`${url}/v1/watch`, { headers: { 'last-event-id': since } })
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const byHeader = serverSentEvents(response.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]()
    expect((await take(byHeader, 3)).map((e) => e.key)).toEqual(['b', 'a', 'c'])
    await byHeader.return?.(undefined)
  })

  it('sends keep-alive comments on an idle stream, and ends streams when the server closes', async () => {
    const { server } = await testServer({ timeouts: { heartbeatMs: 50 } })
    const { url } = await server.listen()
    const response = await fetch(`${url}/v1/watch?prefix=nothing:`)
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    let text = ''
    while (!text.includes(': keep-alive')) {
      const { value, done } = await reader.read()
      if (done) break
      text += new TextDecoder().decode(value)
    }
    expect(text).toContain(': keep-alive')
    await server.close()
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      // drain until the server ends the stream
    }
  })

  it('refuses a bad cursor with 400 INVALID_CURSOR, and unknown parameters', async () => {
    const { server } = await testServer()
    const { url } = await server.listen()
    const bad = await fetch(`${url}/v1/watch?since=AAAAAAAAAAAAAAAAAA`)
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('INVALID_CURSOR')
    const unknown = await fetch(`${url}/v1/watch?from=1`)
    expect(unknown.status).toBe(400)
  })
})

describe('rumordb watch', () => {
  it('prints one line per change, --count stops it, --json prints the events, --since resumes', async () => {
    const { server, db } = await testServer()
    const { url } = await server.listen()
    await db.counter('a').increment(2)
    await db.set('b').add('x')
    const lines = await rumordb('--node', url, 'watch', '--count', '2')
    expect(lines[0]).toMatch(/^a \(pncounter\) = 2 {3}\[cursor [A-Za-z0-9_-]+\]$/)
    expect(lines[1]).toMatch(/^b \(orset\) = \["x"\] {3}\[cursor /)
    const cursor = /\[cursor ([A-Za-z0-9_-]+)\]/.exec(lines[0]!)![1]!
    await db.delete('b')
    // After a's cursor: b, once, as it is now (a key changed twice since shows once).
    const [json] = await rumordb('--node', url, '--json', 'watch', '--since', cursor, '--count', '1')
    expect(JSON.parse(json!)).toMatchObject({ key: 'b', deleted: true })
    await expect(rumordb('--node', url, 'watch', '--count', '0')).rejects.toThrow(/--count must be a positive whole number/)
    await expect(rumordb('--node', url, 'watch', '--since', 'nope')).rejects.toThrow(/invalid cursor/)
  })
})
