// Bytes every TCP socket of this process wrote: the peers of one trial are the only ones
// in the process, so this is what the whole cluster put on the loopback, whatever the
// system's protocol (libp2p streams, WebSockets), framing and encryption included, TCP/IP
// headers left out. Sockets are seen through Node's net diagnostics channels, so no
// adapter has to expose counters of its own.
import dc from 'node:diagnostics_channel'
import type { Socket } from 'node:net'

const CHANNELS = ['net.client.socket', 'net.server.socket'] as const

export class SocketMeter {
  private readonly sockets = new Set<Socket>()
  private readonly onSocket = (message: unknown): void => {
    const socket = (message as { socket?: Socket }).socket
    if (socket !== undefined) this.sockets.add(socket)
  }
  private running = false

  start(): void {
    if (this.running) return
    this.running = true
    for (const name of CHANNELS) dc.subscribe(name, this.onSocket)
  }

  stop(): void {
    if (!this.running) return
    this.running = false
    for (const name of CHANNELS) dc.unsubscribe(name, this.onSocket)
  }

  /** Bytes written so far by every socket opened or accepted since start(), closed ones included. */
  bytesWritten(): number {
    let total = 0
    for (const socket of this.sockets) total += socket.bytesWritten
    return total
  }

  /** Sockets seen so far (a cluster of n peers in a full mesh opens n(n-1)/2 connections, two ends each). */
  socketCount(): number {
    return this.sockets.size
  }
}
