// A cluster of whole databases on SQLite files, run on the simulator's network and virtual
// clock, for the tombstone benchmark (bench/tombstones.ts). SimCluster (src/sim/cluster.ts)
// runs the same Database on in-memory stores only; here each node opens a real data file
// (rumordb's open path: openSqliteDatabase, its pragmas and migrations) with the store the
// production SqliteStore is made of (GroupCommitStore over SqliteTables), whose group
// commits run on the node's virtual clock (`node.schedule`) rather than setImmediate, as
// the scheduler requires of code under simulation. Owning the SQLite handle lets the
// benchmark checkpoint the WAL and read page counts without reaching into private fields.
//
// Everything else is the simulator's: one process, seeded, no sockets, no libp2p; message
// frames are the real wire encoding, so bytes counted are bytes a real node would send.
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type BetterSqlite3 from 'better-sqlite3'
import type { EngineConfig } from '../../src/cluster/engine.js'
import { INDEX_SNAPSHOT_ASIDE } from '../../src/cluster/anti-entropy/index-snapshot.js'
import { createDatabase } from '../../src/database/create-database.js'
import type { Database } from '../../src/database/database.js'
import { SimNetwork, type LinkOverrides, type SimNode } from '../../src/sim/index.js'
import { DATABASE_FILE, GroupCommitStore } from '../../src/store/index.js'
import { openSqliteDatabase, type SynchronousMode } from '../../src/store/sqlite-open.js'
import { SqliteTables } from '../../src/store/sqlite-tables.js'
import { TrafficMeter } from './traffic-meter.js'

export interface DiskClusterOptions {
  readonly seed: number
  readonly size: number
  /** Each node's data directory is `<dir>/<node id>`. */
  readonly dir: string
  /** Engine config, n / r / w included (applied as createDatabase's replication options). */
  readonly config: EngineConfig
  readonly synchronous: SynchronousMode
  readonly link?: LinkOverrides
}

export interface DiskNode {
  readonly id: string
  readonly dataDir: string
  readonly path: string
  sim: SimNode
  sqlite: BetterSqlite3.Database
  db: Database
}

/** The files of one node's data directory, in bytes. */
export interface NodeFiles {
  /** rumordb.sqlite after a WAL checkpoint (TRUNCATE). */
  readonly dbBytes: number
  /** rumordb.sqlite-wal after that checkpoint (0 when truncated). */
  readonly walBytes: number
  /** db + wal: what the benchmark judges. */
  readonly sqliteBytes: number
  /** Pages in use (page_count - freelist_count) × page size: the file minus its free pages. */
  readonly usedBytes: number
  readonly freeBytes: number
  /** The anti-entropy index a clean close would save beside the file (Engine.indexSnapshot), 0 if none. */
  readonly savedIndexBytes: number
}

export class DiskCluster {
  readonly net: SimNetwork
  readonly nodes: DiskNode[] = []
  /** Bytes every engine sends, by message type (requests, responses and broadcasts). */
  readonly traffic = new TrafficMeter()

  private constructor(private readonly options: DiskClusterOptions) {
    this.net = new SimNetwork({ seed: options.seed, link: options.link })
  }

  /** Opens every node's data file and starts its database; returns once every open resolved. */
  static async start(options: DiskClusterOptions): Promise<DiskCluster> {
    const cluster = new DiskCluster(options)
    const sims = cluster.net.addNodes(options.size)
    const opening = sims.map((sim) => cluster.open(sim))
    await cluster.settle(Promise.all(opening))
    return cluster
  }

  get ids(): string[] {
    return this.nodes.map((n) => n.id)
  }

  get now(): number {
    return this.net.scheduler.now
  }

  /** Runs the simulation until `promise` settles. */
  settle<T>(promise: Promise<T>): Promise<T> {
    return this.net.scheduler.runUntilSettled(promise) as Promise<T>
  }

  async runFor(ms: number): Promise<void> {
    await this.net.scheduler.runFor(ms)
  }

  /** Runs until `done()` holds, checked every `stepMs` of virtual time; false if `maxMs` passed first. */
  async runUntil(done: () => boolean, stepMs: number, maxMs: number): Promise<boolean> {
    const deadline = this.now + maxMs
    while (!done()) {
      if (this.now >= deadline) return false
      await this.runFor(stepMs)
    }
    return true
  }

  /** Every node's files, after a WAL checkpoint on each. */
  files(): NodeFiles[] {
    return this.nodes.map((n) => filesOf(n))
  }

  /**
   * A node that lost its disk: closed cleanly, its process gone (connections reset), its
   * data directory deleted, then started again on an empty store under the same peer id,
   * as an operator replacing a disk would. Returns once its database opened.
   */
  async wipe(id: string): Promise<void> {
    const at = this.nodes.findIndex((n) => n.id === id)
    const node = this.nodes[at]
    if (node === undefined) throw new Error(`no node ${id}`)
    await this.settle(node.db.close())
    this.net.crash(id, { connections: 'reset' })
    this.nodes.splice(at, 1)
    rmSync(node.dataDir, { recursive: true, force: true })
    await this.settle(this.open(this.net.restart(id)))
  }

  node(id: string): DiskNode {
    const node = this.nodes.find((n) => n.id === id)
    if (node === undefined) throw new Error(`no node ${id}`)
    return node
  }

  /** Closes every database (engines stop, stores close); the data directories stay. */
  async close(): Promise<void> {
    await this.settle(Promise.all(this.nodes.map((n) => n.db.close())))
  }

  private async open(sim: SimNode): Promise<void> {
    const dataDir = join(this.options.dir, sim.id)
    mkdirSync(dataDir, { recursive: true })
    const path = join(dataDir, DATABASE_FILE)
    const { db: sqlite } = openSqliteDatabase({ path, synchronous: this.options.synchronous })
    const store = new GroupCommitStore(new SqliteTables(sqlite, path), sim.schedule)
    // tombstonePurgeMs and idempotencyTtlMs are the database's options, given here with the engine's (--engine).
    const { n, r, w, tombstonePurgeMs, idempotencyTtlMs, ...engine } = this.options.config as EngineConfig & { tombstonePurgeMs?: number }
    try {
      const db = await createDatabase(
        { store, clock: sim.clock, random: sim.random, transport: this.traffic.wrap(sim.transport), location: dataDir },
        {
          engine,
          replication: { n, r, w },
          ...(tombstonePurgeMs === undefined ? {} : { tombstonePurgeMs }),
          ...(idempotencyTtlMs === undefined ? {} : { idempotencyTtlMs }),
        },
      )
      this.nodes.push({ id: sim.id, dataDir, path, sim, sqlite, db })
      this.nodes.sort((a, b) => (a.id < b.id ? -1 : 1))
    } catch (err) {
      await store.close()
      throw err
    }
  }
}

function filesOf(n: DiskNode): NodeFiles {
  // TRUNCATE: every WAL frame copied into the file and the WAL cut to zero bytes, so the
  // file sizes are the data's, not the checkpoint schedule's.
  n.sqlite.pragma('wal_checkpoint(TRUNCATE)')
  const pageSize = Number(n.sqlite.pragma('page_size', { simple: true }))
  const pages = Number(n.sqlite.pragma('page_count', { simple: true }))
  const free = Number(n.sqlite.pragma('freelist_count', { simple: true }))
  const size = (p: string): number => (existsSync(p) ? statSync(p).size : 0)
  const dbBytes = size(n.path)
  const walBytes = size(`${n.path}-wal`)
  return {
    dbBytes,
    walBytes,
    sqliteBytes: dbBytes + walBytes,
    usedBytes: (pages - free) * pageSize,
    freeBytes: free * pageSize,
    savedIndexBytes: n.db.engine?.indexSnapshot()?.length ?? size(`${n.path}.${INDEX_SNAPSHOT_ASIDE}`),
  }
}
