// Everything that must stop with the transport (each inbound channel, each request being
// handled) hangs off one abort listener on the transport's shutdown signal. AbortSignal is
// an EventTarget, and Node warns past 10 listeners on one (MaxListenersExceededWarning): a
// listener per channel or per request in flight passes that in ordinary traffic.

export class ShutdownHooks {
  private readonly hooks = new Set<{ run(): void }>()

  constructor(private readonly signal: AbortSignal) {
    signal.addEventListener(
      'abort',
      () => {
        const due = [...this.hooks]
        this.hooks.clear()
        for (const hook of due) hook.run()
      },
      { once: true },
    )
  }

  get stopped(): boolean {
    return this.signal.aborted
  }

  /** Runs `run` once when the transport stops (now, if it has); the result cancels it. */
  on(run: () => void): () => void {
    if (this.signal.aborted) {
      run()
      return () => undefined
    }
    const hook = { run }
    this.hooks.add(hook)
    return () => {
      this.hooks.delete(hook)
    }
  }
}
