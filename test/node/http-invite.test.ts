// GET /v1/invite: the invite when there is one, 409 NO_INVITE when the database has none to
// give (local, or an open cluster), and a plain 500 for any other failure (not a 409 that
// would tell the operator the cluster is open).
import { afterEach, describe, expect, it } from 'vitest'
import { ClusterAccessError } from '../../node/cluster-access.js'
import { closeAll, testServer } from './http-harness.js'

afterEach(closeAll)

describe('GET /v1/invite', () => {
  it('answers the invite, 409 NO_INVITE when there is none, and 500 when making it failed', async () => {
    const cases: [() => string, number, string | undefined][] = [
      [() => 'rumordb-invite:1:abc:W10', 200, undefined],
      [() => { throw new ClusterAccessError('this database has no invite to give: it is local') }, 409, 'NO_INVITE'],
      [() => { throw new Error('transport stopped') }, 500, undefined],
    ]
    for (const [invite, status, code] of cases) {
      const { server } = await testServer({ invite })
      const res = await server.app.inject({ method: 'GET', url: '/v1/invite' })
      expect(res.statusCode, res.body).toBe(status)
      if (status === 200) expect(res.json()).toEqual({ invite: 'rumordb-invite:1:abc:W10' })
      if (code !== undefined) expect(res.json().error.code).toBe(code)
      if (status === 500) expect(res.body).not.toMatch(/NO_INVITE/)
    }
  })
})
