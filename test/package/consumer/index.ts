// A user's program: the embedded database with its network options, and the pure CRDTs.
import { openDatabase, TypeConflictError, type NetworkedDatabase, type OpenNetworkedDatabaseOptions } from 'rumordb'
import { GCounter, ORSet } from 'rumordb/crdts'

const options: OpenNetworkedDatabaseOptions = { dataDir: './data', replication: { w: 2 } }
const db: NetworkedDatabase = await openDatabase(options)
const { value, replayed } = await db.counter('visits').increment(2, { idempotencyKey: 'order-17' })
const total: number = value
try {
  await db.get('cart')
} catch (err) {
  if (err instanceof TypeConflictError) await db.resolve('cart', err.values[0]!.type)
}
console.log(total, replayed, GCounter.value(GCounter.empty()), ORSet.value(ORSet.empty()))
await db.close({ leave: true })
