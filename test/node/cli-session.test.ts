// The client commands in-process against a real HTTP server on 127.0.0.1: the session
// token a write prints goes back to `get --session`, and `--token` is only ever the bearer
// token for the HTTP API.
import { afterEach, describe, expect, it } from 'vitest'
import { buildProgram } from '../../node/cli/program.js'
import { CliError } from '../../node/cli/http-client.js'
import { closeAll, kvPath, testServer } from './http-harness.js'

afterEach(closeAll)

const BEARER = 'cli-test-bearer'

/** Runs `rumordb ARGS` in this process and returns the lines it printed. */
async function rumordb(...args: string[]): Promise<string[]> {
  const lines: string[] = []
  await buildProgram((line) => lines.push(line)).parseAsync(args, { from: 'user' })
  return lines
}

/** A node that wants the bearer token, listening on 127.0.0.1. */
async function guardedNode(): Promise<{ url: string; inject: Awaited<ReturnType<typeof testServer>>['server']['app']['inject'] }> {
  const { server } = await testServer({ httpToken: BEARER })
  const { url } = await server.listen()
  return { url, inject: server.app.inject.bind(server.app) }
}

/** The token from a write's human output. */
function printedToken(lines: string[]): string {
  const match = /^session token: ([A-Za-z0-9_-]+)\s/.exec(lines.find((l) => l.startsWith('session token:')) ?? '')
  expect(match, lines.join('\n')).not.toBeNull()
  return match![1]!
}

describe('rumordb get --session', () => {
  it('sends the session token with the read while --token stays the bearer token', async () => {
    const node = await guardedNode()
    await rumordb('--node', node.url, '--token', BEARER, 'set', 'name', '"Ada"')
    // A token for a write this node never saw: the node must refuse the read as stale,
    // which it can only do if the token arrived as the session token.
    const { server: elsewhere } = await testServer()
    const foreign = await elsewhere.app.inject({ method: 'POST', url: kvPath('name'), payload: { type: 'lww', op: 'set', value: 'Bob' } })
    const foreignToken = foreign.json().token as string

    const stale = rumordb('--node', node.url, '--token', BEARER, 'get', 'name', '--session', foreignToken)
    await expect(stale).rejects.toThrow(CliError)
    await expect(stale).rejects.toThrow(/^STALE_READ: /)
  })

  it.each([
    ['incr', ['visits', '2'], 'visits (pncounter) = 2   [1 replica]'],
    ['decr', ['visits', '2'], 'visits (pncounter) = -2   [1 replica]'],
    ['gincr', ['likes'], 'likes (gcounter) = 1   [1 replica]'],
    ['add', ['cart', '{"sku":"apple"}'], 'cart (orset) = [{"sku":"apple"}]   [1 replica]'],
    ['set', ['name', '"Ada"'], 'name (lww) = "Ada"   [1 replica]'],
  ])('%s prints its session token so that it can be pasted into get --session', async (command, args, read) => {
    const node = await guardedNode()
    const lines = await rumordb('--node', node.url, '--token', BEARER, command, ...args)
    const token = printedToken(lines)
    expect(await rumordb('--node', node.url, '--token', BEARER, 'get', args[0]!, '--session', token)).toEqual([read])
  })

  it('get --require-quorum fails when fewer than --r replicas answered, and answers when they did', async () => {
    const node = await guardedNode()
    await rumordb('--node', node.url, '--token', BEARER, 'incr', 'visits', '2')
    const strict = rumordb('--node', node.url, '--token', BEARER, 'get', 'visits', '--r', '2', '--require-quorum')
    await expect(strict).rejects.toThrow(CliError)
    await expect(strict).rejects.toThrow(/^QUORUM_NOT_MET: read of "visits" heard from 1 of 2/)
    expect(await rumordb('--node', node.url, '--token', BEARER, 'get', 'visits', '--r', '1', '--require-quorum')).toEqual(['visits (pncounter) = 2   [1 replica]'])
  })

  it('prints the same token in human output as in --json', async () => {
    const node = await guardedNode()
    const human = printedToken(await rumordb('--node', node.url, '--token', BEARER, 'set', 'k', '1', '--idempotency-key', 'once'))
    const [json] = await rumordb('--node', node.url, '--token', BEARER, '--json', 'set', 'k', '1', '--idempotency-key', 'once')
    expect(JSON.parse(json!)).toMatchObject({ token: human, replayed: true })
  })

  it('says a repeated idempotency key was a replay instead of printing undefined acks', async () => {
    const node = await guardedNode()
    await rumordb('--node', node.url, '--token', BEARER, 'incr', 'orders', '5', '--idempotency-key', 'order-17')
    const [line] = await rumordb('--node', node.url, '--token', BEARER, 'incr', 'orders', '5', '--idempotency-key', 'order-17')
    expect(line).toBe('orders (pncounter) = 5   [replayed: applied once, earlier]')
  })

  it('takes --token after the command as the bearer token, never as a session token', async () => {
    const node = await guardedNode()
    await rumordb('--node', node.url, '--token', BEARER, 'incr', 'visits')
    expect(await rumordb('--node', node.url, 'get', 'visits', '--token', BEARER)).toEqual(['visits (pncounter) = 1   [1 replica]'])
    const help = buildProgram().commands.find((c) => c.name() === 'get')!
    expect(help.options.map((o) => o.long)).toEqual(['--r', '--session', '--require-quorum', '--limit', '--after'])
  })
})
