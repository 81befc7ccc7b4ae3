// Parsing of benchmark options, so every benchmark refuses bad values the same way.
import type { SynchronousMode } from '../../src/store/sqlite-open.js'

/** `text` as a positive safe integer (underscores allowed: 10_000), or `fallback` when absent. */
export function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback
  const n = Number(text.replaceAll('_', ''))
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer, got ${text}`)
  return n
}

/** A comma-separated list of ascending positive sizes (`--sizes 1000,10000`), or `fallback` when absent. */
export function sizesOption(name: string, text: string | undefined, fallback: readonly number[]): readonly number[] {
  if (text === undefined) return fallback
  const sizes = text
    .split(',')
    .filter((s) => s.trim() !== '')
    .map((s) => positiveInt(name, s.trim(), 0))
  if (sizes.length === 0) throw new RangeError(`${name} needs at least one size`)
  if (sizes.some((s, i) => i > 0 && s <= (sizes[i - 1] as number))) throw new RangeError(`${name} must ascend, got ${text}`)
  return sizes
}

/** `--synchronous`: NORMAL or FULL (any case), `fallback` when absent. */
export function synchronousOption(value: string | undefined, fallback: SynchronousMode): SynchronousMode {
  const mode = (value ?? fallback).toUpperCase()
  if (mode !== 'NORMAL' && mode !== 'FULL') throw new RangeError(`--synchronous must be NORMAL or FULL, got ${value}`)
  return mode
}
