// A simulated node's transport that records each request it sends (sender, receiver, the
// message's type tag), for tests that count what went over the wire.
import type { SimNode } from '../../src/sim/sim-node.js'
import type { Transport } from '../../src/transport/transport.js'
import { MESSAGE_TAGS } from '../../src/wire/codec.js'
import type { Request } from '../../src/wire/messages.js'

export interface SentRequest {
  readonly from: string
  readonly to: string
  /** The frame's type tag (MESSAGE_TAGS). */
  readonly tag: number
}

/** SimClusterOptions.transport: each node's own transport, its requests pushed onto `sent`. */
export function recordRequests(sent: SentRequest[]): (node: SimNode) => Transport {
  return (node) =>
    new Proxy(node.transport, {
      get(target, prop) {
        if (prop === 'request') {
          const request: Transport['request'] = (peer, frame, options) => {
            sent.push({ from: node.id, to: peer, tag: frame[1] as number })
            return target.request(peer, frame, options)
          }
          return request
        }
        const value: unknown = Reflect.get(target, prop)
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
      },
    })
}

/** The requests of `type` that `from` sent (to `to`, when given). */
export function sentOf(sent: readonly SentRequest[], from: string, type: Request['type'], to?: string): SentRequest[] {
  return sent.filter((s) => s.from === from && s.tag === MESSAGE_TAGS[type] && (to === undefined || s.to === to))
}
