// Strong eventual consistency under a hostile network: deltas arrive in any order, twice or
// never; a final full-state exchange repairs the losses. Every replica must end equal, with
// the value of the reference model fed the same history.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { makeReplicas, SPECS, type Replica } from './specs.js'

type NetStep =
  | { readonly kind: 'op'; readonly replica: number; readonly op: unknown; readonly copies: readonly number[] }
  | { readonly kind: 'deliver'; readonly pick: number }

interface Message {
  readonly to: number
  readonly delta: unknown
  readonly modelDelta: unknown
}

describe.each(SPECS.map((spec) => [spec.name, spec] as const))('%s convergence', (_name, spec) => {
  const { crdt, model } = spec

  const historyArb = fc.record({
    replicas: fc.integer({ min: 2, max: 5 }),
    steps: fc.array(
      fc.oneof(
        {
          weight: 2,
          arbitrary: fc.record({
            kind: fc.constant('op' as const),
            replica: fc.nat(),
            op: spec.op,
            // Copies of the delta sent to each other replica: 0 drops it, 2 duplicates it.
            copies: fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 5, maxLength: 5 }),
          }),
        },
        { weight: 3, arbitrary: fc.record({ kind: fc.constant('deliver' as const), pick: fc.nat() }) },
      ),
      { maxLength: 60 },
    ) as fc.Arbitrary<NetStep[]>,
  })

  it('replicas converge to the reference value after loss, duplication, reordering and repair', () => {
    fc.assert(
      fc.property(historyArb, ({ replicas: n, steps }) => {
        const replicas = makeReplicas(n)
        const states: unknown[] = replicas.map(() => crdt.empty())
        const models: unknown[] = replicas.map(() => model.empty())
        const inFlight: Message[] = []
        const log: { replica: Replica; op: unknown; delta: unknown }[] = []
        let opId = 0

        const deliver = (to: number, delta: unknown, modelDelta: unknown): void => {
          states[to] = crdt.merge(states[to], delta)
          models[to] = model.merge(models[to], modelDelta)
        }

        for (const step of steps) {
          if (step.kind === 'op') {
            const i = step.replica % n
            const replica = replicas[i] as Replica
            const delta = spec.mutate(states[i], replica, step.op)
            const modelDelta = model.delta(models[i], replica, step.op, opId++, delta)
            log.push({ replica, op: step.op, delta })
            deliver(i, delta, modelDelta)
            for (let to = 0; to < n; to++) {
              if (to === i) continue
              for (let c = 0; c < (step.copies[to] ?? 1); c++) inFlight.push({ to, delta, modelDelta })
            }
          } else if (inFlight.length > 0) {
            const [msg] = inFlight.splice(step.pick % inFlight.length, 1) as [Message]
            deliver(msg.to, msg.delta, msg.modelDelta)
          }
          // Deltas carry everything the model's operations carry, so each replica shows its
          // model's value at every moment, not only at the end.
          if (spec.name === 'orset' || spec.name === 'lww') {
            for (let r = 0; r < n; r++) expect(spec.observe(states[r])).toEqual(model.value(models[r]))
          }
        }

        // Whatever is still in flight is lost. Anti-entropy: full states around the ring twice.
        for (let round = 0; round < 2; round++) {
          for (let i = 0; i < n; i++) {
            const next = (i + 1) % n
            deliver(next, crdt.decode(crdt.encode(states[i])), models[i])
          }
        }

        const first = crdt.encode(states[0])
        for (let r = 0; r < n; r++) {
          expect(crdt.equals(states[r], states[0])).toBe(true)
          expect(crdt.encode(states[r])).toEqual(first)
          expect(spec.observe(states[r])).toEqual(model.value(models[r]))
        }
        const sequential = spec.sequential(log)
        if (sequential !== undefined) expect(spec.observe(states[0])).toEqual(sequential)
      }),
      { numRuns: 150 },
    )
  })
})
