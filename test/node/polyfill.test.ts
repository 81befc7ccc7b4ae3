import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const polyfill = fileURLToPath(new URL('../../node/polyfill/index.ts', import.meta.url))

// Run in a fresh process whose Promise.withResolvers is removed first, so the check is
// meaningful on Node 22+ (which ships it) as well as on Node 20 (which does not).
function runWithoutNative(script: string): { status: number | null; stdout: string; stderr: string } {
  const code = `delete Promise.withResolvers; await import(${JSON.stringify(polyfill)}); ${script}`
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

describe('Promise.withResolvers polyfill', () => {
  it('provides a working withResolvers when the runtime lacks one', () => {
    const r = runWithoutNative(`
      const a = Promise.withResolvers(); a.resolve(42); const v = await a.promise;
      const b = Promise.withResolvers(); b.reject(new Error('boom'));
      const e = await b.promise.catch((err) => err.message);
      console.log(JSON.stringify({ v, e, enumerable: Object.keys(Promise).includes('withResolvers') }))
    `)
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({ v: 42, e: 'boom', enumerable: false })
  })

  it('is loaded by the test setup, so the suite sees it', () => {
    const { promise, resolve } = Promise.withResolvers<string>()
    resolve('ok')
    return expect(promise).resolves.toBe('ok')
  })

  it('keeps a native implementation untouched', () => {
    const r = runWithoutNative(`
      const native = function withResolvers() { return 'native' };
      Promise.withResolvers = native;
      await import(${JSON.stringify(polyfill)} + '?again');
      console.log(Promise.withResolvers === native)
    `)
    expect(r.stdout.trim()).toBe('true')
  })
})
