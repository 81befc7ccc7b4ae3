// Parsing of numeric benchmark options, so every benchmark refuses bad values the same way.

/** `text` as a positive safe integer (underscores allowed: 10_000), or `fallback` when absent. */
export function positiveInt(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback
  const n = Number(text.replaceAll('_', ''))
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`${name} must be a positive integer, got ${text}`)
  return n
}
