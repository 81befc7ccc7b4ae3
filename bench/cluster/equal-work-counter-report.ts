// The equal-work report's part for the counter workload under a partition that heals
// (Maelstrom-style): a table per cluster size (heal → converged, quantiles over counters
// and repeats, bytes per increment, peak memory), what each system's cut drops, and a plot
// of convergence time against partition length per system. Pure: returns text.
import type { CounterRow } from '../peers/equal-work/counter-judge.js'
import { medianOf } from '../peers/equal-work/judge.js'
import { lineChartSvg, type LineSeries } from '../lib/svg-plot.js'
import { formatMiB, formatMs, formatNumber } from '../lib/table.js'

/** The counter workload's settings, as given on the command line. */
export interface CounterCliOptions {
  /** Partition lengths (s); 0 is a run without a cut. */
  readonly partitionS: readonly number[]
  readonly increments: number
  readonly counters: number
  readonly seed: number
  /** Bound on convergence, from the heal. */
  readonly healTimeoutMs: number
}

export interface CounterResults {
  readonly rows: readonly CounterRow[]
  /** Why a system did not run it. */
  readonly notRun: Readonly<Record<string, string>>
}

export function counterTable(rows: readonly CounterRow[], nodes: number): { header: string[]; rows: string[][] } {
  return {
    header: ['cut', 'system', 'increments applied in', 'cut lasted', 'heal → converged p50 (runs)', 'last write → converged', 'per counter from heal p50', 'p95', 'p99', 'max', 'bytes/increment', 'peak RSS node / cluster'],
    rows: rows
      .filter((r) => r.nodes === nodes)
      .map((r) => {
        const q = r.perCounterFromHealMs
        return [
          `${r.partitionS} s`,
          r.system,
          r.writeMs === null || r.writeMs === undefined ? '-' : formatMs(r.writeMs),
          r.cutMs === null ? '-' : r.partitionS === 0 ? 'no cut' : formatMs(r.cutMs),
          r.failed > 0 ? `${r.failed}/${r.runs} FAILED` : `${formatMs(medianOf(r.healToConvergeMs))} (${r.healToConvergeMs.length})`,
          r.lastWriteToConvergeMs.length === 0 ? '-' : formatMs(medianOf(r.lastWriteToConvergeMs)),
          q === null ? '-' : formatMs(q.p50),
          q === null ? '-' : formatMs(q.p95),
          q === null ? '-' : formatMs(q.p99),
          q === null ? '-' : formatMs(q.max),
          r.bytesPerIncrement === null ? '-' : `${formatNumber(r.bytesPerIncrement)} B`,
          r.peakRssNodeBytes === null || r.peakRssClusterBytes === null ? '-' : `${formatMiB(r.peakRssNodeBytes)} / ${formatMiB(r.peakRssClusterBytes)} MiB`,
        ]
      }),
  }
}

/** What the counter workload does and how each system takes part, for the report's notes. */
export function counterNotes(o: CounterCliOptions, notRun: Readonly<Record<string, string>>): string[] {
  return [
    `counter-partition (Maelstrom-style PN-counter): ${formatNumber(o.increments)} increments per run over ${o.counters} shared counters, spread evenly over the nodes, every node sending its own at once (each awaited before the next); deltas are 1 + m × r with r random in −5…5 (about half negative) and m a power of ten above any counter's number of increments, so that no node reads a counter's total before it holds every increment of it. Seed ${o.seed}. Node 0 creates the counters first where the system needs that (Automerge), and every node must read them at 0 before the clock starts.`,
    'The cut: nodes 0 … ⌈n/2⌉ − 1 on one side, the rest on the other; every node drops every message to and from the other side at its system\'s network boundary from just before the first increment, for the partition length (longer if the increments take longer: "cut lasted"); then every node heals. Messages sent during the cut are lost, never delivered at the heal; each system recovers with its own mechanisms. 0 s: no cut, the "heal" is when the last increment was applied.',
    "Converged: every node reads every counter's exact total from its own local state (the sum of every acknowledged increment: the harness knows it); a total that is off, by an increment lost or doubled, is FAIL. heal → converged: from the heal until the last node read the last total; per counter: the same for each counter, pooled over counters and runs (nearest rank). The verdict compares heal → converged medians.",
    "bytes/increment: what every node's TCP sockets wrote from just before the cut until converged (the cut's background traffic included) ÷ increments.",
    "What each cut drops. rumordb: the project's own fault injector (node/faults) wraps the engine's transport: requests to a blocked peer fail at once as unreachable, requests and gossip broadcasts from it are refused or dropped on arrival, and the peer is reported lost, then seen again at the heal; anti-entropy and hinted handoff repair. GUN: every message from a blocked peer is dropped on arrival in GUN's mesh.hear (by the pid it announced), at both ends; the WebSockets stay open. Automerge Repo: a NetworkAdapter around the WebSocket one drops every message to or from a blocked peer, and tells the Repo the peer disconnected at the cut and is a candidate again at the heal, as a socket that dropped and reconnected would; its sync then repairs.",
    "Counters per system. rumordb: db.counter(key).increment / decrement (its PN-counter), w as above. Automerge Repo: an Automerge Counter in the document, counter.increment(delta) in handle.change. GUN has no counter type: the GUN way is a PN-counter by hand, each node putting its own net sum under its own sub-key (<counter>:n<node>) and a reader adding up the sub-keys it holds. The cut leaves GUN's sockets open, so GUN sees no reconnect; and GUN's only re-sync on a reconnect (its 'hi' handler asking peers again for subscribed nodes) returns at once on a super peer, which every Node.js GUN is (gun/src/mesh.js). What a cut dropped comes back only with a later put: after a cut GUN does not converge. In Automerge's star, a leaf cut off from the hub reaches no one.",
    ...Object.entries(notRun).map(([system, why]) => `${system} does not run the counter workload: ${why}.`),
  ]
}

/** Median heal → converged against partition length: a line per system and cluster size (FAILED lengths left out). */
export function counterPlot(rows: readonly CounterRow[], o: CounterCliOptions, systems: readonly string[], sizes: readonly number[], subtitle: string): string {
  const series: LineSeries[] = []
  systems.forEach((system, color) => {
    sizes.forEach((nodes, dash) => {
      const mine = rows.filter((r) => r.system === system && r.nodes === nodes)
      if (mine.length === 0) return
      // A log axis cannot place 0: a time under 1 ms is drawn at 1 ms.
      const points = mine.flatMap((r) => (r.failed > 0 || r.healToConvergeMs.length === 0 ? [] : [{ x: r.partitionS, y: Math.max(1, medianOf(r.healToConvergeMs)) }]))
      const failed = mine.filter((r) => r.failed > 0).map((r) => `${r.partitionS} s`)
      series.push({ label: `${system}, ${nodes} nodes${failed.length === 0 ? '' : ` (FAILED at ${failed.join(', ')})`}`, points, color, dash, marker: color })
    })
  })
  return lineChartSvg({
    title: 'Counters under a partition that heals: heal → every node reads every exact total',
    subtitle,
    xLabel: 'partition length (s)',
    yLabel: 'heal → converged, median (ms, log scale)',
    series,
    xTicks: o.partitionS,
    yLog: true,
    footnote: `${formatNumber(o.increments)} increments on ${o.counters} counters, seed ${o.seed}; under 1 ms drawn at 1 ms; a FAILED length has no point (not converged within ${formatNumber(o.healTimeoutMs / 1000)} s of the heal, or a total off).`,
  })
}
