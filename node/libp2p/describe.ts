/** A short, readable description of an error for logs and error messages. */
export function describe(err: unknown): string {
  if (err instanceof Error) return err.name !== 'Error' && !err.message.startsWith(err.name) ? `${err.name}: ${err.message}` : err.message
  return String(err)
}
