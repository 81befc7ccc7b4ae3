// What `rumordb start` checks before and during its start, so that a start that cannot
// work ends with one line naming the flag to change and exit code 2, and leaves no
// half-made data directory behind.
import { mkdirSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { CliError } from './http-client.js'

/** Exit code of a start refused for its flags or environment (a usage error). */
export const START_REFUSED = 2

/**
 * The bearer token from `--http-token` or RUMORDB_HTTP_TOKEN. It travels in a header,
 * `Authorization: Bearer TOKEN`, so a space or a control character could never match: every
 * request would get 401. Nor could non-ASCII text, which clients encode differently.
 * The message never repeats the token: it is a secret.
 */
export function checkHttpToken(fromFlag: string | undefined, fromEnv: string | undefined): string | undefined {
  const [token, source] = fromFlag !== undefined ? [fromFlag, '--http-token'] : [fromEnv, 'RUMORDB_HTTP_TOKEN']
  if (token === undefined) return undefined
  if (token.length === 0) throw new CliError(`${source} is empty: pass a secret of printable ASCII characters, e.g. from \`openssl rand -hex 32\``, START_REFUSED)
  const bad = /[^\x21-\x7e]/.exec(token)
  if (bad !== null) {
    const what = /\s/.test(bad[0]) ? 'a space or another blank' : bad[0] < ' ' || bad[0] === '\x7f' ? 'a control character' : 'a non-ASCII character'
    throw new CliError(
      `${source} contains ${what} (character ${bad.index + 1} of ${token.length}); a bearer token travels in an HTTP header ` +
        'and must be printable ASCII without spaces, e.g. from `openssl rand -hex 32`',
      START_REFUSED,
    )
  }
  return token
}

/** Takes back what a failed start put into the data directory. */
export interface DataDirectoryUndo {
  undo(): void
}

/**
 * Creates the data directory (and missing parents) when needed. `undo()` removes what this
 * start created: the directory itself if it made it, else only the entries it added.
 */
export function prepareDataDirectory(dataDir: string): DataDirectoryUndo {
  let created: string | undefined
  let before: Set<string>
  try {
    created = mkdirSync(dataDir, { recursive: true })
    before = new Set(readdirSync(dataDir))
  } catch (err) {
    throw dataDirectoryRefused(dataDir, err)
  }
  return {
    undo() {
      try {
        if (created !== undefined) {
          rmSync(created, { recursive: true, force: true })
          return
        }
        for (const name of readdirSync(dataDir)) if (!before.has(name)) rmSync(join(dataDir, name), { recursive: true, force: true })
      } catch {
        // Best effort: the start's own error is what the operator needs to see.
      }
    },
  }
}

/** `--data DIR: …` for a directory that cannot be created, read or used. */
export function dataDirectoryRefused(dataDir: string, err: unknown): CliError {
  const code = (err as { code?: unknown } | null)?.code
  const reason =
    code === 'ENOTDIR' || code === 'EEXIST'
      ? 'it, or a directory above it, is a file'
      : code === 'EACCES' || code === 'EPERM'
        ? 'this user may not create or open it'
        : code === 'EROFS'
          ? 'it is on a read-only file system'
          : code === 'ENOSPC'
            ? 'the disk is full'
            : firstLine(err)
  return new CliError(`--data ${dataDir}: cannot use it as the data directory (${reason}); pass --data with a directory this user can write`, START_REFUSED)
}

/** A failed HTTP listen as the operator can act on it: the address, why, and the flag. */
export function httpListenRefused(address: string, err: unknown): CliError | undefined {
  const reason = listenReason(err)
  if (reason === undefined) return undefined
  return new CliError(`--http ${address}: cannot listen there (${reason}); pass --http HOST:PORT with a free port (port 0 picks one)`, START_REFUSED)
}

/**
 * A failed libp2p listen (libp2p's UnsupportedListenAddressesError lists each failed
 * address and its error on lines of its own) as one line naming the address and --listen.
 */
export function libp2pListenRefused(listen: readonly string[], err: unknown): CliError | undefined {
  const message = err instanceof Error ? err.message : String(err)
  if ((err as Error | null)?.name !== 'UnsupportedListenAddressesError' && !/failed to be listened on/.test(message)) return undefined
  const failed = /^\s*(\/\S+): (.*)$/m.exec(message)
  const address = failed?.[1] ?? listen.join(' ')
  const reason = listenReason({ message: failed?.[2] ?? message }) ?? 'libp2p could not listen there'
  return new CliError(
    `--listen ${address}: cannot listen there (${reason}); pass --listen with a free port (/tcp/0 picks one) or another address`,
    START_REFUSED,
  )
}

/** Why a listen failed, for the errors an operator fixes by choosing another address. */
function listenReason(err: unknown): string | undefined {
  const e = err as { code?: unknown; message?: unknown } | null
  const text = `${String(e?.code ?? '')} ${String(e?.message ?? '')}`
  if (/EADDRINUSE/.test(text)) return 'the address is in use by another process'
  if (/EADDRNOTAVAIL/.test(text)) return 'no network interface of this machine has that address'
  if (/EACCES/.test(text)) return 'this user may not bind that port; ports below 1024 need privileges'
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return 'the host name does not resolve'
  return undefined
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'unknown error'
}
