/**
 * The contract between the sandbox framework (server, request log, faults, seed) and the vendor
 * look-alikes (hubspot, salesforce, zoho). A vendor app is a pure request handler over its own store;
 * the framework owns sockets, body parsing, the request log, latency/error/drop faults and token expiry.
 */
import type { IncomingHttpHeaders } from 'node:http';

export type VendorName = 'hubspot' | 'salesforce' | 'zoho';
export const VENDORS: readonly VendorName[] = ['hubspot', 'salesforce', 'zoho'];

export interface SandboxRequest {
  method: string;
  /** Path without the query string, e.g. `/crm/v3/objects/contacts`. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Parsed JSON or form body; undefined when empty. A malformed JSON body never reaches the app. */
  body: unknown;
  rawBody: string;
  /** Bearer / OAuth token taken from the Authorization header (any scheme), if present. */
  token: string | null;
  /** Requests counted against today's quota, this one included (set by the server; apps report it, e.g. `/limits`). */
  dailyUsed?: number;
  /** The server's live fault knobs, for the few faults an app must honour itself (lieOnDelete). */
  knobs?: Readonly<FaultKnobs>;
}

export interface SandboxResponse {
  status: number;
  headers?: Record<string, string>;
  /** JSON-serialised unless a string (then sent as is, with the given content-type). */
  body?: unknown;
  /**
   * Ids of the records this call really deleted (archived, moved to a recycle bin or erased), for the request
   * log's per-record delete counts. An id that was already gone, a rolled-back call and a lie (lieOnDelete)
   * delete nothing.
   */
  deleted?: string[];
}

/** Knobs a test or the CLI can turn on a running vendor server. All default to off. */
export interface FaultKnobs {
  /** Added latency per request, in ms. */
  latencyMs: number;
  /** Share (0..1) of requests answered with the vendor's 5xx. */
  errorRate: number;
  /** Share (0..1) of requests whose connection is destroyed without an answer. */
  dropRate: number;
  /** Fail the next N requests with 5xx (deterministic bursts for tests). */
  errorBurst: number;
  /** Answer the next N authorised requests with the vendor's 429 (deterministic rate-limit storms). */
  rateLimitBurst: number;
  /** Expire every access token issued so far: the next call with one gets the vendor's 401. */
  expireTokens: boolean;
  /** The daily quota is used up: the vendor's daily-limit error until reset. */
  quotaExhausted: boolean;
  /** Enforce the vendor's published rate limits (429 with vendor headers/body). Default true. */
  rateLimits: boolean;
  /**
   * A lying vendor: delete endpoints answer success but keep the records readable, so only a
   * read-back (verification) can tell. Honoured by the apps' delete endpoints.
   */
  lieOnDelete: boolean;
}

export interface RequestLogEntry {
  vendor: VendorName;
  method: string;
  /** Endpoint key with ids replaced: `GET /crm/v3/objects/contacts/{id}`. */
  endpoint: string;
  /** HTTP status answered; 0 when the connection was dropped (dropRate knob, aborted upload). */
  status: number;
  at: number;
  /** Ids of the records the call really deleted (SandboxResponse.deleted); absent when none. */
  deleted?: string[];
}

/** A rate-limit window as the current caller sees it after the request was counted. */
export interface RateWindowState {
  /** Index of the window in `VendorApp.rateLimits`. */
  index: number;
  windowMs: number;
  max: number;
  remaining: number;
  /** ms until the window resets (rolling: until its oldest call leaves it and frees a slot). */
  resetsInMs: number;
}

export interface VendorApp {
  vendor: VendorName;
  /** Map a concrete path to its endpoint key for the request log (ids replaced by `{id}`). */
  endpointKey(method: string, path: string): string;
  handle(req: SandboxRequest): SandboxResponse | Promise<SandboxResponse>;
  /** Paths that never need a token (OAuth token endpoint). */
  isPublic(req: SandboxRequest): boolean;
  /** Is the token one this app issued (and not expired)? */
  tokenValid(token: string | null): boolean;
  /** Mark every issued token as expired (FaultKnobs.expireTokens). */
  expireTokens(): void;
  /**
   * The access token of a request that carries it in the body rather than the Authorization header
   * (Salesforce SOAP puts the session id in the envelope's SessionHeader).
   */
  tokenFromBody?(path: string, rawBody: string): string | null;
  /** The vendor's answers for framework-level faults, in the vendor's shapes (`req` lets SOAP answer as SOAP). */
  responses: {
    unauthorized(req?: SandboxRequest): SandboxResponse;
    serverError(): SandboxResponse;
    notFound(req: SandboxRequest): SandboxResponse;
    malformedBody(): SandboxResponse;
    /** 429 with the vendor's headers; `retryAfterMs` until the window frees; `index` of the window in `rateLimits` that is full. */
    rateLimited(retryAfterMs: number, index?: number): SandboxResponse;
    /** Daily quota used up (Salesforce: 403 REQUEST_LIMIT_EXCEEDED). */
    quotaExhausted(req?: SandboxRequest): SandboxResponse;
  };
  /**
   * The vendor's published rate-limit windows, enforced per token by the framework. `group` splits a
   * window into one counter per group; a group of `null` exempts the request from that window (HubSpot's
   * search has its own 5/s limit and does not count against the 10 s burst).
   */
  rateLimits: {
    windowMs: number;
    max: number;
    group?: (req: SandboxRequest) => string | null;
    /**
     * Sliding window (HubSpot's TEN_SECONDLY_ROLLING): at most `max` calls in any `windowMs`, and a
     * refused call is told to wait until the oldest call in the window leaves it. Default: fixed windows
     * that start with their first call and reset `windowMs` later.
     */
    rolling?: boolean;
  }[];
  /**
   * Requests one token may have in flight at once (Zoho's per-edition concurrency limit); one more is
   * answered with `responses.rateLimited`. Enforced with `FaultKnobs.rateLimits`; in flight includes the
   * `latencyMs` knob, which is what makes a sandbox call take time.
   */
  maxConcurrentPerToken?: number;
  /**
   * Headers added to every successful answer (e.g. Sforce-Limit-Info), given daily usage and, for
   * each of `rateLimits` that applies to the request, in order, the caller's window after this request
   * (e.g. X-HubSpot-RateLimit-Remaining).
   */
  usageHeaders?(dailyUsed: number, windows?: RateWindowState[]): Record<string, string>;
  /** Add usageHeaders to the app's error answers too (Salesforce sends Sforce-Limit-Info on every answer). */
  usageHeadersOnErrors?: boolean;
  /** Daily request allocation (for usage headers and quota exhaustion). */
  dailyLimit: number;
}
