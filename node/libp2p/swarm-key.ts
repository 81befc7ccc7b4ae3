// Private clusters: the libp2p pre-shared key (pnet) file format, as written by
// go-ipfs/ipfs-swarm-key-gen and read by @libp2p/pnet:
//
//   /key/swarm/psk/1.0.0/
//   /base16/
//   <64 hex digits>
//
// Nodes with different keys cannot even finish the connection handshake.
import { randomBytes } from 'node:crypto'
import { SwarmKeyError } from './errors.js'

const HEADER = '/key/swarm/psk/1.0.0/'
const ENCODING = '/base16/'
const KEY_BYTES = 32

/** A new random swarm key in the standard file format (ends with a newline). */
export function generateSwarmKey(): string {
  return `${HEADER}\n${ENCODING}\n${randomBytes(KEY_BYTES).toString('hex')}\n`
}

export interface SwarmKey {
  /** The 32 secret bytes. */
  readonly psk: Uint8Array
  /** The canonical file contents, as @libp2p/pnet's `preSharedKey({ psk })` expects them. */
  readonly file: Uint8Array
}

/**
 * Parses a swarm key file (string or raw bytes). Accepts LF or CRLF line ends, a trailing
 * newline and upper-case hex; throws SwarmKeyError naming what is wrong otherwise.
 */
export function parseSwarmKey(contents: string | Uint8Array): SwarmKey {
  let text: string
  if (typeof contents === 'string') {
    text = contents
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(contents)
    } catch {
      throw new SwarmKeyError('swarm key file is not UTF-8 text; generate one with `rumordb keygen > swarm.key`')
    }
  }
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/)
  while (lines.length > 3 && lines[lines.length - 1]?.trim() === '') lines.pop()
  if (lines.length !== 3) {
    throw new SwarmKeyError(`swarm key file must have 3 lines (${HEADER}, ${ENCODING}, 64 hex digits), found ${lines.length}`)
  }
  const [header, encoding, hex] = lines.map((l) => l.trim()) as [string, string, string]
  if (header !== HEADER) throw new SwarmKeyError(`swarm key file must start with ${HEADER}, found ${JSON.stringify(header.slice(0, 40))}`)
  if (encoding !== ENCODING) {
    throw new SwarmKeyError(`swarm key encoding must be ${ENCODING} (the only one libp2p pnet reads), found ${JSON.stringify(encoding.slice(0, 40))}`)
  }
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new SwarmKeyError(`swarm key must be 64 hex digits (32 bytes), found ${hex.length} characters${/[^0-9a-fA-F]/.test(hex) ? ' with non-hex ones' : ''}`)
  }
  const psk = new Uint8Array(Buffer.from(hex, 'hex'))
  return { psk, file: new TextEncoder().encode(`${HEADER}\n${ENCODING}\n${hex.toLowerCase()}`) }
}
