// The node's libp2p identity: an Ed25519 key created once in `<dataDir>/peer-key`
// (protobuf bytes, mode 0600), so the peer id, and with it the node's place on the ring
// and its actor entries, survive restarts.
import { randomBytes } from 'node:crypto'
import { constants as fsConstants } from 'node:fs'
import { chmod, link, mkdir, open, readFile, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { PEER_KEY_FILE } from './constants.js'
import { PeerKeyError } from './errors.js'

export interface PeerKeyResult {
  readonly privateKey: PrivateKey
  /** True when this call created the key file. */
  readonly created: boolean
  /** Set when the file was readable by others and its mode was narrowed to 0600. */
  readonly fixedMode?: number
}

/** Loads `<dataDir>/peer-key`, creating it (and dataDir) on first use. */
export async function loadOrCreatePeerKey(dataDir: string): Promise<PeerKeyResult> {
  const path = join(dataDir, PEER_KEY_FILE)
  const existing = await readKey(path)
  if (existing !== undefined) return existing

  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const privateKey = asPrivateKey(await generateKeyPair('Ed25519'))
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  try {
    const file = await open(tmp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL, 0o600)
    try {
      await file.writeFile(privateKeyToProtobuf(privateKey as Parameters<typeof privateKeyToProtobuf>[0]))
      await file.sync()
    } finally {
      await file.close()
    }
    // link() fails if another process created the key meanwhile: then both use that one.
    try {
      await link(tmp, path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      const theirs = await readKey(path)
      if (theirs !== undefined) return theirs
      throw err
    }
    await syncDir(dataDir)
  } catch (err) {
    if (err instanceof PeerKeyError) throw err
    throw new PeerKeyError(`cannot create the peer key ${path}: ${(err as Error).message}`, { cause: err })
  } finally {
    await unlink(tmp).catch(() => undefined)
  }
  return { privateKey, created: true }
}

async function readKey(path: string): Promise<PeerKeyResult | undefined> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new PeerKeyError(`cannot read the peer key ${path}: ${(err as Error).message}`, { cause: err })
  }
  let privateKey: PrivateKey
  try {
    privateKey = asPrivateKey(privateKeyFromProtobuf(bytes))
  } catch (err) {
    throw new PeerKeyError(
      `${path} is not a libp2p private key (${(err as Error).message}); restore it from a backup, or delete it to give this node a new peer id`,
      { cause: err },
    )
  }
  const mode = (await stat(path)).mode & 0o777
  if ((mode & 0o077) !== 0) {
    await chmod(path, 0o600)
    return { privateKey, created: false, fixedMode: mode }
  }
  return { privateKey, created: false }
}

// @libp2p/crypto 5 declares its keys against @libp2p/interface 3 while libp2p 2 uses
// interface 2: the objects are the same, only the declared Uint8ArrayList versions differ.
function asPrivateKey(key: unknown): PrivateKey {
  return key as PrivateKey
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, fsConstants.O_RDONLY).catch(() => undefined)
  if (handle === undefined) return
  try {
    await handle.sync()
  } catch {
    // Some file systems refuse fsync on directories; the key file itself is synced.
  } finally {
    await handle.close()
  }
}
