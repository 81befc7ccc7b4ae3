// A JSON-over-HTTP client for one node with a keep-alive connection pool, for load: the
// latency measured is a request on a warm connection, not a TCP handshake. (fetch works
// too, but its per-request overhead in this process would show in the percentiles.)
import { Agent, request } from 'node:http'

export interface JsonResponse {
  readonly status: number
  readonly body: unknown
}

export class JsonClient {
  private readonly agent: Agent
  private readonly url: URL

  constructor(
    baseUrl: string,
    /** Connections kept open at most: the requests one caller has in flight. */
    maxSockets: number,
    private readonly timeoutMs = 20_000,
  ) {
    this.url = new URL(baseUrl)
    this.agent = new Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets })
  }

  request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<JsonResponse> {
    const payload = body === undefined ? undefined : JSON.stringify(body)
    return new Promise<JsonResponse>((resolve, reject) => {
      const req = request(
        {
          agent: this.agent,
          host: this.url.hostname,
          port: this.url.port,
          method,
          path,
          headers: payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            try {
              resolve({ status: res.statusCode ?? 0, body: text.length > 0 ? JSON.parse(text) : undefined })
            } catch (err) {
              reject(new Error(`${method} ${path}: answer is not JSON (${(err as Error).message}): ${text.slice(0, 200)}`))
            }
          })
          res.on('error', reject)
        },
      )
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${this.timeoutMs} ms`)))
      req.on('error', reject)
      req.end(payload)
    })
  }

  close(): void {
    this.agent.destroy()
  }
}
