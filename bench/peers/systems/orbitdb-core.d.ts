// @orbitdb/core 3 ships no types: the little of its API this benchmark uses.
declare module '@orbitdb/core' {
  import type { EventEmitter } from 'node:events'

  export interface KeyValueDatabase {
    readonly address: string
    readonly events: EventEmitter
    /** Peers seen on the database's topic (OrbitDB's sync). */
    readonly peers: Set<string>
    readonly log: { heads(): Promise<Array<{ hash: string }>> }
    put(key: string, value: unknown): Promise<string>
    all(): Promise<Array<{ key: string; value: unknown; hash: string }>>
    close(): Promise<void>
  }

  export interface OrbitDB {
    open(address: string, options?: { type?: string }): Promise<KeyValueDatabase>
    stop(): Promise<void>
  }

  export function createOrbitDB(options: { ipfs: unknown; id?: string; directory?: string }): Promise<OrbitDB>
}
