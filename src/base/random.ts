// src/ gets randomness only from here: crypto-grade in production, seeded in the simulator.
import { randomBytes } from 'node:crypto'

export interface Random {
  /** Uniform in [0, 1). */
  next(): number
  /** Uniform integer in [0, n). */
  int(n: number): number
  bytes(n: number): Uint8Array
}

export const systemRandom: Random = {
  next: () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48,
  int: (n) => Math.floor((randomBytes(6).readUIntBE(0, 6) / 2 ** 48) * n),
  bytes: (n) => new Uint8Array(randomBytes(n)),
}

/** Deterministic PRNG (sfc32) for the simulator and seeded tests. Same seed, same stream. */
export function seededRandom(seed: number): Random {
  let a = 0x9e3779b9 ^ seed
  let b = 0x243f6a88 ^ Math.imul(seed, 0x85ebca6b)
  let c = 0xb7e15162
  let d = 1
  const next32 = (): number => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0
    const t = (a + b + d) >>> 0
    d = (d + 1) >>> 0
    a = b ^ (b >>> 9)
    b = (c + (c << 3)) >>> 0
    c = (c << 21) | (c >>> 11)
    c = (c + t) >>> 0
    return t
  }
  for (let i = 0; i < 12; i++) next32()
  const next = (): number => next32() / 2 ** 32
  return {
    next,
    int: (n) => Math.floor(next() * n),
    bytes: (n) => {
      const out = new Uint8Array(n)
      for (let i = 0; i < n; i++) out[i] = next32() & 0xff
      return out
    },
  }
}
