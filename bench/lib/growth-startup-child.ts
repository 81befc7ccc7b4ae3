// Child process of measureStartupInChild (growth-startup.ts): one measured open of a
// database, its result printed as one JSON line. argv[2]: the StartupOptions as JSON.
import { measureStartup, type StartupOptions } from './growth-startup.js'

const options = JSON.parse(process.argv[2] ?? '') as StartupOptions
const result = await measureStartup(options)
process.stdout.write(`${JSON.stringify(result)}\n`)
