/**
 * The vendor server: node:http on loopback around a VendorApp. The framework owns everything that is
 * the same for every vendor (sockets, body parsing, token extraction, faults, auth gate, daily quota,
 * rate-limit windows, the request log); the app only answers requests in its vendor's shapes.
 *
 * Pipeline per request: read body -> parse (JSON / form) -> token -> latency -> drop -> error burst /
 * error rate -> auth -> daily quota -> 429 burst -> rate limits -> app.handle(). Nothing an app throws or a client
 * sends may crash the server or leave a request hanging.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { createRequestLog, type RequestLog } from './request-log.js';
import type { FaultKnobs, RateWindowState, SandboxRequest, SandboxResponse, VendorApp } from './types.js';

export const DEFAULT_KNOBS: Readonly<FaultKnobs> = Object.freeze({
  latencyMs: 0,
  errorRate: 0,
  dropRate: 0,
  errorBurst: 0,
  rateLimitBurst: 0,
  expireTokens: false,
  quotaExhausted: false,
  rateLimits: true,
  lieOnDelete: false,
});

/** Request bodies above this are refused with the vendor's malformed-body answer (status 413). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export interface VendorServerOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: '127.0.0.1';
  knobs?: Partial<FaultKnobs>;
  log?: RequestLog;
  /** Clock for rate-limit windows and daily quota (tests pin it). */
  now?: () => number;
  /** Random source for errorRate/dropRate (tests pin it). */
  random?: () => number;
}

export interface VendorServer {
  url: string;
  port: number;
  app: VendorApp;
  /** Live knobs; mutate directly or via setKnobs. */
  knobs: FaultKnobs;
  setKnobs(partial: Partial<FaultKnobs>): void;
  log: RequestLog;
  /** Requests counted against today's quota. */
  dailyUsed(): number;
  close(): Promise<void>;
}

const knobsSchema = z
  .object({
    latencyMs: z.number().min(0),
    errorRate: z.number().min(0).max(1),
    dropRate: z.number().min(0).max(1),
    errorBurst: z.number().int().min(0),
    rateLimitBurst: z.number().int().min(0),
    expireTokens: z.boolean(),
    quotaExhausted: z.boolean(),
    rateLimits: z.boolean(),
    lieOnDelete: z.boolean(),
  })
  .partial()
  .strict();

const optionsSchema = z.object({
  port: z.number().int().min(0).max(65535).optional(),
  host: z.literal('127.0.0.1').optional(),
  knobs: knobsSchema.optional(),
});

/** Take the token from `Bearer x`, `Zoho-oauthtoken x` or `OAuth x` (any scheme, case-insensitive). */
export function tokenFromAuthorization(header: string | undefined): string | null {
  if (!header) return null;
  const match = /^\s*[A-Za-z-]+\s+(\S+)\s*$/.exec(header);
  return match?.[1] ?? null;
}

/**
 * The request log must never hold personal data, whatever an app's endpointKey returns: path
 * segments that look like an email, a phone number or a long opaque value become `{id}`.
 */
export function scrubEndpointKey(key: string): string {
  return key
    .split('/')
    .map((segment) => (/@|%40|^\+?\d{7,}$|^[^{}]{40,}$/.test(segment) ? '{id}' : segment))
    .join('/');
}

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        tooLarge = true;
        chunks.length = 0;
        return; // keep draining so the client can read our answer
      }
      if (!tooLarge) chunks.push(chunk);
    });
    req.on('end', () => (tooLarge ? reject(new BodyTooLarge()) : resolve(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

type Parsed = { ok: true; body: unknown } | { ok: false };

function parseBody(raw: string, contentType: string | undefined): Parsed {
  if (raw.length === 0) return { ok: true, body: undefined };
  const type = (contentType ?? '').toLowerCase();
  if (type.includes('application/x-www-form-urlencoded')) {
    return { ok: true, body: Object.fromEntries(new URLSearchParams(raw)) };
  }
  if (type.includes('json') || type === '' || raw.trimStart().startsWith('{') || raw.trimStart().startsWith('[')) {
    try {
      return { ok: true, body: JSON.parse(raw) };
    } catch {
      return { ok: false };
    }
  }
  return { ok: true, body: raw };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Fixed-window counter per (token, window, group). Windows reset on the first request after they end. */
interface Window {
  start: number;
  count: number;
}

/**
 * Sliding-window log per (token, window, group): the arrival times of the calls still inside the last
 * `windowMs`, oldest first. `head` skips the calls that have left, so dropping them costs no copy.
 */
interface RollingWindow {
  calls: number[];
  head: number;
}

/** Forget the calls that left the window by `t`; compact once the dead prefix outgrows the live part. */
function pruneRolling(win: RollingWindow, t: number, windowMs: number): void {
  while (win.head < win.calls.length && win.calls[win.head]! <= t - windowMs) win.head++;
  if (win.head > 64 && win.head * 2 > win.calls.length) {
    win.calls = win.calls.slice(win.head);
    win.head = 0;
  }
}

/** ms until the oldest call in the window leaves it, which is when the next slot frees. */
function rollingFreesInMs(win: RollingWindow, t: number, windowMs: number): number {
  const oldest = win.calls[win.head];
  return oldest === undefined ? 0 : Math.max(0, oldest + windowMs - t);
}

export async function createVendorServer(app: VendorApp, options: VendorServerOptions = {}): Promise<VendorServer> {
  const parsedOptions = optionsSchema.parse({ port: options.port, host: options.host, knobs: options.knobs });
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const log = options.log ?? createRequestLog();
  const knobs: FaultKnobs = { ...DEFAULT_KNOBS, ...parsedOptions.knobs };
  const windows = new Map<string, Window>();
  const rollingWindows = new Map<string, RollingWindow>();
  const inFlight = new Map<string, number>();
  let quotaDay = Math.floor(now() / 86_400_000);
  let dailyUsed = 0;
  if (knobs.expireTokens) {
    app.expireTokens();
    knobs.expireTokens = false;
  }

  const respond = (res: ServerResponse, answer: SandboxResponse, extraHeaders: Record<string, string> = {}): void => {
    if (res.headersSent || res.destroyed) return;
    const headers: Record<string, string> = { ...extraHeaders, ...(answer.headers ?? {}) };
    let payload = '';
    if (answer.body !== undefined) {
      if (typeof answer.body === 'string') {
        payload = answer.body;
        headers['content-type'] ??= 'text/plain; charset=utf-8';
      } else {
        payload = JSON.stringify(answer.body);
        headers['content-type'] ??= 'application/json;charset=utf-8';
      }
    }
    headers['content-length'] = Buffer.byteLength(payload).toString();
    res.writeHead(answer.status, headers);
    res.end(payload);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    let endpoint = `${method} ${url.pathname}`;
    try {
      endpoint = app.endpointKey(method, url.pathname);
    } catch {
      // keep the raw path as the key; the app will answer (or 500) below
    }
    endpoint = scrubEndpointKey(endpoint);
    const record = (status: number, deleted?: string[]) =>
      log.record({ vendor: app.vendor, method, endpoint, status, at: now(), ...(deleted?.length ? { deleted } : {}) });
    const send = (answer: SandboxResponse, extra?: Record<string, string>) => {
      respond(res, answer, extra);
      record(answer.status, answer.deleted);
    };

    let raw: string;
    try {
      raw = await readBody(req);
    } catch (error) {
      if (error instanceof BodyTooLarge) {
        send({ ...app.responses.malformedBody(), status: 413 });
      } else {
        record(0);
        res.destroy();
      }
      return;
    }
    const parsed = parseBody(raw, req.headers['content-type']);
    const sreq: SandboxRequest = {
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      body: parsed.ok ? parsed.body : undefined,
      rawBody: raw,
      token: tokenFromAuthorization(req.headers.authorization) ?? app.tokenFromBody?.(url.pathname, raw) ?? null,
      knobs,
    };

    // Concurrency is counted from arrival to answer, so the latency knob keeps a call in flight.
    const concurrencyKey = app.maxConcurrentPerToken && knobs.rateLimits && !app.isPublic(sreq) ? sreq.token : null;
    if (concurrencyKey !== null) {
      const busy = inFlight.get(concurrencyKey) ?? 0;
      if (busy >= app.maxConcurrentPerToken!) {
        send(app.responses.rateLimited(knobs.latencyMs || 1));
        return;
      }
      inFlight.set(concurrencyKey, busy + 1);
      res.once('close', () => {
        const left = (inFlight.get(concurrencyKey) ?? 1) - 1;
        if (left > 0) inFlight.set(concurrencyKey, left);
        else inFlight.delete(concurrencyKey);
      });
    }
    if (knobs.latencyMs > 0) await sleep(knobs.latencyMs);
    if (knobs.dropRate > 0 && random() < knobs.dropRate) {
      record(0);
      res.destroy();
      return;
    }
    if (knobs.errorBurst > 0) {
      knobs.errorBurst--;
      send(app.responses.serverError());
      return;
    }
    if (knobs.errorRate > 0 && random() < knobs.errorRate) {
      send(app.responses.serverError());
      return;
    }
    if (knobs.expireTokens) {
      app.expireTokens();
      knobs.expireTokens = false;
    }
    if (!parsed.ok) {
      send(app.responses.malformedBody());
      return;
    }
    const isPublic = app.isPublic(sreq);
    if (!isPublic && !app.tokenValid(sreq.token)) {
      send(app.responses.unauthorized(sreq));
      return;
    }

    const day = Math.floor(now() / 86_400_000);
    if (day !== quotaDay) {
      quotaDay = day;
      dailyUsed = 0;
    }
    const windowStates: RateWindowState[] = [];
    if (!isPublic) {
      if (knobs.quotaExhausted || dailyUsed >= app.dailyLimit) {
        send(app.responses.quotaExhausted(sreq));
        return;
      }
      if (knobs.rateLimitBurst > 0) {
        knobs.rateLimitBurst--;
        send(app.responses.rateLimited(1000));
        return;
      }
      if (knobs.rateLimits) {
        const t = now();
        // Only the windows that apply to this request: a group of null exempts it from that window.
        const applicable: { w: number; limit: VendorApp['rateLimits'][number]; key: string }[] = [];
        for (const [w, limit] of app.rateLimits.entries()) {
          const group = limit.group ? limit.group(sreq) : '';
          if (group !== null) applicable.push({ w, limit, key: `${sreq.token ?? ''}\u0000${w}\u0000${group}` });
        }
        for (const { w, limit, key } of applicable) {
          if (limit.rolling) {
            let win = rollingWindows.get(key);
            if (!win) {
              win = { calls: [], head: 0 };
              rollingWindows.set(key, win);
            }
            pruneRolling(win, t, limit.windowMs);
            if (win.calls.length - win.head >= limit.max) {
              send(app.responses.rateLimited(Math.max(1, rollingFreesInMs(win, t, limit.windowMs)), w));
              return;
            }
            continue;
          }
          let win = windows.get(key);
          if (!win || t - win.start >= limit.windowMs) {
            win = { start: t, count: 0 };
            windows.set(key, win);
          }
          if (win.count >= limit.max) {
            send(app.responses.rateLimited(Math.max(1, win.start + limit.windowMs - t), w));
            return;
          }
        }
        for (const { w, limit, key } of applicable) {
          let count: number;
          let resetsInMs: number;
          if (limit.rolling) {
            const win = rollingWindows.get(key);
            if (!win) continue;
            win.calls.push(t);
            count = win.calls.length - win.head;
            resetsInMs = rollingFreesInMs(win, t, limit.windowMs);
          } else {
            const win = windows.get(key);
            if (!win) continue;
            win.count++;
            count = win.count;
            resetsInMs = Math.max(0, win.start + limit.windowMs - t);
          }
          windowStates.push({
            index: w,
            windowMs: limit.windowMs,
            max: limit.max,
            remaining: Math.max(0, limit.max - count),
            resetsInMs,
          });
        }
      }
      dailyUsed++;
    }
    sreq.dailyUsed = dailyUsed;

    let answer: SandboxResponse;
    try {
      answer = await app.handle(sreq);
    } catch {
      // The app's bug is the test's signal: a 500 in the vendor's shape, recorded in the log.
      send(app.responses.serverError());
      return;
    }
    let usage: Record<string, string> = {};
    try {
      usage = app.usageHeaders?.(dailyUsed, windowStates) ?? {};
    } catch {
      usage = {};
    }
    send(answer, answer.status < 400 || app.usageHeadersOnErrors ? usage : {});
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"message":"sandbox framework error"}');
      }
    });
  });
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(parsedOptions.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    app,
    knobs,
    setKnobs(partial) {
      Object.assign(knobs, knobsSchema.parse(partial));
    },
    log,
    dailyUsed: () => dailyUsed,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
