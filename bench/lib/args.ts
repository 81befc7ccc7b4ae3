// Parsing of benchmark options, so every benchmark refuses bad values the same way.

/** `text` as a positive safe integer (underscores allowed: 10_000), or `fallback` when absent. */
export function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback
  const n = Number(text.replaceAll('_', ''))
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer, got ${text}`)
  return n
}

/** `--synchronous`: NORMAL or FULL (any case), `fallback` when absent. */
export function synchronousOption(value: string | undefined, fallback: 'NORMAL' | 'FULL'): 'NORMAL' | 'FULL' {
  const mode = (value ?? fallback).toUpperCase()
  if (mode !== 'NORMAL' && mode !== 'FULL') throw new RangeError(`--synchronous must be NORMAL or FULL, got ${value}`)
  return mode
}
