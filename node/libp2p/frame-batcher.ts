// Coalesces the frames a channel sends during one event-loop turn into one buffer. Every
// buffer handed to a stream becomes its own muxer frame, encrypted frame and socket write,
// and on loopback the socket write is the largest single cost of a request; writes that
// finish together (a group commit acknowledges many at once) now share one.
import type { Pushable } from 'it-pushable'

/** Frames above this size are passed on alone rather than copied into a batch. */
const MAX_BATCH_BYTES = 64 * 1024

export class FrameBatcher {
  private queue: Uint8Array[] = []
  private bytes = 0
  private scheduled = false
  private ended = false

  constructor(private readonly out: Pushable<Uint8Array>) {}

  push(frame: Uint8Array): void {
    if (this.ended) return
    if (frame.length >= MAX_BATCH_BYTES) {
      this.flush()
      this.out.push(frame)
      return
    }
    this.queue.push(frame)
    this.bytes += frame.length
    if (this.bytes >= MAX_BATCH_BYTES) this.flush()
    else if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flush)
    }
  }

  /** Sends what is queued, then ends the stream's outgoing side. */
  end(): void {
    if (this.ended) return
    this.flush()
    this.ended = true
    this.out.end()
  }

  private readonly flush = (): void => {
    this.scheduled = false
    if (this.ended || this.queue.length === 0) return
    if (this.queue.length === 1) {
      this.out.push(this.queue[0]!)
    } else {
      const batch = new Uint8Array(this.bytes)
      let offset = 0
      for (const frame of this.queue) {
        batch.set(frame, offset)
        offset += frame.length
      }
      this.out.push(batch)
    }
    this.queue = []
    this.bytes = 0
  }
}
