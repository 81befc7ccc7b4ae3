// Byte-level reader and writer of the member table's storage format (lib0 style). Reading
// is strict: every malformed input raises the error the caller's format names, never a
// RangeError or a half-read value.

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })


export class Writer {
  private readonly chunks: number[] = []

  byte(b: number): void {
    this.chunks.push(b & 0xff)
  }

  /** Unsigned LEB128, minimal length, for integers in [0, 2^53). */
  varUint(n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varUint needs a safe non-negative integer, got ${n}`)
    while (n >= 0x80) {
      this.chunks.push((n % 0x80) | 0x80)
      n = Math.floor(n / 0x80)
    }
    this.chunks.push(n)
  }

  /** Length-prefixed UTF-8. */
  string(s: string): void {
    const bytes = utf8Encoder.encode(s)
    this.varUint(bytes.length)
    for (const b of bytes) this.chunks.push(b)
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks)
  }
}

export class Reader {
  private offset = 0

  constructor(
    private readonly bytes: Uint8Array,
    private readonly fail: (reason: string) => Error,
  ) {}

  get remaining(): number {
    return this.bytes.length - this.offset
  }

  byte(): number {
    const b = this.bytes[this.offset]
    if (b === undefined) throw this.fail('unexpected end of input')
    this.offset++
    return b
  }

  /** Rejects non-minimal encodings (so every value has one encoding) and values ≥ 2^53. */
  varUint(): number {
    let value = 0
    let scale = 1
    for (let i = 0; ; i++) {
      const b = this.byte()
      if (i === 7 && b > 0x0f) throw this.fail('integer exceeds 2^53 - 1')
      value += (b & 0x7f) * scale
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw this.fail('non-minimal integer encoding')
        return value
      }
      scale *= 0x80
    }
  }

  /** Length-prefixed UTF-8, with the length checked against `maxBytes` before reading. */
  string(maxBytes: number): string {
    const length = this.varUint()
    if (length > maxBytes) throw this.fail(`string of ${length} bytes exceeds the limit of ${maxBytes}`)
    if (length > this.remaining) throw this.fail('unexpected end of input')
    const slice = this.bytes.subarray(this.offset, this.offset + length)
    this.offset += length
    try {
      return utf8Decoder.decode(slice)
    } catch {
      throw this.fail('invalid UTF-8')
    }
  }

  end(): void {
    if (this.remaining !== 0) throw this.fail(`${this.remaining} trailing bytes`)
  }
}
