// The member table on disk: rows hold the wire encoding of member records, and a data
// directory written before that (rows in the earlier custom binary format) still opens,
// its rows read once and rewritten.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { MemberTableDecodeError } from '../../src/cluster/membership/errors.js'
import * as memberTable from '../../src/cluster/membership/member-table.js'
import { loadMemberTable } from '../../src/cluster/membership/member-rows.js'
import { DATABASE_FILE, openDatabase } from '../../src/index.js'
import { InMemoryStore, SqliteStore } from '../../src/store/index.js'
import { MESSAGE_TAGS } from '../../src/wire/codec.js'
import { WIRE_VERSION } from '../../src/wire/limits.js'
import { MemoryHub } from '../support/memory-hub.js'

const SELF = '12D3KooWAlpha'
const hex = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'hex'))

// Rows as the earlier format wrote them (one record each), with what they hold.
const LEGACY_ROWS = [
  {
    peerId: SELF,
    record: hex('6d01010d313244334b6f6f57416c7068610300800102162f6970342f31302e302e302e312f7463702f34303031162f6970342f31302e302e302e322f7463702f34303031'),
    holds: { peerId: SELF, addrs: ['/ip4/10.0.0.1/tcp/4001', '/ip4/10.0.0.2/tcp/4001'], vnodes: 128, incarnation: 3, status: 'alive' },
  },
  {
    peerId: '12D3KooWBeta',
    record: hex('6d01010c313244334b6f6f5742657461f0a20401ac0201162f6970342f31302e302e302e332f7463702f34303031'),
    holds: { peerId: '12D3KooWBeta', addrs: ['/ip4/10.0.0.3/tcp/4001'], vnodes: 300, incarnation: 70_000, status: 'left' },
  },
  {
    peerId: 'pé\u{1F600}',
    record: hex('6d01010770c3a9f09f988000000000'),
    holds: { peerId: 'pé\u{1F600}', addrs: [], vnodes: 0, incarnation: 0, status: 'alive' },
  },
] as const

const tempDirs: string[] = []
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

describe('member rows', () => {
  it('reads rows of the earlier format once and rewrites them in the wire encoding', async () => {
    const store = new InMemoryStore()
    await store.write({ members: { upsert: LEGACY_ROWS.map(({ peerId, record }) => ({ peerId, record })) } })
    const table = await loadMemberTable(store)
    expect(memberTable.members(table)).toEqual(LEGACY_ROWS.map((row) => row.holds))
    for (const row of store.listMembers()) {
      expect([row.record[0], row.record[1]]).toEqual([WIRE_VERSION, MESSAGE_TAGS.members])
      expect(memberTable.encode(memberTable.decode(row.record))).toEqual(row.record)
    }
    expect(memberTable.equals(await loadMemberTable(store), table)).toBe(true)
    await store.close()
  })

  it('drops a row that is in neither format, reporting it, and removes it from the store (a bad row never stops a start)', async () => {
    const store = new InMemoryStore()
    const truncated = LEGACY_ROWS[0].record.slice(0, -1)
    for (const bad of [truncated, Uint8Array.of(0x42, 1)]) {
      await store.write({ members: { upsert: [{ peerId: SELF, record: bad }] } })
      const dropped: [string, unknown][] = []
      const table = await loadMemberTable(store, (peerId, err) => dropped.push([peerId, err]))
      expect(table.size).toBe(0)
      expect(dropped).toHaveLength(1)
      expect(dropped[0]![0]).toBe(SELF)
      expect(dropped[0]![1]).toBeInstanceOf(MemberTableDecodeError)
      expect(store.listMembers()).toEqual([])
    }
    await store.close()
  })

  it('a data directory with rows of the earlier format opens, and the node bumps past its old record', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'rumordb-member-rows-'))
    tempDirs.push(dataDir)
    const first = await openDatabase({ dataDir, transport: new MemoryHub().transport(SELF) })
    await first.close()
    const file = await SqliteStore.open({ path: join(dataDir, DATABASE_FILE) })
    await file.write({ members: { upsert: LEGACY_ROWS.map(({ peerId, record }) => ({ peerId, record })) } })
    await file.close()

    const db = await openDatabase({ dataDir, transport: new MemoryHub().transport(SELF) })
    try {
      const { members } = db.members()
      expect(members.find((m) => m.id === SELF)).toMatchObject({ incarnation: 4, status: 'alive' })
      expect(members.find((m) => m.id === '12D3KooWBeta')).toMatchObject({ addrs: ['/ip4/10.0.0.3/tcp/4001'], incarnation: 70_000, status: 'left' })
      expect(members.map((m) => m.id)).toContain('pé\u{1F600}')
    } finally {
      await db.close()
    }
    const after = await SqliteStore.open({ path: join(dataDir, DATABASE_FILE) })
    try {
      const rows = after.listMembers()
      expect(rows.map((r) => r.peerId).sort()).toEqual(LEGACY_ROWS.map((r) => r.peerId).sort())
      for (const row of rows) expect(row.record[0]).toBe(WIRE_VERSION)
    } finally {
      await after.close()
    }
  })
})
