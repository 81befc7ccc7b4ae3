// The node's identity (peer key in the data directory) and private clusters (swarm keys).
import { mkdtemp, readFile, rm, stat, writeFile, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { PeerKeyError, SwarmKeyError } from '../../node/libp2p/errors.js'
import type { Libp2pTransport } from '../../node/libp2p/libp2p-transport.js'
import { loadOrCreatePeerKey } from '../../node/libp2p/peer-key.js'
import { generateSwarmKey, parseSwarmKey } from '../../node/libp2p/swarm-key.js'
import { PeerUnreachableError } from '../../src/transport/transport.js'
import { firstAddr, loopbackTransport, stopAll } from './fixtures/libp2p-harness.js'

const dirs: string[] = []
const transports: Libp2pTransport[] = []
afterEach(async () => {
  await stopAll(transports.splice(0))
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
})

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'rumordb-libp2p-'))
  dirs.push(dir)
  return dir
}

describe('peer key', () => {
  it('keeps the peer id across restarts of a node with the same data directory, in a 0600 file', async () => {
    const dataDir = join(await tempDir(), 'node-a') // created on first use
    const first = await loopbackTransport({ dataDir })
    transports.push(first)
    await first.start()
    const id = first.peerId
    await first.stop()
    expect((await stat(join(dataDir, 'peer-key'))).mode & 0o777).toBe(0o600)

    const again = await loopbackTransport({ dataDir })
    transports.push(again)
    expect(again.peerId).toBe(id)
    const other = await loopbackTransport({ dataDir: await tempDir() })
    transports.push(other)
    expect(other.peerId).not.toBe(id)
  })

  it('narrows a key file readable by others to 0600 and refuses a corrupt one without replacing it', async () => {
    const dataDir = await tempDir()
    const created = await loadOrCreatePeerKey(dataDir)
    expect(created.created).toBe(true)
    const path = join(dataDir, 'peer-key')
    await chmod(path, 0o644)
    const loaded = await loadOrCreatePeerKey(dataDir)
    expect(loaded).toMatchObject({ created: false, fixedMode: 0o644 })
    expect(loaded.privateKey.equals(created.privateKey)).toBe(true)
    expect((await stat(path)).mode & 0o777).toBe(0o600)

    await writeFile(path, 'not a key')
    await expect(loadOrCreatePeerKey(dataDir)).rejects.toBeInstanceOf(PeerKeyError)
    expect(await readFile(path, 'utf8')).toBe('not a key')
  })

  it('two concurrent first starts in one data directory agree on one key', async () => {
    const dataDir = await tempDir()
    const [x, y] = await Promise.all([loadOrCreatePeerKey(dataDir), loadOrCreatePeerKey(dataDir)])
    expect(x.privateKey.equals(y.privateKey)).toBe(true)
  })
})

describe('swarm key file', () => {
  it('generates the standard libp2p PSK format and parses it back', () => {
    const text = generateSwarmKey()
    expect(text).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    const key = parseSwarmKey(text)
    expect(Buffer.from(key.psk).toString('hex')).toBe(text.split('\n')[2])
    expect(parseSwarmKey(new TextEncoder().encode(text.replaceAll('\n', '\r\n').toUpperCase().replace('/KEY/SWARM/PSK/1.0.0/', '/key/swarm/psk/1.0.0/').replace('/BASE16/', '/base16/'))).psk).toEqual(key.psk)
    expect(generateSwarmKey()).not.toBe(text)
  })

  it.each([
    ['empty', ''],
    ['wrong header', '/key/swarm/psk/2.0.0/\n/base16/\n' + 'ab'.repeat(32)],
    ['unsupported encoding', '/key/swarm/psk/1.0.0/\n/base64/\n' + 'ab'.repeat(32)],
    ['short key', '/key/swarm/psk/1.0.0/\n/base16/\n' + 'ab'.repeat(31)],
    ['non-hex key', '/key/swarm/psk/1.0.0/\n/base16/\n' + 'zz'.repeat(32)],
    ['extra line', '/key/swarm/psk/1.0.0/\n/base16/\n' + 'ab'.repeat(32) + '\nmore'],
  ])('refuses a malformed file (%s) with SwarmKeyError', (_name, text) => {
    expect(() => parseSwarmKey(text)).toThrow(SwarmKeyError)
  })

  it('refuses bytes that are not UTF-8', () => {
    expect(() => parseSwarmKey(new Uint8Array([0xff, 0xfe, 0x00]))).toThrow(SwarmKeyError)
  })
})

describe('private clusters', () => {
  const k1 = generateSwarmKey()
  const k2 = generateSwarmKey()

  async function pair(keyA: string | undefined, keyB: string | undefined) {
    const a = await loopbackTransport({ swarmKey: keyA })
    const b = await loopbackTransport({ swarmKey: keyB })
    transports.push(a, b)
    a.setRequestHandler(async (_from, frame) => frame)
    await Promise.all([a.start(), b.start()])
    return { a, b }
  }

  it('nodes with the same swarm key connect and exchange requests', async () => {
    const { a, b } = await pair(k1, k1)
    await b.dial(firstAddr(a))
    const reply = await b.request(a.peerId, new Uint8Array([1, 2, 3]), { timeoutMs: 5000 })
    expect(reply).toEqual(new Uint8Array([1, 2, 3]))
  })

  it.each([
    ['different keys', k1, k2],
    ['a key and no key', k1, undefined],
    ['no key and a key', undefined, k1],
  ])('nodes with %s cannot connect nor exchange a request', async (_name, keyA, keyB) => {
    const { a, b } = await pair(keyA, keyB)
    const started = Date.now()
    const dialed = await b.dial(firstAddr(a), { signal: AbortSignal.timeout(1500) }).then(
      () => 'connected',
      (err: unknown) => err,
    )
    expect(dialed).toBeInstanceOf(PeerUnreachableError)
    const requested = await b.request(a.peerId, new Uint8Array([1]), { timeoutMs: 1500 }).then(
      () => 'answered',
      (err: unknown) => err,
    )
    expect(requested).not.toBe('answered')
    expect(Date.now() - started).toBeLessThan(4_000)
    expect(a.peers()).toEqual([])
    expect(b.peers()).toEqual([])
  })
})
