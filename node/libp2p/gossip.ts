// Broadcast over one gossipsub topic per cluster. Messages are signed (StrictSign), so
// `from` is the author, not the peer that forwarded it. The topic validator rejects
// frames that are too large or that the wire codec cannot decode as a broadcast: such
// messages are neither delivered nor forwarded, and gossipsub lowers the sender's score.
import type { GossipsubEvents } from '@chainsafe/libp2p-gossipsub'
import { TopicValidatorResult, type Message, type PeerId, type PubSub, type SubscriptionChangeData } from '@libp2p/interface'
import type { BroadcastHandler } from '../../src/transport/transport.js'
import { decodeBroadcast } from '../../src/wire/codec.js'
import type { Libp2pTransportCounters } from './counters.js'
import type { TransportLogger } from './logger.js'
import { describe } from './describe.js'

/** True when `frame` may be delivered and forwarded. */
export type BroadcastValidator = (frame: Uint8Array) => boolean

export const decodableBroadcast: BroadcastValidator = (frame) => {
  try {
    decodeBroadcast(frame)
    return true
  } catch {
    return false
  }
}

export interface GossipInit {
  readonly pubsub: PubSub<GossipsubEvents>
  readonly topic: string
  readonly self: string
  readonly maxFrameBytes: number
  readonly validate: BroadcastValidator
  readonly handler: () => BroadcastHandler | undefined
  readonly onSubscription: (peer: string, subscribed: boolean) => void
  readonly counters: Libp2pTransportCounters
  readonly log: TransportLogger
}

export class Gossip {
  private started = false

  constructor(private readonly init: GossipInit) {}

  /** Call after libp2p started (gossipsub refuses subscriptions before). */
  start(): void {
    if (this.started) return
    this.started = true
    const { pubsub, topic } = this.init
    pubsub.topicValidators.set(topic, this.validator)
    pubsub.addEventListener('message', this.onMessage)
    pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    pubsub.subscribe(topic)
  }

  stop(): void {
    if (!this.started) return
    this.started = false
    const { pubsub, topic } = this.init
    pubsub.removeEventListener('message', this.onMessage)
    pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    pubsub.topicValidators.delete(topic)
  }

  publish(frame: Uint8Array): void {
    const { counters, log } = this.init
    if (!this.started) return
    if (frame.length > this.init.maxFrameBytes) {
      counters.broadcastsDropped++
      log.warn({ bytes: frame.length, limit: this.init.maxFrameBytes }, 'broadcast frame too large for gossip; not sent')
      return
    }
    counters.broadcastsSent++
    counters.gossipBytesSent += frame.length
    // gossipsub keeps a reference until the message is sent and cached: give it its own copy.
    this.init.pubsub.publish(this.init.topic, frame.slice()).catch((err: unknown) => {
      log.debug({ err: describe(err) }, 'gossip publish failed')
    })
  }

  /** Peers gossipsub knows to be subscribed to the topic. */
  subscribers(): PeerId[] {
    return this.init.pubsub.getSubscribers(this.init.topic)
  }

  private readonly validator = (_from: PeerId, msg: Message): TopicValidatorResult => {
    const ok = msg.type === 'signed' && msg.data.length <= this.init.maxFrameBytes && this.init.validate(msg.data)
    if (ok) return TopicValidatorResult.Accept
    this.init.counters.broadcastsRejected++
    this.init.log.debug({ author: msg.type === 'signed' ? msg.from.toString() : undefined, bytes: msg.data.length }, 'rejected a gossip message')
    return TopicValidatorResult.Reject
  }

  private readonly onMessage = (event: CustomEvent<Message>): void => {
    const msg = event.detail
    if (msg.topic !== this.init.topic || msg.type !== 'signed') return
    const author = msg.from.toString()
    if (author === this.init.self) return
    this.init.counters.broadcastsReceived++
    this.init.counters.gossipBytesReceived += msg.data.length
    const handler = this.init.handler()
    if (handler === undefined) return
    try {
      // A plain copy: gossipsub hands out Buffer views into the whole RPC it decoded.
      handler(author, new Uint8Array(msg.data))
    } catch (err) {
      this.init.log.warn({ author, err: describe(err) }, 'broadcast handler threw')
    }
  }

  private readonly onSubscriptionChange = (event: CustomEvent<SubscriptionChangeData>): void => {
    const peer = event.detail.peerId.toString()
    for (const sub of event.detail.subscriptions) {
      if (sub.topic === this.init.topic) this.init.onSubscription(peer, sub.subscribe)
    }
  }
}
