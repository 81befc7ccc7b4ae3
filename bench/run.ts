// `npm run bench -- <name> [args…]`: runs one benchmark from bench/<name>.ts.
// Benchmarks never run inside `npm test`; each prints its comparison as a ratio.
import '../node/polyfill/index.js'

const BENCHES: Record<string, string> = {
  cluster: './cluster.js',
  crdts: './crdts.js',
  'equal-work': './equal-work.js',
  storage: './storage.js',
  sim: './sim.js',
  sync: './sync.js',
  tombstones: './tombstones.js',
}

const [name, ...args] = process.argv.slice(2)
if (name === undefined || !(name in BENCHES)) {
  console.error(`usage: npm run bench -- <${Object.keys(BENCHES).join('|')}> [options]`)
  process.exit(name === undefined ? 0 : 2)
}
const mod = (await import(BENCHES[name] as string)) as { main(args: string[]): Promise<void> }
await mod.main(args)
