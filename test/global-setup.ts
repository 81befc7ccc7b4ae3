// Runs once per vitest run, before any test file: brings the JavaScript that child
// processes run up to date with the sources (see test/fixtures/test-build.ts). After a
// change to a few files it transpiles those; with nothing changed it only hashes the
// sources. TypeScript's own transpiler, with the compiler options of tsconfig.json, so the
// output is what `tsc` emits for each file.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { BUILD_ROOT, updateTestBuild, type Transpile } from './fixtures/test-build.js'

/** Bump when the way files are transpiled changes, so that every file is transpiled again. */
const RECIPE = 1

export default async function setup(): Promise<void> {
  const require = createRequire(import.meta.url)
  const tsVersion = (JSON.parse(readFileSync(require.resolve('typescript/package.json'), 'utf8')) as { version: string }).version
  const tsconfig = readFileSync(new URL('../tsconfig.json', import.meta.url), 'utf8')
  const producer = `typescript ${tsVersion}, tsconfig.json ${createHash('sha256').update(tsconfig).digest('hex')}, recipe ${RECIPE}`
  const started = performance.now()
  const { transpiled, unchanged } = await updateTestBuild(producer, loadTranspile)
  if (transpiled > 0) console.log(`test build: ${transpiled} files transpiled, ${unchanged} unchanged, in ${Math.round(performance.now() - started)} ms`)
}

async function loadTranspile(): Promise<Transpile> {
  const ts = (await import('typescript')).default
  const configPath = new URL('../tsconfig.json', import.meta.url).pathname
  const config = ts.getParsedCommandLineOfConfigFile(configPath, {}, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'))
    },
  })
  if (config === undefined) throw new Error(`cannot read ${configPath}`)
  const compilerOptions = {
    ...config.options,
    // Every source is an ES module ("type": "module"); one file alone cannot tell NodeNext that.
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    // Source maps inline, so a child's stack trace (run with --enable-source-maps) names .ts
    // lines; outDir places them: the map's paths are relative to the output file.
    outDir: BUILD_ROOT,
    declaration: false,
    sourceMap: false,
    inlineSourceMap: true,
    inlineSources: false,
    noEmit: false,
  }
  return (text, fileName) => ts.transpileModule(text, { compilerOptions, fileName }).outputText
}
