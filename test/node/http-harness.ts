// One local database (network off) and an HTTP server over it, per test. Everything opened
// here is closed by `closeAll()` in afterEach.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openDatabase, type Database } from '../../src/index.js'
import { createHttpServer, type HttpServer, type HttpServerOptions } from '../../node/http/server.js'

const dirs: string[] = []
const databases: Database[] = []
const servers: HttpServer[] = []

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rumordb-http-'))
  dirs.push(dir)
  return dir
}

export async function tempDatabase(): Promise<Database> {
  const db = await openDatabase({ dataDir: tempDir() })
  databases.push(db)
  return db
}

/** A server on a fresh local database; `port: 0` so listen() never collides. */
export async function testServer(options: Partial<HttpServerOptions> = {}): Promise<{ db: Database; server: HttpServer }> {
  const db = options.db ?? (await tempDatabase())
  const server = createHttpServer({ db, port: 0, logger: false, processMetrics: false, ...options })
  servers.push(server)
  return { db, server }
}

export function track(db: Database): Database {
  databases.push(db)
  return db
}

export async function closeAll(): Promise<void> {
  await Promise.all(servers.splice(0).map((s) => s.close()))
  await Promise.all(databases.splice(0).map((d) => d.close()))
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
}

export function kvPath(key: string): string {
  return `/v1/kv/${encodeURIComponent(key)}`
}
