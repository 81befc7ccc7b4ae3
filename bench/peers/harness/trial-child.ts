// Entry of the child process that runs one trial: `node --import tsx trial-child.ts '<json>'`.
// A process per trial gives each system its own peak RSS, a clean heap and event loop,
// and a parent that can kill a trial which hangs. The outcome goes back over IPC (or to
// stdout as the last line, when there is no IPC channel), then the process exits, which
// ends whatever timers or sockets a system left behind.
import '../../../node/polyfill/index.js'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isSystemName, loadSystem } from '../systems/index.js'
import { runTrial, type ChildReply, type ChildRequest, type TrialOutcome } from './trial.js'

const request = JSON.parse(process.argv[2] ?? '{}') as ChildRequest
let outcome: TrialOutcome
if (!isSystemName(request.system)) {
  outcome = { ok: false, phase: 'start', reason: `unknown system ${String(request.system)}`, peakRssBytes: 0 }
} else {
  const dir = mkdtempSync(join(request.baseDir ?? tmpdir(), `rumordb-peers-${request.system}-`))
  try {
    const system = await loadSystem(request.system)
    outcome = await runTrial(system, request, dir)
  } catch (err) {
    outcome = { ok: false, phase: 'start', reason: err instanceof Error ? `${err.name}: ${err.message}` : String(err), peakRssBytes: 0 }
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 })
  }
}
const reply: ChildReply = { outcome }
if (process.send !== undefined) {
  process.send(reply, () => process.exit(0))
} else {
  console.log(JSON.stringify(reply))
  process.exit(0)
}
