// Which nodes can reach each other: a partition is a grouping of peer ids. Nodes listed in
// no group share one more group, so `partition([[a, b]])` cuts a and b off from the rest.

/** Group index of every listed node; unlisted nodes count as group -1. */
export type PartitionGroups = ReadonlyMap<string, number>

/** Throws RangeError if a node is listed twice. */
export function partitionGroups(groups: readonly (readonly string[])[]): PartitionGroups {
  const out = new Map<string, number>()
  groups.forEach((group, i) => {
    for (const id of group) {
      if (out.has(id)) throw new RangeError(`node ${id} is in two partition groups`)
      out.set(id, i)
    }
  })
  return out
}

/** Whether `a` and `b` are on the same side (always, without a partition). */
export function sameSide(groups: PartitionGroups | undefined, a: string, b: string): boolean {
  return groups === undefined || (groups.get(a) ?? -1) === (groups.get(b) ?? -1)
}
