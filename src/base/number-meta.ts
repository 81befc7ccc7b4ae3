// A whole number kept in a meta row (Store.getMeta / MetaWrite) as decimal text: a purge
// epoch, how far the purge reached, when a node left its cluster.

export function encodeNumberMeta(n: number): Uint8Array {
  return new TextEncoder().encode(String(n))
}

/** The number in a meta row; 0 when the row is missing or holds no non-negative whole number. */
export function decodeNumberMeta(bytes: Uint8Array | undefined): number {
  if (bytes === undefined) return 0
  const n = Number(new TextDecoder().decode(bytes))
  return Number.isSafeInteger(n) && n >= 0 ? n : 0
}
