// Ordering of ring tokens, kept apart from the ring maths because it is the one hot loop
// in building a ring and is easiest to test on its own (position ties are rare in real
// rings, so ring-level tests would almost never exercise them).

/**
 * Token indices in position order. A stable LSD radix sort on the high 32 bits (three
 * 11-bit passes: the counts fit in L1 cache) does the work in linear time; runs with
 * equal high words (~0.1 per 64-member ring) are then finished by the low word with an
 * insertion sort. Both steps are stable, so exact position ties (p ≈ 2^-64 per pair)
 * keep their input order: buildRing lists tokens in member-id order, so every node
 * resolves such a tie the same way.
 */
export function sortByPosition(hi: Uint32Array, lo: Uint32Array): Uint32Array {
  const n = hi.length
  let order = new Uint32Array(n)
  let next = new Uint32Array(n)
  for (let i = 0; i < n; i++) order[i] = i
  const mask = 0x7ff
  const counts = new Uint32Array(mask + 2)
  for (let shift = 0; shift < 32; shift += 11) {
    counts.fill(0)
    for (let i = 0; i < n; i++) {
      const slot = ((hi[i]! >>> shift) & mask) + 1
      counts[slot] = counts[slot]! + 1
    }
    for (let d = 0; d <= mask; d++) counts[d + 1] = counts[d + 1]! + counts[d]!
    for (let i = 0; i < n; i++) {
      const index = order[i]!
      const digit = (hi[index]! >>> shift) & mask
      next[counts[digit]!] = index
      counts[digit] = counts[digit]! + 1
    }
    const swap = order
    order = next
    next = swap
  }
  for (let i = 1; i < n; i++) {
    const index = order[i]!
    let j = i
    while (j > 0 && hi[order[j - 1]!] === hi[index] && lo[order[j - 1]!]! > lo[index]!) {
      order[j] = order[j - 1]!
      j--
    }
    order[j] = index
  }
  return order
}
