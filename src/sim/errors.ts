// Errors of the simulator itself (not of the simulated network: those are the Transport's).

export class SimulationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}

/** `runUntilSettled` gave up: the promise was still pending when the run stopped. */
export class SimStalledError extends SimulationError {
  constructor(
    readonly reason: string,
    readonly now: number,
  ) {
    super(
      `the awaited promise did not settle: the simulation stopped (${reason}) at virtual time ${now}; ` +
        'something it waits for is never scheduled (a real timer or setImmediate instead of the simulated clock?) or needs more time',
    )
  }
}

/** Two runs of the same scheduler at once; await the first one. */
export class SimBusyError extends SimulationError {
  constructor() {
    super('the scheduler is already running: await the current run before starting another')
  }
}

export class UnknownSimNodeError extends SimulationError {
  constructor(readonly peerId: string) {
    super(`no simulated node ${peerId}: add it with network.addNode() first`)
  }
}
