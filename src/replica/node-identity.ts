// The node's actor id is created once and kept in the database, so a counter's entries
// from this node stay one entry across restarts.
import type { Random } from '../base/random.js'
import { META_ACTOR } from './replica.js'
import type { Store } from '../store/store.js'

export async function loadOrCreateActor(store: Store, random: Random): Promise<string> {
  const stored = store.getMeta(META_ACTOR)
  if (stored !== undefined) return new TextDecoder().decode(stored)
  const actor = Buffer.from(random.bytes(12)).toString('base64url')
  await store.write({ meta: [{ name: META_ACTOR, value: new TextEncoder().encode(actor) }] })
  return actor
}
