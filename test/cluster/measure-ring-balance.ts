// Measures ring balance and key movement over many random memberships (not part of the
// test suite: it takes a minute). Run: npx tsx test/cluster/measure-ring-balance.ts [trials] [seed]
//
// For each member count m it builds rings from random ids and reports, exactly (from arc
// lengths, no key sampling):
//   - max/mean: the most loaded member's primary share × m (1 = perfect balance),
//   - join: fraction of the key space moved when one random member joins, ÷ 1/(m+1).
// It does so for the default placement and for 128 tokens per member (vnodes 32 × 4
// tokens), i.e. plain random placement of one token per design vnode.
import { DEFAULT_VNODES, TOKENS_PER_VNODE } from '../../src/cluster/ring/constants.js'
import { buildRing, ownership } from '../../src/cluster/ring/ring.js'
import { seededRandom, type Random } from '../../src/base/random.js'
import { primaryMovement } from './ring-helpers.js'

const trials = Number(process.argv[2] ?? 2000)
const seed = Number(process.argv[3] ?? 1)
console.log(`seed ${seed}, ${trials} memberships per row`)

function randomId(random: Random): string {
  return `peer-${Array.from(random.bytes(12), (b) => b.toString(16).padStart(2, '0')).join('')}`
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!
}

const variants = [
  { label: `${DEFAULT_VNODES} vnodes × ${TOKENS_PER_VNODE} tokens`, vnodes: DEFAULT_VNODES },
  { label: `${(DEFAULT_VNODES / TOKENS_PER_VNODE)} vnodes × ${TOKENS_PER_VNODE} tokens (= 128 random tokens)`, vnodes: DEFAULT_VNODES / TOKENS_PER_VNODE },
]
for (const variant of variants) {
  console.log(`\n${variant.label}`)
  console.log('   m | max/mean: mean   p99    max   >1.3 | join moved/ideal: mean   p99    max   >1.5 | only to joiner')
  for (const m of [3, 4, 8, 16, 24, 32, 48, 64]) {
    const random = seededRandom(seed * 1000 + m)
    const balance: number[] = []
    const join: number[] = []
    let onlyToJoiner = true
    for (let t = 0; t < trials; t++) {
      const members = Array.from({ length: m }, () => ({ id: randomId(random), vnodes: variant.vnodes }))
      const ring = buildRing(members)
      balance.push(Math.max(...ownership(ring).values()) * m)
      const joiner = { id: randomId(random), vnodes: variant.vnodes }
      const movement = primaryMovement(ring, buildRing([...members, joiner]))
      join.push(movement.moved * (m + 1))
      onlyToJoiner &&= movement.changes.every(([, to]) => to === joiner.id)
    }
    balance.sort((a, b) => a - b)
    join.sort((a, b) => a - b)
    const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length
    const over = (xs: number[], bound: number): string => `${((xs.filter((x) => x > bound).length / xs.length) * 100).toFixed(2)}%`
    console.log(
      `${String(m).padStart(4)} |        ${mean(balance).toFixed(3)} ${quantile(balance, 0.99).toFixed(3)} ${balance.at(-1)!.toFixed(3)} ${over(balance, 1.3).padStart(6)} |` +
        `                ${mean(join).toFixed(3)} ${quantile(join, 0.99).toFixed(3)} ${join.at(-1)!.toFixed(3)} ${over(join, 1.5).padStart(6)} | ${onlyToJoiner}`,
    )
  }
}
