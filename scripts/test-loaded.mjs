// `npm run test:loaded`: runs `npm test` while CPU-bound processes compete for the cores,
// as on a busy developer machine or a shared CI runner. The suite must stay green this way
// (README, "Tests"). Each busy process spins in short bursts and ends by itself after
// RUMORDB_LOAD_MAX_MINUTES (default 30) even if this script dies; the script stops the ones
// it started, by pid, when the tests end.
import { spawn } from 'node:child_process'
import { availableParallelism, loadavg } from 'node:os'

const busy = Number(process.env.RUMORDB_LOAD_PROCESSES ?? 2)
const maxMinutes = Number(process.env.RUMORDB_LOAD_MAX_MINUTES ?? 30)
if (!Number.isInteger(busy) || busy < 0 || busy > 64) {
  console.error('RUMORDB_LOAD_PROCESSES must be an integer from 0 to 64, e.g. RUMORDB_LOAD_PROCESSES=2')
  process.exit(2)
}
if (!(maxMinutes > 0)) {
  console.error('RUMORDB_LOAD_MAX_MINUTES must be a positive number of minutes, e.g. 30')
  process.exit(2)
}

const spin = `const end = Date.now() + ${Math.round(maxMinutes * 60_000)}; let x = 0; while (Date.now() < end) { for (let i = 0; i < 1e6; i++) x = (x * 31 + i) | 0 }`
const children = Array.from({ length: busy }, () => spawn(process.execPath, ['-e', spin], { stdio: 'ignore' }))
console.log(`test:loaded: ${busy} CPU-bound processes (pids ${children.map((c) => c.pid).join(', ')}) beside npm test on ${availableParallelism()} cores`)

const started = Date.now()
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const test = spawn(npm, ['test', ...process.argv.slice(2)], { stdio: 'inherit' })
const stopBusy = () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
}
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    stopBusy()
    test.kill(signal)
  })
}
test.on('exit', (code) => {
  const load = loadavg().map((l) => l.toFixed(1)).join(' ')
  stopBusy()
  const seconds = ((Date.now() - started) / 1000).toFixed(0)
  console.log(`test:loaded: npm test ${code === 0 ? 'passed' : 'FAILED'} in ${seconds} s with ${busy} busy processes (load average ${load})`)
  process.exit(code ?? 1)
})
