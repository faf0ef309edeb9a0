/**
 * Turns a failed `fetch` into a short phrase that is safe to show to a workflow: no URL
 * with credentials, no resolved addresses, no stack.
 *
 * @module
 */

/** What caused an abort, to tell a timeout from the run's deadline. */
export interface FetchFailureSignals {
  /** The per-request timeout signal. */
  timeout: AbortSignal;
  /** The run's deadline signal. */
  deadline: AbortSignal;
  /** The timeout in ms, quoted in the phrase. */
  timeoutMs: number;
  /** The config key of the timeout, quoted in the phrase. */
  setting: string;
}

const KNOWN_CAUSES: [RegExp, string][] = [
  [/connection refused/i, "the connection was refused"],
  [/connection reset/i, "the connection was reset"],
  [/dns error|failed to lookup|name or service not known/i, "the host name did not resolve"],
  [/certificate|tls|ssl/i, "the TLS handshake failed"],
  [/timed out/i, "the connection timed out"],
  [/incomplete message|unexpected eof|connection closed/i, "the server closed the connection"],
];

/**
 * Describes why a fetch failed.
 *
 * @param error What `fetch` or the body read threw.
 * @param signals The timeout and deadline signals of the request.
 * @returns A phrase such as `timed out after 5000 ms (capabilities.http.timeoutMs)`.
 */
export function describeFetchFailure(error: unknown, signals: FetchFailureSignals): string {
  if (signals.deadline.aborted) return "the run's deadline passed";
  if (signals.timeout.aborted) {
    return `timed out after ${signals.timeoutMs} ms (${signals.setting})`;
  }
  const text = errorText(error);
  const known = KNOWN_CAUSES.find(([pattern]) => pattern.test(text));
  return known ? known[1] : "the request failed";
}

function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    parts.push(current.message);
    current = current.cause;
  }
  return parts.join(" ");
}
