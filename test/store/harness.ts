// Harnesses that put each Store implementation under the acceptance suite.
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { InMemoryStore } from '../../src/store/memory-store.js'
import { SqliteStore } from '../../src/store/sqlite-store.js'
import type { StoreHarness, StoreSetupOptions } from './store-acceptance.js'

/** A fresh temporary directory, removed by the returned function. */
export function tempDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'rumordb-store-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

export async function sqliteHarness(opts: StoreSetupOptions = {}): Promise<StoreHarness> {
  const { dir, remove } = tempDir()
  const path = join(dir, 'data.db')
  const opened: SqliteStore[] = []
  const open = async (p: string) => {
    const s = await SqliteStore.open({ path: p, hooks: opts.hooks })
    opened.push(s)
    return s
  }
  let crashes = 0
  return {
    store: await open(path),
    reopen: () => open(path),
    // The files as they are on disk right now are what a node killed now restarts from.
    crash: () => {
      const copy = join(dir, `crash-${++crashes}.db`)
      copyFileSync(path, copy)
      if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`)
      // Files kept aside (Store.writeAside) live beside the data file, named after it.
      for (const file of readdirSync(dir)) if (file.startsWith('data.db.')) copyFileSync(join(dir, file), `${copy}${file.slice('data.db'.length)}`)
      return open(copy)
    },
    cleanup: async () => {
      for (const s of opened) await s.close()
      remove()
    },
  }
}

export async function memoryHarness(opts: StoreSetupOptions = {}): Promise<StoreHarness> {
  const store = new InMemoryStore({ hooks: opts.hooks })
  const opened: InMemoryStore[] = [store]
  const track = (s: InMemoryStore) => {
    opened.push(s)
    return s
  }
  return {
    store,
    reopen: async () => track(new InMemoryStore({ data: store.data, hooks: opts.hooks })),
    crash: () => {
      const copy = store.crashCopy()
      return Promise.resolve(track(copy))
    },
    cleanup: async () => {
      for (const s of opened) await s.close()
    },
  }
}
