// Private by default (issue 11, item 4): the first start creates a cluster secret in the data
// directory, an invite carries it (and addresses) to another node, which keeps it; an open
// cluster must be asked for; contradicting options and invites for another cluster are refused.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { ClusterAccessError, CLUSTER_SECRET_FILE, decodeInvite, encodeInvite, resolveClusterAccess } from '../../node/cluster-access.js'

const dirs: string[] = []
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'rumordb-access-'))
  dirs.push(d)
  return d
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

describe('cluster access', () => {
  it('creates a secret on the first start, readable by this user only, and uses the stored one afterwards', () => {
    const d = dir()
    const first = resolveClusterAccess(d)
    expect(first.source).toBe('created')
    expect(statSync(join(d, CLUSTER_SECRET_FILE)).mode & 0o777).toBe(0o600)
    const again = resolveClusterAccess(d)
    expect(again).toMatchObject({ source: 'stored' })
    expect(Buffer.compare(Buffer.from(again.swarmKey!), Buffer.from(first.swarmKey!))).toBe(0)
    expect(resolveClusterAccess(dir()).swarmKey).not.toEqual(first.swarmKey)
  })

  it('an invite carries the secret and addresses; the joining node keeps the secret for later starts', () => {
    const a = dir()
    const secret = resolveClusterAccess(a).swarmKey!
    const code = encodeInvite(secret, ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWabc'])
    expect(code).toMatch(/^rumordb-invite:1:/)
    expect(code).not.toContain('\n')
    const b = dir()
    const joined = resolveClusterAccess(b, { join: code })
    expect(joined).toMatchObject({ source: 'invite', bootstrap: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWabc'] })
    expect(readFileSync(join(b, CLUSTER_SECRET_FILE))).toEqual(readFileSync(join(a, CLUSTER_SECRET_FILE)))
    expect(resolveClusterAccess(b)).toMatchObject({ source: 'stored' })
    // Joining again with the same invite is fine; with another cluster's invite it is refused.
    expect(resolveClusterAccess(b, { join: code }).source).toBe('invite')
    const other = encodeInvite(resolveClusterAccess(dir()).swarmKey!, [])
    expect(() => resolveClusterAccess(b, { join: other })).toThrow(/already belongs to another cluster/)
  })

  it('open must be explicit, and options that contradict each other are refused', () => {
    expect(resolveClusterAccess(dir(), { open: true })).toEqual({ bootstrap: [], source: 'open' })
    const code = encodeInvite(resolveClusterAccess(dir()).swarmKey!, [])
    expect(() => resolveClusterAccess(dir(), { open: true, join: code })).toThrow(ClusterAccessError)
    expect(() => resolveClusterAccess(dir(), { open: true, swarmKey: 'x' })).toThrow(/choose one of --join, --swarm-key and --open/)
  })

  it('refuses damaged invites with a message that says what to copy', () => {
    for (const bad of ['', 'hello', 'rumordb-invite:2:AAAA:W10', 'rumordb-invite:1:short:W10', 'rumordb-invite:1:' + 'A'.repeat(43) + ':not-json']) {
      expect(() => decodeInvite(bad), bad).toThrow(/not a rumordb invite.*copy the whole line/)
    }
  })
})
