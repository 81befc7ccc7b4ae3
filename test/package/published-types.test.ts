// The published package works for a user who installs only its runtime dependencies: the
// tree is built and packed as `npm publish` would (into a temp directory, not ./dist),
// installed into a scratch project with --omit=dev, and a small program using both entry
// points (rumordb and rumordb/crdts) type-checks with skipLibCheck off, so every
// declaration file the package ships resolves. It failed while the published types
// needed @types/better-sqlite3, a devDependency (TS7016 on dist/src/store/sqlite-open.d.ts).
// No network: the scratch project gets the runtime dependencies `npm ls --omit=dev` lists
// from this checkout's node_modules (linked, and resolved as links: preserveSymlinks), and
// the package itself unpacked from the tarball.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = process.cwd()
const run = (cmd: string, args: string[], cwd: string): string =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' } })

describe('the published package', () => {
  it('installs with its runtime dependencies only and its types compile with skipLibCheck off', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rumordb-published-'))
    try {
      // 1. What `npm publish` would ship: package.json, README and the build of crdts, src and node.
      const pkg = join(dir, 'package')
      run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], ROOT)
      cpSync(join(ROOT, 'package.json'), join(pkg, 'package.json'))
      cpSync(join(ROOT, 'README.md'), join(pkg, 'README.md'))
      const tarball = run('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], pkg).trim().split('\n').pop() as string
      // 2. A user's project: the package and its runtime dependencies, none of our devDependencies.
      const app = join(dir, 'app')
      cpSync(join(ROOT, 'test/package/consumer'), app, { recursive: true })
      const modules = join(app, 'node_modules')
      const runtime = run('npm', ['ls', '--omit=dev', '--all', '--parseable'], ROOT).trim().split('\n').slice(1)
      for (const path of runtime) {
        const target = join(modules, relative(join(ROOT, 'node_modules'), path))
        if (existsSync(target)) continue // inside a package already linked
        mkdirSync(dirname(target), { recursive: true })
        symlinkSync(path, target, 'dir')
      }
      mkdirSync(join(modules, 'rumordb'))
      run('tar', ['-xzf', join(dir, tarball), '-C', join(modules, 'rumordb'), '--strip-components=1'], dir)
      // 3. Type-check with every library declaration checked (our TypeScript, run on the app).
      writeFileSync(
        join(app, 'tsconfig.json'),
        JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true, preserveSymlinks: true }, files: ['index.ts'] }),
      )
      let output = ''
      try {
        output = run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], app)
      } catch (err) {
        output = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`
      }
      expect(output).toBe('')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 240_000)
})
