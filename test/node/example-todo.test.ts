// The README's offline-first example app (examples/todo-sync.ts) on two real embedded nodes
// over 127.0.0.1: edits made while one node was offline merge, the delete holds, and the
// change feed showed each change on the node that was offline.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { runTodoApp } from '../../examples/todo-sync.js'

let dir: string | undefined

afterEach(() => {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true })
})

describe('the offline-first todo example', () => {
  it('merges the edits of both sides after the offline node is back, and shows them in its feed', async () => {
    dir = mkdtempSync(join(tmpdir(), 'rumordb-todo-'))
    const lines: string[] = []
    const [onA, onB] = await runTodoApp(dir, (line) => lines.push(line))
    const expected = { 1: { done: true, tags: ['shopping'], title: 'buy milk' }, 3: { title: 'water plants' } }
    expect(onA).toEqual(expected)
    expect(onB).toEqual(expected)
    expect(lines).toContain('B: todo:2 deleted')
    expect(lines).toContain('B: todo:1 {"done":true,"tags":["shopping"],"title":"buy milk"}')
    expect(lines).toContain('B: todo:3 {"title":"water plants"}')
  }, 120_000)
})
