// The member table as the store keeps it: rows of encoded tables (one per peer, plus any
// row a caller seeded with several), each in the one encoding of member records, the
// wire's (member-table.ts). Rows written by earlier versions hold a custom binary format;
// loading reads them once with the decoder below and rewrites them in the wire encoding.
import {
  CrdtDecodeError,
  decodeStrict,
  readCount,
  readString,
  readUint8,
  readVarUint,
  type Decoder,
} from '../../../crdts/index.js'
import type { Store, StoredMember } from '../../store/store.js'
import { MAX_ADDR_BYTES, MAX_PEER_ID_BYTES } from '../../wire/limits.js'
import * as memberTable from './member-table.js'
import type { MemberRecord, MemberTable } from './member-table.js'
import { MemberTableDecodeError } from './errors.js'
import { MAX_INCARNATION } from './constants.js'

/**
 * Every persisted record, joined. Rows in the earlier format are rewritten (one batch,
 * committed before this resolves), so they are read this way only once. Throws
 * MemberTableDecodeError on a row that is neither format.
 */
export async function loadMemberTable(store: Store, dropped?: (peerId: string, err: unknown) => void): Promise<MemberTable> {
  let table = memberTable.empty()
  const rewritten: StoredMember[] = []
  const removed: string[] = []
  for (const row of store.listMembers()) {
    let part: MemberTable
    try {
      const legacy = row.record[0] === LEGACY_TAG
      part = legacy ? decodeLegacyTable(row.record) : memberTable.decode(row.record)
      for (const record of part.values()) {
        if (record.incarnation > MAX_INCARNATION) throw new Error(`incarnation ${record.incarnation} leaves no room for a later one`)
      }
      if (legacy) rewritten.push({ peerId: row.peerId, record: memberTable.encode(part) })
    } catch (err) {
      dropped?.(row.peerId, err)
      removed.push(row.peerId)
      continue
    }
    table = memberTable.merge(table, part)
  }
  if (rewritten.length > 0 || removed.length > 0) await store.write({ members: { upsert: rewritten, remove: removed } })
  return table
}

// ---- the earlier format, kept only to migrate it ---------------------------------------
// [0x6d][version 1][count][per record, in peer-id order: peer id, incarnation, status byte
// (0 alive, 1 left), vnodes, address count, addresses], with minimal LEB128 varints and
// length-prefixed UTF-8: the same primitives as crdts/codec.ts, which reads them here.

const LEGACY_TAG = 0x6d
const LEGACY_VERSION = 1
const LEGACY_STATUS: readonly MemberRecord['status'][] = ['alive', 'left']

function decodeLegacyTable(bytes: Uint8Array): MemberTable {
  try {
    // fromRecords checks the limits and the order of addresses, as the old decoder did.
    return memberTable.fromRecords(decodeStrict(bytes, readLegacyRecords))
  } catch (err) {
    throw new MemberTableDecodeError(`row in the earlier format: ${err instanceof Error ? err.message : String(err)}`)
  }
}

function readLegacyRecords(dec: Decoder): MemberRecord[] {
  if (readUint8(dec) !== LEGACY_TAG) throw new CrdtDecodeError('not a member table')
  const version = readUint8(dec)
  if (version !== LEGACY_VERSION) throw new CrdtDecodeError(`unsupported version ${version}`)
  // Every record takes at least 6 bytes.
  const count = readCount(dec, 6, 'member')
  const records: MemberRecord[] = []
  for (let i = 0; i < count; i++) {
    const peerId = readString(dec, MAX_PEER_ID_BYTES)
    const incarnation = readVarUint(dec)
    const status = LEGACY_STATUS[readUint8(dec)]
    if (status === undefined) throw new CrdtDecodeError(`unknown status for ${peerId}`)
    const vnodes = readVarUint(dec)
    const addrs = Array.from({ length: readCount(dec, 1, 'address') }, () => readString(dec, MAX_ADDR_BYTES))
    records.push({ peerId, addrs, vnodes, incarnation, status })
  }
  return records
}
