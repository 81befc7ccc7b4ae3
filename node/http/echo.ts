// How an error message repeats the request's own text (a URL, a property name): quoted and
// cut short, so that a 9 KB URL or a 5 KB property name is never sent back whole.

/** The most of any request's own text that a message repeats. */
export const MAX_ECHO_CHARS = 200

/** `text` quoted for a message, cut to MAX_ECHO_CHARS. */
export function echo(text: string): string {
  return text.length <= MAX_ECHO_CHARS
    ? JSON.stringify(text)
    : `${JSON.stringify(text.slice(0, MAX_ECHO_CHARS))}… (${text.length} characters)`
}

/** A message from elsewhere (the framework, a parser) that may quote the request, cut to twice that. */
export function clip(message: string): string {
  const limit = 2 * MAX_ECHO_CHARS
  return message.length <= limit ? message : `${message.slice(0, limit)}… (cut from ${message.length} characters)`
}
