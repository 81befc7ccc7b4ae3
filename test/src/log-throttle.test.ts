// The throttle behind every log line a peer can trigger over and over.
import { describe, expect, it } from 'vitest'
import { heldBack, LogThrottle } from '../../src/base/log-throttle.js'

describe('LogThrottle', () => {
  it('lets one line per subject through per interval and counts the ones it held back into the next', () => {
    let now = 0
    const throttle = new LogThrottle(() => now, 1000)
    expect(throttle.admit('a')).toBe(0)
    expect(throttle.admit('a')).toBeUndefined()
    expect(throttle.admit('b')).toBe(0)
    now = 999
    expect(throttle.admit('a')).toBeUndefined()
    now = 1000
    expect(throttle.admit('a')).toBe(2)
    expect(throttle.admit('a')).toBeUndefined()
    expect(heldBack(0)).toBe('')
    expect(heldBack(2)).toMatch(/2 more like it/)
  })

  it('lets a line through when the clock went back rather than staying silent', () => {
    let now = 10_000
    const throttle = new LogThrottle(() => now, 1000)
    expect(throttle.admit()).toBe(0)
    now = 5_000
    expect(throttle.admit()).toBe(0)
  })

  it('remembers a bounded number of subjects: a peer inventing new ones cannot grow it', () => {
    const throttle = new LogThrottle(() => 0, 1000)
    for (let i = 0; i < 5000; i++) expect(throttle.admit(`subject-${i}`)).toBe(0)
    // The oldest were forgotten, so they may log again; the newest are still held.
    expect(throttle.admit('subject-0')).toBe(0)
    expect(throttle.admit('subject-4999')).toBeUndefined()
  })
})
