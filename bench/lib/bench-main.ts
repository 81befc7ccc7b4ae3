// The common `main(args)` of every benchmark: parse options (exit code 2 with the usage
// on a bad option), run, print the report and where the results went.

export interface BenchEntry<O, R> {
  readonly usage: string
  parse(args: string[]): O
  run(options: O): Promise<{ report: R; path: string }>
  format(report: R): string
  /** More "label: path" lines after the results file (reports, plots). */
  outputs?(report: R): string[]
}

export async function benchMain<O, R>(args: string[], entry: BenchEntry<O, R>): Promise<void> {
  let options: O
  try {
    options = entry.parse(args)
  } catch (err) {
    console.error(`${(err as Error).message}\n${entry.usage}`)
    process.exitCode = 2
    return
  }
  const { report, path } = await entry.run(options)
  console.log(entry.format(report))
  console.log(`\nresults: ${path}`)
  for (const line of entry.outputs?.(report) ?? []) console.log(line)
}
