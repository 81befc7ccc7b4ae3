// Small SVG charts for benchmark reports: lines (also step lines, for CDFs; linear or
// log x) and grouped bars, each with a title, axis labels with units and a legend, so a
// plot reads on its own. Hand-written on purpose: none of the project's dependencies
// plots, and a plotting library (with a headless browser or canvas behind it) is a heavy
// install for a few line and bar charts that take ~250 lines of string building. Pure:
// returns SVG text.

export interface Point {
  readonly x: number
  readonly y: number
}

export interface LineSeries {
  readonly label: string
  readonly points: readonly Point[]
  /** Palette index (default: the series' position). Series of one system share a colour. */
  readonly color?: number
  /** Dash pattern index: 0 solid, 1 dashed, 2 dotted, 3 dash-dot. */
  readonly dash?: number
  /** Horizontal-then-vertical steps (a CDF) instead of straight segments. */
  readonly step?: boolean
  /** Draw a marker at each point (default true unless step). */
  readonly markers?: boolean
  /** Marker shape index: circle, square, triangle, diamond (default: the series' position). */
  readonly marker?: number
}

export interface LineChart {
  readonly title: string
  readonly subtitle?: string
  readonly xLabel: string
  readonly yLabel: string
  readonly series: readonly LineSeries[]
  /** Ticks to label on x (default: nice ticks over the data, or powers of ten when xLog). */
  readonly xTicks?: readonly number[]
  /** Logarithmic x (cluster sizes 10…1,000); points with x ≤ 0 cannot be placed and are left out. */
  readonly xLog?: boolean
  /** Force the y range to include these (e.g. [0, 1] for a CDF). */
  readonly yRange?: readonly [number, number]
  /** Logarithmic y (times spanning orders of magnitude); points with y ≤ 0 are left out. */
  readonly yLog?: boolean
  readonly yFormat?: (y: number) => string
  /** A note under the plot (where data is missing, what a FAILED run means…). */
  readonly footnote?: string
}

export interface BarSeries {
  readonly label: string
  /** One value per category; null draws a labelled gap (e.g. "FAILED"). */
  readonly values: readonly (number | null)[]
  readonly color?: number
}

export interface BarChart {
  readonly title: string
  readonly subtitle?: string
  readonly xLabel: string
  readonly yLabel: string
  readonly categories: readonly string[]
  readonly series: readonly BarSeries[]
  /** What a null value is shown as (default "n/a"). */
  readonly missingLabel?: string
  readonly footnote?: string
}

/** Tableau 10: distinct in colour and in lightness, so they survive greyscale reasonably. */
export const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac']
const DASHES = ['', '8 4', '2 4', '8 4 2 4']

const PLOT_W = 560
const PLOT_H = 340
const MARGIN = { top: 64, bottom: 74, left: 78 }
const HEIGHT = MARGIN.top + PLOT_H + MARGIN.bottom
const FONT = 'font-family="Helvetica, Arial, sans-serif"'
const MARKERS = ['circle', 'square', 'triangle', 'diamond'] as const

/**
 * The legend sits right of the plot; the image widens to fit its longest label, and the
 * title, subtitle and footnote (≈10, 7 and 6.5 px a character at 17, 12 and 11 px).
 */
function widthFor(labels: readonly string[], chart: { title: string; subtitle?: string; footnote?: string }): number {
  const legend = MARGIN.left + PLOT_W + 16 + 28 + Math.max(60, ...labels.map((l) => l.length * 7)) + 12
  const texts = Math.max(chart.title.length * 10, (chart.subtitle ?? '').length * 7, (chart.footnote ?? '').length * 6.5)
  return Math.ceil(Math.max(legend, MARGIN.left + texts + 12))
}

export function lineChartSvg(chart: LineChart): string {
  const placeable = (p: Point): boolean => (chart.xLog !== true || p.x > 0) && (chart.yLog !== true || p.y > 0)
  const points = chart.series.flatMap((s) => s.points.filter(placeable))
  const xs = points.map((p) => p.x)
  const ys = points.map((p) => p.y)
  const lo = Math.min(...xs, Infinity)
  const hi = Math.max(...xs, -Infinity)
  const xTicks = (chart.xTicks ?? (chart.xLog === true ? decadeTicks(lo, hi) : niceTicks(lo, hi))).filter((t) => chart.xLog !== true || t > 0)
  // Positions are linear in tx(x): log10 on a log axis; tick labels keep the data's values.
  const tx = chart.xLog === true ? Math.log10 : (x: number): number => x
  const [x0, x1] = extent([...xs, ...xTicks].map(tx))
  const yTicks =
    chart.yLog === true
      ? logTicks(Math.min(...ys, chart.yRange?.[0] ?? Infinity), Math.max(...ys, chart.yRange?.[1] ?? -Infinity))
      : niceTicks(Math.min(...ys, chart.yRange?.[0] ?? Infinity, 0), Math.max(...ys, chart.yRange?.[1] ?? -Infinity))
  const ty = chart.yLog === true ? Math.log10 : (y: number): number => y
  const [y0, y1] = extent(yTicks.map(ty))
  const sx = (x: number): number => MARGIN.left + (x1 === x0 ? PLOT_W / 2 : ((tx(x) - x0) / (x1 - x0)) * PLOT_W)
  const sy = (y: number): number => MARGIN.top + PLOT_H - (y1 === y0 ? PLOT_H / 2 : ((ty(y) - y0) / (y1 - y0)) * PLOT_H)
  const out = frame(widthFor(chart.series.map((s) => s.label), chart), chart.title, chart.subtitle, chart.xLabel, chart.yLabel, chart.footnote)
  out.push(...yGrid(yTicks, sy, chart.yFormat ?? formatTick))
  for (const t of xTicks) {
    out.push(`<line x1="${sx(t)}" y1="${MARGIN.top + PLOT_H}" x2="${sx(t)}" y2="${MARGIN.top + PLOT_H + 5}" stroke="#333"/>`)
    out.push(text(sx(t), MARGIN.top + PLOT_H + 19, formatTick(t), 'middle', 12))
  }
  if (points.length === 0) out.push(text(MARGIN.left + PLOT_W / 2, MARGIN.top + PLOT_H / 2, 'no data', 'middle', 14))
  chart.series.forEach((s, i) => {
    const color = PALETTE[(s.color ?? i) % PALETTE.length] as string
    const dash = DASHES[(s.dash ?? 0) % DASHES.length] as string
    const sorted = s.points.filter(placeable).sort((a, b) => a.x - b.x)
    if (sorted.length > 0) {
      let d = `M${sx(sorted[0]!.x).toFixed(1)},${sy(sorted[0]!.y).toFixed(1)}`
      for (let k = 1; k < sorted.length; k++) {
        const p = sorted[k] as Point
        if (s.step === true) d += ` H${sx(p.x).toFixed(1)}`
        d += ` L${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`
      }
      out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2.2"${dash === '' ? '' : ` stroke-dasharray="${dash}"`}/>`)
      if (s.markers ?? s.step !== true) for (const p of sorted) out.push(marker(s.marker ?? i, sx(p.x), sy(p.y), color))
    }
    out.push(...legendEntry(i, s.label, color, dash, s.markers ?? s.step !== true ? (s.marker ?? i) : null))
  })
  out.push('</svg>')
  return out.join('\n')
}

export function barChartSvg(chart: BarChart): string {
  const values = chart.series.flatMap((s) => s.values.filter((v): v is number => v !== null))
  const yTicks = niceTicks(0, Math.max(...values, 0))
  const [, y1] = extent(yTicks)
  const sy = (y: number): number => MARGIN.top + PLOT_H - (y1 === 0 ? 0 : (y / y1) * PLOT_H)
  const out = frame(widthFor(chart.series.map((s) => s.label), chart), chart.title, chart.subtitle, chart.xLabel, chart.yLabel, chart.footnote)
  out.push(...yGrid(yTicks, sy, formatTick))
  const groupW = PLOT_W / Math.max(1, chart.categories.length)
  const barW = (groupW * 0.8) / Math.max(1, chart.series.length)
  chart.categories.forEach((category, c) => {
    const gx = MARGIN.left + c * groupW
    out.push(text(gx + groupW / 2, MARGIN.top + PLOT_H + 19, category, 'middle', 12))
    chart.series.forEach((s, i) => {
      const x = gx + groupW * 0.1 + i * barW
      const v = s.values[c] ?? null
      const color = PALETTE[(s.color ?? i) % PALETTE.length] as string
      if (v === null) {
        out.push(text(x + barW / 2 + 4, MARGIN.top + PLOT_H - 6, chart.missingLabel ?? 'n/a', 'start', 11, '#c00', -90))
        return
      }
      const y = sy(v)
      out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(1, barW - 2).toFixed(1)}" height="${(MARGIN.top + PLOT_H - y).toFixed(1)}" fill="${color}"/>`)
      if (barW >= 18) out.push(text(x + barW / 2 - 1, y - 4, formatTick(v), 'middle', 10))
    })
  })
  chart.series.forEach((s, i) => out.push(...legendEntry(i, s.label, PALETTE[(s.color ?? i) % PALETTE.length] as string, '', 'box')))
  out.push('</svg>')
  return out.join('\n')
}

/** The empirical CDF of samples as step points: (value, fraction of samples ≤ value). */
export function cdfPoints(samples: readonly number[]): Point[] {
  const sorted = [...samples].sort((a, b) => a - b)
  const points: Point[] = sorted.length === 0 ? [] : [{ x: sorted[0] as number, y: 0 }]
  sorted.forEach((x, i) => points.push({ x, y: (i + 1) / sorted.length }))
  return points
}

/** About five round ticks (1, 2 or 5 × 10^k apart) covering lo..hi. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1]
  if (hi === lo) return hi === 0 ? [0, 1] : niceTicks(Math.min(0, lo), Math.max(0, hi), target)
  const raw = (hi - lo) / target
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = ([1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag) as number
  const ticks: number[] = []
  for (let t = Math.floor(lo / step) * step; t <= hi + step * 0.999; t += step) ticks.push(Number(t.toPrecision(12)))
  return ticks
}

/** Powers of ten from the one at or below lo to the one at or above hi (a log axis). */
export function decadeTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !Number.isFinite(hi) || hi < lo) return [1, 10]
  const ticks: number[] = []
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) ticks.push(10 ** k)
  return ticks.length === 1 ? [ticks[0] as number, (ticks[0] as number) * 10] : ticks
}

/** 1, 2, 5 × powers of ten covering [lo, hi] (lo > 0), for a logarithmic axis. */
export function logTicks(lo: number, hi: number): number[] {
  if (!(lo > 0) || !Number.isFinite(hi) || hi < lo) return [1, 10]
  const ticks: number[] = []
  for (let k = Math.floor(Math.log10(lo)); k <= Math.ceil(Math.log10(hi)); k++) {
    for (const m of [1, 2, 5]) ticks.push(m * 10 ** k)
  }
  // Keep one tick at or below lo and one at or above hi.
  const first = ticks.findLastIndex((t) => t <= lo)
  const last = ticks.findIndex((t) => t >= hi)
  return ticks.slice(Math.max(0, first), last < 0 ? undefined : last + 1)
}

function extent(values: readonly number[]): [number, number] {
  return [Math.min(...values), Math.max(...values)]
}

function formatTick(v: number): string {
  if (v === 0) return '0'
  const abs = Math.abs(v)
  if (abs >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`
  return Number(v.toPrecision(3)).toLocaleString('en-US')
}

function frame(width: number, title: string, subtitle: string | undefined, xLabel: string, yLabel: string, footnote: string | undefined): string[] {
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${HEIGHT}" viewBox="0 0 ${width} ${HEIGHT}" ${FONT}>`,
    `<rect width="${width}" height="${HEIGHT}" fill="#fff"/>`,
    text(MARGIN.left, 26, title, 'start', 17, '#111', 0, 'bold'),
  ]
  if (subtitle !== undefined) out.push(text(MARGIN.left, 46, subtitle, 'start', 12, '#555'))
  out.push(`<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${PLOT_W}" height="${PLOT_H}" fill="none" stroke="#333"/>`)
  out.push(text(MARGIN.left + PLOT_W / 2, MARGIN.top + PLOT_H + 42, xLabel, 'middle', 13))
  out.push(text(20, MARGIN.top + PLOT_H / 2, yLabel, 'middle', 13, '#111', -90))
  if (footnote !== undefined) out.push(text(MARGIN.left, HEIGHT - 10, footnote, 'start', 11, '#555'))
  return out
}

function yGrid(ticks: readonly number[], sy: (y: number) => number, format: (y: number) => string): string[] {
  return ticks.flatMap((t) => [
    `<line x1="${MARGIN.left}" y1="${sy(t).toFixed(1)}" x2="${MARGIN.left + PLOT_W}" y2="${sy(t).toFixed(1)}" stroke="#e3e3e3"/>`,
    text(MARGIN.left - 8, sy(t) + 4, format(t), 'end', 12),
  ])
}

/** A legend line: a box (bars) or a line sample with its marker shape (null: none). */
function legendEntry(i: number, label: string, color: string, dash: string, shape: number | null | 'box'): string[] {
  const x = MARGIN.left + PLOT_W + 16
  const y = MARGIN.top + 10 + i * 20
  const marks =
    shape === 'box'
      ? [`<rect x="${x}" y="${y - 6}" width="22" height="12" fill="${color}"/>`]
      : [
          `<line x1="${x}" y1="${y}" x2="${x + 22}" y2="${y}" stroke="${color}" stroke-width="2.5"${dash === '' ? '' : ` stroke-dasharray="${dash}"`}/>`,
          ...(shape === null ? [] : [marker(shape, x + 11, y, color)]),
        ]
  return [...marks, text(x + 28, y + 4, label, 'start', 12)]
}

function marker(shape: number, x: number, y: number, color: string): string {
  const kind = MARKERS[shape % MARKERS.length]
  const r = 4.5
  const at = (dx: number, dy: number): string => `${(x + dx).toFixed(1)},${(y + dy).toFixed(1)}`
  switch (kind) {
    case 'square':
      return `<rect x="${(x - r + 0.5).toFixed(1)}" y="${(y - r + 0.5).toFixed(1)}" width="${2 * r - 1}" height="${2 * r - 1}" fill="${color}"/>`
    case 'triangle':
      return `<polygon points="${at(0, -r - 1)} ${at(r, r - 1)} ${at(-r, r - 1)}" fill="${color}"/>`
    case 'diamond':
      return `<polygon points="${at(0, -r - 1)} ${at(r + 1, 0)} ${at(0, r + 1)} ${at(-r - 1, 0)}" fill="${color}"/>`
    default:
      return `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${r - 0.5}" fill="${color}"/>`
  }
}

function text(x: number, y: number, s: string, anchor: 'start' | 'middle' | 'end', size: number, fill = '#111', rotate = 0, weight = 'normal'): string {
  const transform = rotate === 0 ? '' : ` transform="rotate(${rotate} ${x.toFixed(1)} ${y.toFixed(1)})"`
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" text-anchor="${anchor}" font-size="${size}" fill="${fill}" font-weight="${weight}"${transform}>${escapeXml(s)}</text>`
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string)
}
