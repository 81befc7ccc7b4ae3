// The little of `ws` (a dependency of the Automerge WebSocket adapter) this benchmark uses;
// @types/ws would pull a second, newer @types/node into bench/peers.
declare module 'ws' {
  import type { EventEmitter } from 'node:events'
  import type { AddressInfo } from 'node:net'

  export class WebSocketServer extends EventEmitter {
    constructor(options: { host?: string; port?: number })
    readonly clients: Set<{ terminate(): void }>
    address(): AddressInfo | string
    close(callback?: (err?: Error) => void): void
  }
}
