/**
 * One HTTP failure shape for connectors that speak REST over fetch (unstorage's FetchError). The runtime's
 * default classifier understands it: 429 -> rate limited (Retry-After honoured), 5xx -> transient,
 * 401 -> auth expired, 403 -> permission, 404 -> not found.
 */
export class HttpError extends Error {
  readonly status: number;
  readonly headers: Headers;
  /** Parsed response body. Kept for classification; never logged (vendors echo request values). */
  readonly body: unknown;
  /** Method and path without the query string (queries can hold emails). */
  readonly endpoint: string;

  constructor(status: number, endpoint: string, headers: Headers, body: unknown, message?: string) {
    super(message ?? `HTTP ${status} from ${endpoint}`);
    this.name = 'HttpError';
    this.status = status;
    this.endpoint = endpoint;
    this.headers = headers;
    this.body = body;
  }
}

/** Parse a Retry-After header (seconds or HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now: Date = new Date()): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now.getTime());
}
