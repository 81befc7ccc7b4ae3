// Random histories over several replicas. States for the law suite are drawn from one shared
// history, because states of unrelated histories could reuse a dot or a (timestamp, actor)
// pair for different writes, which no real system produces.
import fc from 'fast-check'
import { makeReplicas, type AnySpec, type Replica } from './specs.js'

export type Step =
  | { readonly kind: 'op'; readonly replica: number; readonly op: unknown }
  | { readonly kind: 'sync'; readonly from: number; readonly to: number }

export interface Plan {
  readonly replicas: number
  readonly steps: readonly Step[]
}

export function planArb(spec: AnySpec, maxSteps = 24): fc.Arbitrary<Plan> {
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('op' as const), replica: fc.nat(), op: spec.op }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: fc.nat(), to: fc.nat() }) },
  )
  return fc.record({ replicas: fc.integer({ min: 2, max: 4 }), steps: fc.array(step, { maxLength: maxSteps }) })
}

export interface Mutation {
  readonly replica: Replica
  readonly op: unknown
  readonly before: unknown
  readonly delta: unknown
  readonly after: unknown
}

export interface Universe {
  /** Every state and delta that occurred, starting with the empty state. */
  readonly pool: unknown[]
  readonly mutations: Mutation[]
  readonly finals: unknown[]
}

/** Replays a plan: operations merge their own delta locally; syncs merge full states. */
export function runPlan(spec: AnySpec, plan: Plan): Universe {
  const { crdt } = spec
  const replicas = makeReplicas(plan.replicas)
  const states: unknown[] = replicas.map(() => crdt.empty())
  const pool: unknown[] = [crdt.empty()]
  const mutations: Mutation[] = []
  for (const step of plan.steps) {
    if (step.kind === 'op') {
      const i = step.replica % replicas.length
      const replica = replicas[i] as Replica
      const before = states[i]
      const delta = spec.mutate(before, replica, step.op)
      const after = crdt.merge(before, delta)
      states[i] = after
      mutations.push({ replica, op: step.op, before, delta, after })
      pool.push(delta, after)
    } else {
      const from = step.from % replicas.length
      const to = step.to % replicas.length
      states[to] = crdt.merge(states[to], states[from])
      pool.push(states[to])
    }
  }
  return { pool, mutations, finals: states }
}

/** Picks from a pool with indices drawn by fast-check. */
export function pick<T>(pool: readonly T[], index: number): T {
  return pool[index % pool.length] as T
}
