// The version of a membership view: nodes with the same version place every key the same
// way, so anti-entropy compares only between equal versions and rings can be cached by it.
import { createHash } from 'node:crypto'
import { compareCodePoints } from '../../../crdts/text.js'
import { DEFAULT_VNODES } from './constants.js'

export const RING_VERSION_BYTES = 16

const VERSION_DOMAIN = 'rumordb:ring-version:v1\0'

/**
 * Hash of a membership view: its (id, vnodes) pairs in id order, whatever order they are
 * given in. Equal versions build equal rings.
 */
export function ringVersionOf(members: readonly { readonly id: string; readonly vnodes?: number }[]): Uint8Array {
  const sorted = [...members].sort((a, b) => compareCodePoints(a.id, b.id))
  const hash = createHash('sha256').update(VERSION_DOMAIN, 'utf8')
  const head = Buffer.alloc(8)
  for (const member of sorted) {
    const id = Buffer.from(member.id, 'utf8')
    head.writeUInt32BE(id.length, 0)
    head.writeUInt32BE(member.vnodes ?? DEFAULT_VNODES, 4)
    hash.update(head).update(id)
  }
  return new Uint8Array(hash.digest().subarray(0, RING_VERSION_BYTES))
}
