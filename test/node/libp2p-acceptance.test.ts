// The shared Transport acceptance suite against three real libp2p transports on loopback.
import { runTransportTests } from '../transport/transport-acceptance.js'
import { joinedOnStart, loopbackTransport, nextEvent, stopAll, strangerPeerId } from './fixtures/libp2p-harness.js'

runTransportTests('Libp2pTransport (127.0.0.1)', async () => {
  // The suite broadcasts arbitrary bytes; the production validator only passes wire broadcasts.
  const all = await Promise.all([1, 2, 3].map(() => loopbackTransport({ cluster: 'acceptance', validateBroadcast: () => true })))
  const [a, b, c] = joinedOnStart(all)
  if (a === undefined || b === undefined || c === undefined) throw new Error('unreachable')
  return {
    a,
    b,
    c,
    deliver: () => nextEvent(all),
    unknownPeerId: await strangerPeerId(),
    cleanup: () => stopAll(all),
  }
})
