// The layers of the tree, checked rather than hoped for (STYLE.md habit 10): the rules of
// .dependency-cruiser.cjs (no import cycle between files; crdts/ imports nothing of ours
// and no Node built-in; src/ no libp2p, HTTP framework or node/, and the file system only
// in its store; product code never imports test/ or bench/), and no cycle between folders
// either. Each check also runs on a small bad tree, to show it can fail.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { cruise, type ICruiseResult } from 'dependency-cruiser'
import extractDepcruiseOptions from 'dependency-cruiser/config-utl/extract-depcruise-options'
import { describe, expect, it } from 'vitest'

const ROOTS = ['crdts', 'src', 'node', 'bench', 'test']

async function cruiseTree(baseDir: string, roots: string[]): Promise<ICruiseResult> {
  const options = await extractDepcruiseOptions(join(process.cwd(), '.dependency-cruiser.cjs'))
  const result = await cruise(roots, { ...options, baseDir, outputType: 'json' })
  return typeof result.output === 'string' ? (JSON.parse(result.output) as ICruiseResult) : result.output
}

function violations(result: ICruiseResult): string[] {
  return result.summary.violations.map((v) => `${v.rule.name}: ${v.from} → ${v.to}${v.cycle === undefined ? '' : ` (${v.cycle.map((c) => c.name).join(' → ')})`}`)
}

/** Folders (a file's directory) that reach each other through imports: every strongly connected group of two or more. */
export function folderCycles(edges: Iterable<readonly [string, string]>): string[][] {
  const graph = new Map<string, Set<string>>()
  for (const [from, to] of edges) {
    const a = dirname(from)
    const b = dirname(to)
    if (a === b) continue
    if (!graph.has(a)) graph.set(a, new Set())
    if (!graph.has(b)) graph.set(b, new Set())
    graph.get(a)!.add(b)
  }
  // Tarjan's strongly connected components.
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const groups: string[][] = []
  let next = 0
  const visit = (v: string): void => {
    index.set(v, next)
    low.set(v, next++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const group: string[] = []
      for (let w = stack.pop()!; ; w = stack.pop()!) {
        onStack.delete(w)
        group.push(w)
        if (w === v) break
      }
      if (group.length > 1) groups.push(group.sort())
    }
  }
  for (const v of graph.keys()) if (!index.has(v)) visit(v)
  return groups
}

function localEdges(result: ICruiseResult, prefixes: readonly string[]): [string, string][] {
  const ours = (path: string): boolean => prefixes.some((p) => path.startsWith(`${p}/`))
  return result.modules.flatMap((m) => (ours(m.source) ? m.dependencies.filter((d) => ours(d.resolved)).map((d): [string, string] => [m.source, d.resolved]) : []))
}

describe('architecture', () => {
  it('the tree keeps every layer rule and has no import cycle, between files or between folders', async () => {
    const result = await cruiseTree(process.cwd(), ROOTS)
    expect(result.summary.totalCruised).toBeGreaterThan(300)
    expect(violations(result)).toEqual([])
    // Product code: crdts, src and node (test/ and bench/ are allowed to reach across folders freely, but not in cycles of files).
    expect(folderCycles(localEdges(result, ['crdts', 'src', 'node']))).toEqual([])
    expect(folderCycles(localEdges(result, ['bench']))).toEqual([])
  }, 60_000)

  it('a tree that breaks the rules is caught: a file cycle, crdts importing src, src reading files outside its store, a folder cycle', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rumordb-layers-'))
    try {
      const file = (path: string, text: string): void => {
        mkdirSync(dirname(join(dir, path)), { recursive: true })
        writeFileSync(join(dir, path), text)
      }
      file('crdts/a.ts', "import { b } from '../src/b.js'\nexport const a = b\n")
      file('src/b.ts', "import { readFileSync } from 'node:fs'\nexport const b = typeof readFileSync\n")
      file('src/x/c.ts', "import { d } from '../y/d.js'\nexport const c = d\n")
      file('src/y/d.ts', "import { e } from '../x/e.js'\nexport const d = e\n")
      file('src/x/e.ts', "export const e = 1\n")
      file('src/f.ts', "import { g } from './g.js'\nexport const f = g\n")
      file('src/g.ts', "import { f } from './f.js'\nexport const g = f\n")
      file('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }))
      const result = await cruiseTree(dir, ['crdts', 'src'])
      const names = new Set(result.summary.violations.map((v) => v.rule.name))
      expect(names).toEqual(new Set(['crdts-imports-nothing-of-ours', 'src-fs-only-in-store', 'no-circular']))
      expect(folderCycles(localEdges(result, ['crdts', 'src']))).toEqual([['src/x', 'src/y']])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)
})
