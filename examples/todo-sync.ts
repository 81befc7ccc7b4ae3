// An offline-first todo list on two embedded rumordb nodes: the README's example app.
// Each todo is a map (title and done are registers, tags a set). Node B shows the list from
// the change feed; it goes offline, both sides edit, and the edits merge when it is back.
// Run it: npx tsx examples/todo-sync.ts
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Database } from '../src/index.js'
import { openDatabase } from '../node/index.js' // in your app: import { openDatabase } from 'rumordb'

const LAN = { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false }

/** The list as one node holds it: id → { title, done?, tags? }. */
export async function todos(db: Database): Promise<Record<string, unknown>> {
  const list: Record<string, unknown> = {}
  for await (const { key, value } of db.scan({ prefix: 'todo:' })) list[key.slice('todo:'.length)] = value
  return list
}

/** Resolves once `db`'s list satisfies `done`, woken by its change feed (rejects after `ms`). */
async function settled(db: Database, done: (list: Record<string, unknown>) => boolean, ms = 30_000): Promise<void> {
  if (done(await todos(db))) return
  const feed = db.watch('todo:')
  const timer = setTimeout(() => void feed.return?.(), ms)
  try {
    for await (const _change of feed) if (done(await todos(db))) return
    throw new Error(`the todo list did not settle within ${ms} ms: ${JSON.stringify(await todos(db))}`)
  } finally {
    clearTimeout(timer)
    await feed.return?.()
  }
}

export async function runTodoApp(dir: string, log: (line: string) => void = console.log): Promise<Record<string, unknown>[]> {
  const a = await openDatabase({ dataDir: join(dir, 'a'), network: LAN })
  let b: Database = await openDatabase({ dataDir: join(dir, 'b'), network: { ...LAN, join: a.invite() } })

  // B's screen: every change to the list as it commits. Keep the cursor to resume after a restart.
  let cursor: string | undefined
  const show = async (db: Database): Promise<void> => {
    for await (const change of db.watch('todo:', { since: cursor })) {
      cursor = change.cursor
      log(`B: ${change.key} ${change.deleted === true ? 'deleted' : JSON.stringify(change.value)}`)
    }
  }
  let screen = show(b)

  await a.map('todo:1').register('title').set('buy milk')
  await a.map('todo:2').register('title').set('call mum')
  await settled(b, (list) => Object.keys(list).length === 2)

  // B goes offline (the app opens its data without the network) and both sides edit.
  await b.close()
  await screen
  b = await openDatabase({ dataDir: join(dir, 'b') })
  await b.map('todo:1').set('tags').add('shopping') // B tags the first todo...
  await a.map('todo:1').register('done').set(true) //  ...while A ticks it off
  await b.delete('todo:2')
  await b.map('todo:3').register('title').set('water plants')
  await b.close()

  // Back online: B rejoins with what it kept from the invite, and the edits merge.
  b = await openDatabase({ dataDir: join(dir, 'b'), network: LAN })
  screen = show(b)
  const expected = JSON.stringify({ 1: { done: true, tags: ['shopping'], title: 'buy milk' }, 3: { title: 'water plants' } })
  for (const db of [a, b]) await settled(db, (list) => JSON.stringify(list) === expected)
  const lists = [await todos(a), await todos(b)]
  await Promise.all([a.close(), b.close()])
  await screen
  return lists
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = mkdtempSync(join(tmpdir(), 'rumordb-todo-'))
  try {
    const [onA, onB] = await runTodoApp(dir)
    console.log('A:', JSON.stringify(onA))
    console.log('B:', JSON.stringify(onB))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
