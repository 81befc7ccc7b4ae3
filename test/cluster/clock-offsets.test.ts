// ClockOffsets alone: peers' offsets from heartbeat times, the majority rule, what it tells
// the operator, and the read-side limit. Time is passed in, so nothing here waits.
import { describe, expect, it } from 'vitest'
import { CLOCK_OFFSET_SAMPLES, ClockOffsets, FUTURE_REGISTER_LOG_INTERVAL_MS, MIN_CLOCK_OFFSET_SAMPLES } from '../../src/cluster/membership/clock-offsets.js'
import type { Clock } from '../../src/base/clock.js'
import { recordingLogger } from '../../src/base/logger.js'

const T0 = 1_700_000_000_000

function setup(peers: string[], maxOffsetMs = 500) {
  let now = T0
  const live = new Set(peers)
  const clock: Clock = { now: () => now, setTimeout: () => ({}), clearTimeout: () => undefined }
  const logger = recordingLogger()
  const offsets = new ClockOffsets({ self: 'me', clock, livePeers: () => [...live], maxOffsetMs, logger: logger.forComponent('clock') })
  /** `count` heartbeats from `peer` whose clock is `offsetMs` ahead of ours. */
  const beat = (peer: string, offsetMs: number, count = MIN_CLOCK_OFFSET_SAMPLES): void => {
    for (let i = 0; i < count; i++) offsets.record(peer, now + offsetMs, now)
  }
  return { offsets, live, logger, beat, advance: (ms: number) => (now += ms) }
}

describe('ClockOffsets', () => {
  it('takes the least delayed of the last heartbeats (the largest sample), and judges a peer only after a few', () => {
    const { offsets, beat } = setup(['b', 'c'])
    beat('b', -2000, MIN_CLOCK_OFFSET_SAMPLES - 1)
    expect(offsets.offsetOf('b')).toBeUndefined()
    beat('b', -2000, 1)
    expect(offsets.offsetOf('b')).toBe(-2000)
    // A delay only ever lowers a sample: the largest is the best estimate.
    beat('b', -2300, 2)
    expect(offsets.offsetOf('b')).toBe(-2000)
    beat('b', 3, 1)
    expect(offsets.offsetOf('b')).toBe(3)
    // A clock set back shows once the samples from before it left the window.
    beat('b', -2000, CLOCK_OFFSET_SAMPLES - 1)
    expect(offsets.offsetOf('b')).toBe(3)
    beat('b', -2000, 1)
    expect(offsets.offsetOf('b')).toBe(-2000)
  })

  it('is not off when heartbeats arrive late (a busy event loop) while the clocks agree', () => {
    // Nemesis-free repro of the 5-node equal-work runs: node 0's loop ran seconds behind, every
    // heartbeat it read looked 0.5-3 s old, and it refused register writes with ClockSkewError.
    const { offsets } = setup(['b', 'c'])
    let t = T0
    for (let i = 0; i < CLOCK_OFFSET_SAMPLES; i++) {
      t += 1000
      // Each peer's clock agrees with ours; each heartbeat is read 900 ms after it was sent, but one in the window 20 ms after.
      const delay = i === 2 ? 20 : 900
      offsets.record('b', t, t + delay)
      offsets.record('c', t, t + delay)
    }
    expect(offsets.offsetOf('b')).toBe(-20)
    expect(offsets.isOff()).toBe(false)
    expect(offsets.registerWriteRefusal()).toBeUndefined()
  })

  it('is off when more than half of the live nodes, itself included, disagree with it', () => {
    const three = setup(['b', 'c'])
    three.beat('b', 2000)
    expect(three.offsets.isOff()).toBe(false) // 1 of 3
    three.beat('c', 2100)
    expect(three.offsets.isOff()).toBe(true) // 2 of 3
    expect(three.offsets.status()).toMatchObject({ off: true, offsetMs: -2050, peersMeasured: 2, peersDisagreeing: 2 })

    const five = setup(['b', 'c', 'd', 'e'])
    five.beat('b', -900)
    five.beat('c', -900)
    five.beat('d', 0)
    expect(five.offsets.isOff()).toBe(false) // 2 of 5
    five.beat('e', -900)
    expect(five.offsets.isOff()).toBe(true) // 3 of 5
    expect(five.offsets.status().offsetMs).toBe(900)
  })

  it('never judges itself off with one peer: two nodes cannot tell whose clock is wrong', () => {
    const { offsets, beat } = setup(['b'])
    beat('b', 5000)
    expect(offsets.status()).toMatchObject({ off: false, peersDisagreeing: 1, offsetMs: -5000 })
    expect(offsets.registerWriteRefusal()).toBeUndefined()
  })

  it('counts only live peers', () => {
    const { offsets, live, beat } = setup(['b', 'c'])
    beat('b', 2000)
    beat('c', 2000)
    expect(offsets.isOff()).toBe(true)
    live.delete('c') // suspected: now 1 of 2
    expect(offsets.isOff()).toBe(false)
  })

  it('ignores a heartbeat time of 0 (a sender that does not fill it) and its own heartbeats', () => {
    const { offsets } = setup(['b'])
    for (let i = 0; i < 5; i++) offsets.record('b', 0, T0)
    for (let i = 0; i < 5; i++) offsets.record('me', T0 + 9000, T0)
    expect(offsets.status()).toMatchObject({ peersMeasured: 0, offsetMs: 0 })
  })

  it('refuses register writes while off with a ClockSkewError naming the offset, and recovers by itself', () => {
    const { offsets, beat, logger } = setup(['b', 'c'])
    beat('b', -2000)
    beat('c', -2000)
    const refusal = offsets.registerWriteRefusal()
    expect(refusal).toMatchObject({ name: 'ClockSkewError', code: 'CLOCK_SKEW', node: 'me', offsetMs: 2000, maxOffsetMs: 500 })
    expect(refusal?.message).toMatch(/node me's wall clock is 2000 ms ahead of the cluster's \(limit 500 ms\).*NTP/)
    expect(offsets.stats.writesRefused).toBe(1)
    // Fixed clock: new heartbeats outvote the old samples.
    beat('b', 0)
    beat('c', 0)
    expect(offsets.registerWriteRefusal()).toBeUndefined()
    expect(offsets.status()).toMatchObject({ off: false, timesFoundOff: 1, writesRefused: 1 })
    // Told once when found off, once when it recovered.
    expect(logger.lines.map((l) => [l.level, l.component])).toEqual([
      ['warn', 'rumordb:clock'],
      ['info', 'rumordb:clock'],
    ])
    expect(logger.lines[0]?.message).toMatch(/2000 ms ahead of the cluster's: 2 of 3 live nodes disagree by more than 500 ms; refusing register writes.*NTP/)
  })

  it('leaves out registers stamped too far ahead, logging once per peer and key a minute', () => {
    const { offsets, logger, advance } = setup(['b', 'c'])
    expect(offsets.ignoresRegister('b', 'k', T0 + 500)).toBe(false)
    expect(offsets.ignoresRegister('b', 'k', T0 + 501)).toBe(true)
    expect(offsets.ignoresRegister('b', 'k', T0 + 2000)).toBe(true)
    expect(offsets.ignoresRegister('b', 'other', T0 + 2000)).toBe(true)
    expect(offsets.stats.futureRegistersIgnored).toBe(3)
    expect(logger.lines.map((l) => [l.level, l.fields.peer, l.fields.key])).toEqual([
      ['warn', 'b', 'k'],
      ['warn', 'b', 'other'],
    ])
    advance(FUTURE_REGISTER_LOG_INTERVAL_MS)
    expect(offsets.ignoresRegister('b', 'k', T0 + FUTURE_REGISTER_LOG_INTERVAL_MS + 2000)).toBe(true)
    expect(logger.lines).toHaveLength(3)
  })

  it('keeps the registers of a cluster whose clocks agree with each other when its own clock is the one off', () => {
    const { offsets, beat } = setup(['b', 'c'])
    beat('b', 2000)
    beat('c', 2000)
    expect(offsets.ignoresRegister('b', 'k', T0 + 2000)).toBe(false)
    expect(offsets.stats.futureRegistersIgnored).toBe(0)
  })
})
