// Who may connect to a node: private by default. The first node of a cluster creates a
// cluster secret (a libp2p pre-shared key, kept in its data directory as DIR/cluster-secret
// in the swarm key file format); others join with an invite, one line holding the secret
// and the inviting node's addresses, and keep the secret, so later starts need no flag.
// Without the secret a peer cannot finish the connection handshake, let alone read or
// write. An open cluster (no secret) must be asked for explicitly.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { equals } from 'uint8arrays/equals'
import { generateSwarmKey, parseSwarmKey } from './libp2p/index.js'

export const CLUSTER_SECRET_FILE = 'cluster-secret'

const INVITE_PREFIX = 'rumordb-invite'
const INVITE_VERSION = '1'
/** Addresses an invite carries at most, and the longest invite accepted. */
const MAX_INVITE_ADDRS = 16
const MAX_INVITE_CHARS = 8192

/** A bad invite, or flags that contradict each other; the message says what to do. */
export class ClusterAccessError extends Error {
  override readonly name = 'ClusterAccessError'
}

export interface ClusterAccessOptions {
  /** An invite from `rumordb invite` (GET /v1/invite) on a node of the cluster to join. */
  readonly join?: string
  /** A swarm key file's contents (`rumordb keygen`): the cluster secret, given explicitly. */
  readonly swarmKey?: string | Uint8Array
  /** No secret: anyone who reaches the node may connect. Logged as a warning at start. */
  readonly open?: boolean
}

export interface ClusterAccess {
  /** The secret in swarm key file format; undefined for an open cluster. */
  readonly swarmKey?: Uint8Array
  /** Addresses to dial first (an invite's). */
  readonly bootstrap: readonly string[]
  /** How the secret was found: created now (first node of a new cluster), stored, from an invite, or given. */
  readonly source: 'created' | 'stored' | 'invite' | 'swarm-key' | 'open'
}

/**
 * Decides how this node secures its cluster and stores what must survive restarts. Throws
 * ClusterAccessError for contradicting options or an invite for another cluster than the
 * one this data directory belongs to.
 */
export function resolveClusterAccess(dataDir: string, options: ClusterAccessOptions = {}): ClusterAccess {
  const given = [options.join !== undefined && 'join', options.swarmKey !== undefined && 'swarmKey', options.open === true && 'open'].filter(Boolean)
  if (given.length > 1) {
    throw new ClusterAccessError(`choose one of --join, --swarm-key and --open (network.join, swarmKey, open), got ${given.join(' and ')}`)
  }
  const file = join(dataDir, CLUSTER_SECRET_FILE)
  const stored = existsSync(file) ? parseSwarmKey(readFileSync(file)).file : undefined
  if (options.open === true) return { bootstrap: [], source: 'open' }
  if (options.swarmKey !== undefined) return { swarmKey: parseSwarmKey(options.swarmKey).file, bootstrap: [], source: 'swarm-key' }
  if (options.join !== undefined) {
    const invite = decodeInvite(options.join)
    if (stored !== undefined && !equals(stored, invite.swarmKey)) {
      throw new ClusterAccessError(
        `${dataDir} already belongs to another cluster (its ${CLUSTER_SECRET_FILE} differs from the invite's secret); ` +
          `start with another --data directory to join this cluster, or delete ${file} to move this node (and its data) over`,
      )
    }
    if (stored === undefined) writeSecret(file, invite.swarmKey)
    return { swarmKey: invite.swarmKey, bootstrap: invite.addrs, source: 'invite' }
  }
  if (stored !== undefined) return { swarmKey: stored, bootstrap: [], source: 'stored' }
  const created = parseSwarmKey(generateSwarmKey()).file
  writeSecret(file, created)
  return { swarmKey: created, bootstrap: [], source: 'created' }
}

/** One line: the secret and the addresses to dial. Hand it only to nodes you trust: it is the key to the cluster. */
export function encodeInvite(swarmKey: Uint8Array, addrs: readonly string[]): string {
  const psk = Buffer.from(parseSwarmKey(swarmKey).psk).toString('base64url')
  const where = Buffer.from(JSON.stringify(addrs.slice(0, MAX_INVITE_ADDRS)), 'utf8').toString('base64url')
  return `${INVITE_PREFIX}:${INVITE_VERSION}:${psk}:${where}`
}

export function decodeInvite(code: string): { swarmKey: Uint8Array; addrs: string[] } {
  const fail = (why: string): never => {
    throw new ClusterAccessError(`not a rumordb invite (${why}); copy the whole line that \`rumordb invite\` printed on a node of the cluster`)
  }
  if (typeof code !== 'string' || code.length > MAX_INVITE_CHARS) return fail('not a string of a sensible length')
  const parts = code.trim().split(':')
  if (parts.length !== 4 || parts[0] !== INVITE_PREFIX) return fail(`it should start with ${INVITE_PREFIX}:`)
  if (parts[1] !== INVITE_VERSION) return fail(`unknown version ${JSON.stringify(parts[1])}`)
  const psk = Buffer.from(parts[2] as string, 'base64url')
  if (psk.length !== 32 || psk.toString('base64url') !== parts[2]) return fail('the secret is not 32 bytes of base64url')
  let addrs: unknown
  try {
    addrs = JSON.parse(Buffer.from(parts[3] as string, 'base64url').toString('utf8'))
  } catch {
    return fail('the addresses are not readable')
  }
  if (!Array.isArray(addrs) || addrs.length > MAX_INVITE_ADDRS || !addrs.every((a) => typeof a === 'string' && a.startsWith('/') && a.length <= 1024)) {
    return fail('the addresses are not a list of multiaddrs')
  }
  const swarmKey = parseSwarmKey(`/key/swarm/psk/1.0.0/\n/base16/\n${psk.toString('hex')}`).file
  return { swarmKey, addrs: addrs as string[] }
}

function writeSecret(file: string, swarmKey: Uint8Array): void {
  // Written whole or not at all, readable by this user only: it is the key to the cluster.
  writeFileSync(`${file}.tmp`, swarmKey, { mode: 0o600 })
  renameSync(`${file}.tmp`, file)
}
