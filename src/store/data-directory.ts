// A database's data directory: created if missing, holding the SQLite file. The only place
// src/ touches the file system besides the SQLite store itself.
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { SynchronousMode } from './sqlite-open.js'
import { SqliteStore } from './sqlite-store.js'

export const DATABASE_FILE = 'rumordb.sqlite'

/** Creates `dataDir` if needed and opens its SQLite file. Resolves with the store and the absolute directory. */
export async function openDataDirectory(dataDir: string, synchronous: SynchronousMode = 'NORMAL'): Promise<{ store: SqliteStore; dataDir: string }> {
  const dir = resolve(dataDir)
  mkdirSync(dir, { recursive: true })
  return { store: await SqliteStore.open({ path: join(dir, DATABASE_FILE), synchronous }), dataDir: dir }
}
