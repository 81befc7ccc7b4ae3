// The comparison peer, delta-crdts, used the way its README shows: a replica per actor id
// (`CRDT(name)(id)`) whose mutators return deltas and join them into its own state,
// `CRDT.type(name).join(a, b)` for states received from elsewhere, and the
// delta-crdts-msgpack-codec it is tested with for bytes on the wire. It ships no types;
// these interfaces cover only what the benchmark calls.
import { createRequire } from 'node:module'

export interface PeerType {
  initial(): unknown
  join(a: unknown, b: unknown): unknown
  value(s: unknown): unknown
}

export interface PeerReplica {
  state(): unknown
  /** Joins a delta or a full state into the replica's state. */
  apply(delta: unknown): unknown
}

export interface PeerCounter extends PeerReplica {
  /** Adds 1 (the only amount it supports) and returns the delta. */
  inc(): unknown
  value(): number
}

export interface PeerPNCounter extends PeerCounter {
  dec(): unknown
}

export interface PeerSet extends PeerReplica {
  add(element: unknown): unknown
  remove(element: unknown): unknown
  value(): Set<unknown>
}

export interface PeerRegister extends PeerReplica {
  /** Writes `value` at a caller-chosen numeric timestamp. */
  write(timestamp: number, value: unknown): unknown
  value(): unknown
}

interface DeltaCrdtsModule {
  (name: string): (id: string) => unknown
  type(name: string): PeerType
}

interface MsgpackCodec {
  encode(value: unknown): Uint8Array
  decode(bytes: Uint8Array): unknown
}

const require = createRequire(import.meta.url)
const CRDT = require('delta-crdts') as DeltaCrdtsModule
const codec = require('delta-crdts-msgpack-codec') as MsgpackCodec

function kind<R>(name: string): { readonly type: PeerType; readonly replica: (id: string) => R } {
  const factory = CRDT(name)
  return { type: CRDT.type(name), replica: (id) => factory(id) as R }
}

export const peer = {
  gcounter: kind<PeerCounter>('gcounter'),
  pncounter: kind<PeerPNCounter>('pncounter'),
  /** Their add-wins observed-remove set, the counterpart of our ORSet. */
  orset: kind<PeerSet>('aworset'),
  lww: kind<PeerRegister>('lwwreg'),
  encode: (state: unknown): Uint8Array => codec.encode(state),
  decode: (bytes: Uint8Array): unknown => codec.decode(bytes),
} as const

export const PEER_PACKAGES = ['delta-crdts', 'delta-crdts-msgpack-codec'] as const

/** The shape of their OR-set state, as far as the benchmark inspects it. */
interface PeerDotSet {
  readonly ds: Map<string, unknown>
  readonly cc: { readonly cc: Map<unknown, number>; readonly dc: unknown }
  readonly type?: unknown
}

/**
 * Causal-context entries of their OR-set state that are not keyed by an actor id. In
 * delta-crdts 0.10.3 `DotSet.removeValue` calls `insertDot([actor, counter])` with the dot
 * as one argument, so every removed dot leaves an entry keyed by that array (value 0) and
 * the remove delta does not carry the dot under its actor. Counted so the report can say
 * how much of their encoding they are.
 */
export function peerSetStrayContextEntries(state: unknown): number {
  let stray = 0
  for (const key of (state as PeerDotSet).cc.cc.keys()) if (typeof key !== 'string') stray++
  return stray
}

/**
 * The one-dot delta of adding `element`, as their DotSet.add builds it. Their replica's
 * add() returns `s.join(s.removeValue(v), s.add(id, v))`, which joins into the whole
 * state `s`, so what it returns is the full state; this is the small delta their code
 * meant to ship. Changes `state` in place (their DotSet.add does), so pass a state
 * nothing else uses.
 */
export function peerSetAddDelta(state: unknown, actor: string, element: unknown): unknown {
  return (state as { add(id: string, value: unknown): unknown }).add(actor, element)
}

/** Their OR-set state without those stray entries: what it would encode to without the bug. */
export function peerSetWithoutStrayEntries(state: unknown): unknown {
  const s = state as PeerDotSet
  const cc = new Map([...s.cc.cc].filter(([key]) => typeof key === 'string'))
  return { ds: s.ds, cc: { cc, dc: s.cc.dc }, type: s.type }
}
