// The access controller the equal-work OrbitDB node opens its database with (@orbitdb/core 3
// ships no types; bench/peers/systems/orbitdb-core.d.ts declares the rest it uses).
declare module '@orbitdb/core' {
  export function IPFSAccessController(options: { write: readonly string[] }): unknown
  export interface OrbitDB {
    open(address: string, options?: { type?: string; AccessController?: unknown }): Promise<KeyValueDatabase>
  }
}
