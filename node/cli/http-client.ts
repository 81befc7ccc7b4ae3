// The CLI's client side: one JSON request to a node's HTTP API. Failures become a
// CliError with a one-line reason (the node's error message, or how to reach the node).

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message)
    this.name = 'CliError'
  }
}

export interface ClientOptions {
  /** Base URL, e.g. http://127.0.0.1:7070 */
  readonly node: string
  readonly token?: string
  readonly timeoutMs?: number
}

export async function callNode(
  options: ClientOptions,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  init: { body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: unknown }> {
  let url: URL
  try {
    url = new URL(path, options.node.endsWith('/') ? options.node : `${options.node}/`)
  } catch {
    throw new CliError(`--node ${JSON.stringify(options.node)} is not a URL; use e.g. http://127.0.0.1:7070`, 2)
  }
  const headers: Record<string, string> = { accept: 'application/json', ...init.headers }
  if (init.body !== undefined) headers['content-type'] = 'application/json'
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`
  let response: Response
  try {
    response = await fetch(url, {
      method,
      headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    })
  } catch (err) {
    const reason = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name
    throw new CliError(`cannot reach the node at ${url.origin} (${reason}); is \`rumordb start\` running there? pass --node URL`)
  }
  const text = await response.text()
  let body: unknown
  try {
    body = text.length === 0 ? undefined : JSON.parse(text)
  } catch {
    throw new CliError(`the node at ${url.origin} answered ${response.status} with something that is not JSON`)
  }
  return { status: response.status, body }
}

/** The node's `{ error: { code, message } }` as a one-line reason. */
export function errorReason(status: number, body: unknown): string {
  const error = (body as { error?: { code?: unknown; message?: unknown; values?: unknown } } | undefined)?.error
  if (error !== undefined && typeof error.message === 'string') {
    // A type conflict names every side: show them, not only how to resolve.
    const sides = Array.isArray(error.values)
      ? `\n${(error.values as { type?: unknown; value?: unknown }[]).map((v) => `  ${String(v.type)} = ${JSON.stringify(v.value)}`).join('\n')}`
      : ''
    return `${typeof error.code === 'string' ? `${error.code}: ` : ''}${error.message}${sides}`
  }
  return `the node answered HTTP ${status}`
}
