// The simulator's pending events: a binary min-heap ordered by (time, insertion sequence),
// so events at the same virtual instant run in the order they were scheduled. Cancelling
// only marks an event; dead entries are skipped when they reach the top, and the heap is
// rebuilt when they outnumber the live ones (request timeouts are scheduled by the
// thousand and nearly all cancelled).

/** A scheduled event as the caller sees it: `id` is its insertion sequence, unique per scheduler. */
export interface SimEvent {
  readonly id: number
  readonly time: number
}

export class QueuedEvent implements SimEvent {
  constructor(
    readonly time: number,
    readonly id: number,
    /** Null once the event ran or was cancelled. */
    public fn: (() => void) | null,
  ) {}
}

const COMPACT_MIN_DEAD = 4096

export class EventQueue {
  private heap: QueuedEvent[] = []
  private dead = 0

  /** Entries in the heap, cancelled ones included. */
  get size(): number {
    return this.heap.length
  }

  push(ev: QueuedEvent): void {
    const heap = this.heap
    heap.push(ev)
    this.siftUp(heap.length - 1)
  }

  /** The earliest live event, or undefined when none is left. */
  peek(): QueuedEvent | undefined {
    for (;;) {
      const top = this.heap[0]
      if (top === undefined || top.fn !== null) return top
      this.removeTop()
      this.dead--
    }
  }

  /** Removes the event `peek()` returned. */
  pop(): QueuedEvent | undefined {
    const top = this.peek()
    if (top !== undefined) this.removeTop()
    return top
  }

  /** Call after nulling `fn` of an event that is still in the heap. */
  markDead(): void {
    this.dead++
    if (this.dead >= COMPACT_MIN_DEAD && this.dead * 2 > this.heap.length) this.compact()
  }

  private compact(): void {
    this.heap = this.heap.filter((e) => e.fn !== null)
    this.dead = 0
    for (let i = (this.heap.length >>> 1) - 1; i >= 0; i--) this.siftDown(i)
  }

  private removeTop(): void {
    const heap = this.heap
    const last = heap.pop() as QueuedEvent
    if (heap.length > 0) {
      heap[0] = last
      this.siftDown(0)
    }
  }

  private siftUp(i: number): void {
    const heap = this.heap
    const ev = heap[i] as QueuedEvent
    while (i > 0) {
      const parentIndex = (i - 1) >>> 1
      const parent = heap[parentIndex] as QueuedEvent
      if (!before(ev, parent)) break
      heap[i] = parent
      i = parentIndex
    }
    heap[i] = ev
  }

  private siftDown(i: number): void {
    const heap = this.heap
    const n = heap.length
    const ev = heap[i] as QueuedEvent
    for (;;) {
      const left = 2 * i + 1
      if (left >= n) break
      const right = left + 1
      let child = left
      let childEv = heap[left] as QueuedEvent
      if (right < n) {
        const rightEv = heap[right] as QueuedEvent
        if (before(rightEv, childEv)) {
          child = right
          childEv = rightEv
        }
      }
      if (!before(childEv, ev)) break
      heap[i] = childEv
      i = child
    }
    heap[i] = ev
  }
}

function before(a: QueuedEvent, b: QueuedEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.id < b.id)
}
