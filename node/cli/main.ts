#!/usr/bin/env node
// The `rumordb` command. The polyfill comes first: libp2p needs it on Node 20.
import '../polyfill/index.js'
import { runCli } from './run.js'

await runCli(process.argv)
