// Options of the embedded API are checked strictly: an unknown name (a typo) or a value of
// the wrong type is refused with InvalidOptionError naming the option, before anything is
// written. A typo in `idempotencyKey` used to make a retried increment count twice.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { checkOptions, optionKinds } from '../../src/base/options.js'
import { InvalidOptionError, openDatabase, type Database } from '../../src/index.js'

let dir: string
let db: Database

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rumordb-options-'))
  db = await openDatabase({ dataDir: join(dir, 'data') })
})

afterEach(async () => {
  await db.close()
  rmSync(dir, { recursive: true, force: true })
})

/** Runs `call`, expects InvalidOptionError whose message matches every pattern. */
async function refused(call: () => unknown, ...patterns: RegExp[]): Promise<void> {
  let caught: unknown
  try {
    await call()
  } catch (err) {
    caught = err
  }
  expect(caught, 'expected InvalidOptionError').toBeInstanceOf(InvalidOptionError)
  for (const pattern of patterns) expect((caught as Error).message).toMatch(pattern)
}

// Casts: these are the mistakes TypeScript would catch, made from JavaScript or through `any`.
const loose = (o: unknown): never => o as never

describe('handle options', () => {
  it('refuses a misspelt idempotencyKey instead of writing without one, and suggests the name', async () => {
    const counter = db.counter('orders')
    await refused(() => counter.increment(5, loose({ idempotencykey: 'order-17' })), /"idempotencykey"/, /idempotencyKey/)
    await refused(() => counter.increment(5, loose({ idempotency_key: 'order-17' })), /"idempotency_key"/)
    expect(await counter.value()).toBe(0)
    // The right spelling still works, and a retry is a replay.
    await counter.increment(5, { idempotencyKey: 'order-17' })
    expect((await counter.increment(5, { idempotencyKey: 'order-17' })).replayed).toBe(true)
    expect(await counter.value()).toBe(5)
  })

  it('refuses wrong types and out-of-range numbers, naming the option', async () => {
    await refused(() => db.counter('c').increment(1, loose({ requireQuorum: 'yes' })), /requireQuorum/, /boolean/)
    await refused(() => db.gcounter('g').increment(1, loose({ w: 0 })), /\bw\b/, /positive integer/)
    await refused(() => db.set('s').add('x', loose({ w: 1.5 })), /\bw\b/)
    await refused(() => db.set('s').remove('x', loose({ n: '3' })), /\bn\b/)
    await refused(() => db.register('r').set(1, loose({ idempotencyKey: 17 })), /idempotencyKey/, /string/)
    await refused(() => db.counter('c').decrement(1, loose('w=2')), /options must be an object/)
    await refused(() => db.counter('c').value(loose({ r: 0 })), /\br\b/, /positive integer/)
    await refused(() => db.set('s').values(loose({ tokn: 'x' })), /"tokn"/, /token/)
    await refused(() => db.set('s').has('x', loose({ token: 5 })), /token/)
    await refused(() => db.register('r').value(loose(null)), /options must be an object/)
    expect(await db.counter('c').value()).toBe(0)
    expect(await db.set('s').values()).toEqual([])
  })

  it('accepts the documented options, and undefined for any of them', async () => {
    const written = await db.counter('c').increment(2, { w: 1, requireQuorum: false, idempotencyKey: undefined, n: undefined })
    expect(await db.counter('c').value({ token: written.token, r: 1 })).toBe(2)
    expect(await db.counter('c').value({ token: undefined })).toBe(2)
    expect(await db.counter('c').value(undefined)).toBe(2)
  })
})

describe('database options', () => {
  it('refuses unknown or mistyped options of get, write, resolve, keys and scan', async () => {
    await db.counter('k').increment()
    await refused(() => db.get('k', loose({ rr: 2 })), /db\.get/, /"rr"/)
    await refused(() => db.get('k', loose({ r: -1 })), /\br\b/)
    await refused(() => db.get('k', loose({ requireQuorum: 'yes' })), /db\.get/, /requireQuorum/)
    await refused(() => db.write('k', { type: 'pncounter', op: 'increment', amount: 1 }, loose({ requireQuorum: 1 })), /db\.write/, /requireQuorum/)
    await refused(() => db.write('k', { type: 'pncounter', op: 'increment', amount: 1 }, loose({ idempotency: 'x' })), /"idempotency"/)
    await refused(() => db.resolve('k', 'pncounter', loose({ idempotencyKey: 'x' })), /db\.resolve/, /"idempotencyKey"/)
    await refused(() => db.keys(loose({ perfix: 'k' })), /db\.keys/, /"perfix"/, /prefix/)
    await refused(() => db.keys(loose({ limit: '10' })), /limit/)
    await refused(() => db.scan(loose({ after: 'a' })).next(), /db\.scan/, /"after"/)
    expect(await db.counter('k').value()).toBe(1)
    expect(db.keys({ prefix: 'k', limit: 10, after: undefined })).toEqual([{ key: 'k', type: 'pncounter' }])
  })

  it('refuses unknown or mistyped openDatabase options, naming them', async () => {
    const dataDir = join(dir, 'other')
    await refused(() => openDatabase(loose({ dataDir, replicaton: { n: 3 } })), /openDatabase/, /"replicaton"/, /replication/)
    await refused(() => openDatabase(loose({ dataDir, replication: { n: 3, q: 1 } })), /"replication\.q"/)
    await refused(() => openDatabase(loose({ dataDir, replication: { r: 0 } })), /replication\.r/)
    await refused(() => openDatabase(loose({ dataDir, synchronous: 'fast' })), /synchronous/, /"NORMAL"/)
    await refused(() => openDatabase(loose({ dataDir, onListenerError: 'log' })), /onListenerError/, /function/)
    await refused(() => openDatabase(loose({ dataDir, idempotencyTtlMs: '1h' })), /idempotencyTtlMs/)
    const other = await openDatabase({ dataDir, synchronous: 'FULL', replication: { w: 1 }, onListenerError: () => undefined })
    await other.close()
  })
})

describe('checkOptions', () => {
  const spec = { limit: optionKinds.nonNegativeInteger, name: optionKinds.string, nested: { of: { on: optionKinds.boolean } } } as const

  it('passes undefined options, undefined values and valid ones', () => {
    expect(() => checkOptions(undefined, spec, 'f')).not.toThrow()
    expect(() => checkOptions({}, spec, 'f')).not.toThrow()
    expect(() => checkOptions({ limit: 0, name: undefined, nested: { on: true } }, spec, 'f')).not.toThrow()
  })

  it('names where, the option and what it must be', () => {
    expect(() => checkOptions({ limit: -1 }, spec, 'f')).toThrow(/^f: option "limit" must be a non-negative integer, got -1$/)
    expect(() => checkOptions({ nested: { on: 'yes' } }, spec, 'f')).toThrow(/option "nested\.on" must be a boolean \(true or false\), got "yes"/)
    expect(() => checkOptions({ nested: [] }, spec, 'f')).toThrow(/option "nested" must be an object/)
    expect(() => checkOptions({ Limit: 1 }, spec, 'f')).toThrow(/unknown option "Limit"; did you mean "limit"\?/)
    expect(() => checkOptions({ zzz: 1 }, spec, 'f')).toThrow(/unknown option "zzz"; the options are limit, name, nested/)
    expect(() => checkOptions(7, spec, 'f')).toThrow(/f: options must be an object/)
  })

  it('does not echo a long unknown name whole', () => {
    const name = 'x'.repeat(10_000)
    let message = ''
    try {
      checkOptions({ [name]: 1 }, spec, 'f')
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toMatch(/unknown option/)
    expect(message.length).toBeLessThan(400)
  })
})
