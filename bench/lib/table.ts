// Tables for benchmark output, plain text or Markdown: first column left-aligned, the rest right-aligned.

export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows]
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)))
  const line = (r: readonly string[]): string =>
    widths
      .map((w, c) => (c === 0 ? (r[c] ?? '').padEnd(w) : (r[c] ?? '').padStart(w)))
      .join('  ')
      .trimEnd()
  const rule = widths.map((w) => '-'.repeat(w)).join('  ')
  return [line(header), rule, ...rows.map(line)].join('\n')
}

/** Fixed-point with thousands separators: 12345.6 → "12,346" (digits = 0). */
export function formatNumber(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return String(n)
  return n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** A duration for a report: "1.23 s" from a second up, "456 ms", "7.8 ms" below 100 ms. */
export function formatMs(v: number): string {
  return v >= 1000 ? `${formatNumber(v / 1000, 2)} s` : `${formatNumber(v, v >= 100 ? 0 : 1)} ms`
}

/** Bytes in MiB, whole: 183500800 → "175". */
export function formatMiB(bytes: number): string {
  return formatNumber(bytes / 2 ** 20)
}

/** The same table in Markdown: the first column left-aligned, the others right-aligned (numbers). */
export function formatMarkdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (r: readonly string[]): string => `| ${r.map((cell) => cell.replace(/\|/g, '\\|')).join(' | ')} |`
  return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join('\n')
}
