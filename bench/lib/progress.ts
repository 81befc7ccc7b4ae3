// A progress bar for long benchmark phases, on stderr so stdout stays a clean report. When
// stderr is not a terminal (CI, pipes, tests) it is a no-op.
import cliProgress from 'cli-progress'

export interface Progress {
  /** Sets how many of the phase's steps are done. */
  update(done: number): void
  stop(): void
}

const NO_PROGRESS: Progress = { update: () => undefined, stop: () => undefined }

export function startProgress(label: string, total: number, enabled = process.stderr.isTTY === true): Progress {
  if (!enabled || total <= 0) return NO_PROGRESS
  const bar = new cliProgress.SingleBar(
    {
      format: `${label.padEnd(32)} {bar} {percentage}% | {value}/{total} | {duration_formatted}`,
      stream: process.stderr,
      clearOnComplete: true,
      hideCursor: true,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  )
  bar.start(total, 0)
  return {
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  }
}

/** Runs `fn` with a progress bar of `total` steps, stopped however fn ends. */
export async function withProgress<T>(
  label: string,
  total: number,
  enabled: boolean,
  fn: (progress: (done: number) => void) => Promise<T>,
): Promise<T> {
  const bar = startProgress(label, total, enabled)
  try {
    return await fn(bar.update)
  } finally {
    bar.stop()
  }
}
