// The benchmark plots' SVG writer: round ticks, CDF steps, escaped text, every series in
// the legend, and a labelled gap (not a zero bar) for a missing value.
import { describe, expect, it } from 'vitest'
import { barChartSvg, cdfPoints, decadeTicks, escapeXml, lineChartSvg, logTicks, niceTicks } from '../../bench/lib/svg-plot.js'

describe('svg-plot', () => {
  it('picks round ticks covering the range', () => {
    expect(niceTicks(0, 10)).toEqual([0, 2, 4, 6, 8, 10])
    expect(niceTicks(0, 0.9)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1])
    expect(niceTicks(3, 3)).toEqual([0, 1, 2, 3])
    expect(niceTicks(Number.NaN, 1)).toEqual([0, 1])
  })

  it('turns samples into CDF steps from 0 to 1', () => {
    expect(cdfPoints([30, 10, 20])).toEqual([
      { x: 10, y: 0 },
      { x: 10, y: 1 / 3 },
      { x: 20, y: 2 / 3 },
      { x: 30, y: 1 },
    ])
    expect(cdfPoints([])).toEqual([])
  })

  it('draws a line chart with title, axis labels and one legend entry per series', () => {
    const svg = lineChartSvg({
      title: 'Time <to> converge',
      xLabel: 'nodes',
      yLabel: 'ms',
      series: [
        { label: 'rumordb & co', points: [{ x: 3, y: 10 }, { x: 5, y: 20 }] },
        { label: 'peer', points: cdfPoints([1, 2]), step: true },
      ],
    })
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.endsWith('</svg>')).toBe(true)
    expect(svg).toContain('Time &lt;to&gt; converge')
    expect(svg).toContain('rumordb &amp; co')
    expect(svg.match(/<path /g)).toHaveLength(2)
    expect(svg).not.toContain('NaN')
  })

  it('spaces a log x axis by decades and leaves out points it cannot place', () => {
    expect(decadeTicks(10, 1000)).toEqual([10, 100, 1000])
    expect(decadeTicks(5, 20)).toEqual([1, 10, 100])
    expect(decadeTicks(10, 10)).toEqual([10, 100])
    expect(decadeTicks(0, 10)).toEqual([1, 10])
    const svg = lineChartSvg({
      title: 'Rounds',
      xLabel: 'nodes (log scale)',
      yLabel: 'rounds',
      xLog: true,
      series: [{ label: 'ae', points: [{ x: 0, y: 9 }, { x: 10, y: 1 }, { x: 100, y: 2 }, { x: 1000, y: 3 }] }],
    })
    // The three markers sit at equal distances: 10 → 100 is as far as 100 → 1,000.
    const cx = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1])).slice(0, 3)
    expect(cx).toHaveLength(3)
    expect((cx[1] as number) - (cx[0] as number)).toBeCloseTo((cx[2] as number) - (cx[1] as number), 0)
    expect(svg).toContain('>1,000</text>')
    expect(svg.match(/<circle /g)).toHaveLength(3 + 1) // x = 0 is not drawn; one legend marker
    expect(svg).not.toContain('NaN')
  })

  it('draws bars, and a missing value as a label instead of a bar', () => {
    const svg = barChartSvg({
      title: 'Latency',
      xLabel: 'op',
      yLabel: 'ms',
      categories: ['w=1', 'w=2'],
      series: [{ label: 'p99', values: [4, null] }],
      missingLabel: 'FAILED',
    })
    expect(svg.match(/<rect [^>]*fill="#4e79a7"/g)).toHaveLength(1 + 1) // one bar, one legend box
    expect(svg).toContain('>FAILED</text>')
    expect(escapeXml(`a"'b`)).toBe('a&quot;&apos;b')
  })
})

describe('logarithmic y axis', () => {
  it('labels 1-2-5 ticks that cover the data and places points by their logarithm', () => {
    expect(logTicks(450, 45_000)).toEqual([200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000])
    expect(logTicks(3, 3)).toEqual([2, 5])
    const svg = lineChartSvg({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      yLog: true,
      series: [{ label: 'a', points: [{ x: 1, y: 10 }, { x: 2, y: 1000 }, { x: 3, y: 0 }] }],
    })
    // y = 0 cannot be placed on a log axis: two points drawn, halfway between is 100.
    const path = /<path d="M([\d.]+),([\d.]+) L([\d.]+),([\d.]+)"/.exec(svg)
    expect(path).not.toBeNull()
    const [, , ya, , yb] = path!.map(Number)
    expect(ya).toBeGreaterThan(yb!)
    expect(svg).toContain('>1,000<')
  })
})
