// `rumordb leave` → POST /v1/leave: answered 202, then the node's leave handler runs (the
// node process leaves the cluster and stops, test/engine/leave.test.ts checks what the
// cluster sees). A server that cannot stop itself has no such route.
import { afterEach, describe, expect, it } from 'vitest'
import { buildProgram } from '../../node/cli/program.js'
import { closeAll, testServer } from './http-harness.js'

afterEach(closeAll)

describe('POST /v1/leave and rumordb leave', () => {
  it('answers 202 and then calls the leave handler once; the CLI prints what happens', async () => {
    let left = 0
    let resolveLeft: () => void = () => undefined
    const called = new Promise<void>((resolve) => (resolveLeft = resolve))
    const { server } = await testServer({
      onLeave: () => {
        left++
        resolveLeft()
      },
    })
    const { url } = await server.listen()
    const lines: string[] = []
    await buildProgram((line) => lines.push(line)).parseAsync(['--node', url, 'leave'], { from: 'user' })
    await called
    expect(left).toBe(1)
    expect(lines).toEqual(['the node is leaving the cluster and will stop'])
  })

  it('does not exist on a server without a leave handler', async () => {
    const { server } = await testServer()
    const res = await server.app.inject({ method: 'POST', url: '/v1/leave' })
    expect(res.statusCode).toBe(404)
  })
})
