/**
 * A loopback HTTP proxy in front of a connector's real base URL. Every HTTP connector gets fault
 * injection for free, whatever its HTTP stack (the HubSpot SDK, jsforce, global fetch): the fixture
 * points the connector at `route(upstream)` and the testkit decides, request by request, whether to
 * forward it or to answer with a fault (a status, a dropped connection, a held request). The same proxy
 * taps exchanges for the fixture recorder.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';

/** One request as the proxy saw it. */
export interface ProxiedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** An OAuth token request (RFC 6749 `grant_type=refresh_token`, in the body or the query). */
  isTokenRequest: boolean;
  /** Upstream origin the request is forwarded to. */
  upstream: string;
}

export interface FaultResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/**
 * What to do with one request: forward it (undefined), answer with a status, drop the connection
 * (`reset`), or forward it later (`delayMs`, `hold` until a promise settles).
 */
export type FaultAction =
  | undefined
  | { respond: FaultResponse }
  | { reset: true }
  | { delayMs: number }
  | { hold: Promise<unknown> };

export interface Exchange {
  request: ProxiedRequest;
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface ProxyHooks {
  /** Decide the fate of each request; default forwards everything. */
  decide?: (request: ProxiedRequest) => FaultAction | Promise<FaultAction>;
  /** Sees every forwarded request with its full upstream response (the recorder writes fixtures from it). */
  onExchange?: (exchange: Exchange) => void;
}

export interface FaultProxy {
  /** Base URL to give the connector instead of the upstream one (same path prefix). */
  url: string;
  requests: ProxiedRequest[];
  close(): Promise<void>;
}

const TOKEN_GRANT = /grant_type=refresh_token|"grant_type"\s*:\s*"refresh_token"/;
// Hop-by-hop headers (RFC 9110 7.6.1) and the ones the proxy sets itself.
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host', 'content-length']);

function forwardHeaders(headers: IncomingHttpHeaders, bodyLength: number): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_HEADERS.has(k)) out[k] = v;
  // Uncompressed answers, so the recorder can read them and faults can be compared by content.
  delete out['accept-encoding'];
  // Vendors that answer with their own URL (Salesforce's `instance_url`) must name the proxy, or every later
  // call would bypass it; X-Forwarded-Host is how reverse proxies say so.
  if (headers.host) out['x-forwarded-host'] = headers.host;
  if (bodyLength > 0) out['content-length'] = String(bodyLength);
  return out;
}

export async function startFaultProxy(upstream: string, hooks: ProxyHooks = {}): Promise<FaultProxy> {
  const target = new URL(upstream);
  const requests: ProxiedRequest[] = [];
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const path = req.url ?? '/';
      const proxied: ProxiedRequest = {
        method: req.method ?? 'GET',
        path,
        headers: req.headers,
        body,
        isTokenRequest: TOKEN_GRANT.test(path) || TOKEN_GRANT.test(body.toString('utf8')),
        upstream: target.origin,
      };
      requests.push(proxied);
      let action: FaultAction;
      try {
        action = await hooks.decide?.(proxied);
      } catch {
        action = { respond: { status: 500, body: { message: 'testkit fault hook failed' } } };
      }
      if (action && 'reset' in action) {
        req.socket.destroy();
        return;
      }
      if (action && 'respond' in action) {
        const { status, headers = {}, body: payload } = action.respond;
        const text = payload === undefined ? '' : typeof payload === 'string' ? payload : JSON.stringify(payload);
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(text);
        return;
      }
      if (action && 'delayMs' in action) await new Promise((r) => setTimeout(r, action.delayMs));
      if (action && 'hold' in action) await action.hold.catch(() => undefined);
      const out = send(
        new URL(path, target),
        { method: proxied.method, headers: forwardHeaders(req.headers, body.length) },
        (up) => {
          const upChunks: Buffer[] = [];
          up.on('data', (c: Buffer) => upChunks.push(c));
          up.on('end', () => {
            const upBody = Buffer.concat(upChunks);
            hooks.onExchange?.({ request: proxied, status: up.statusCode ?? 502, headers: up.headers, body: upBody });
            const headers = { ...up.headers };
            delete headers['transfer-encoding'];
            delete headers.connection;
            headers['content-length'] = String(upBody.length);
            res.writeHead(up.statusCode ?? 502, headers);
            res.end(upBody);
          });
        },
      );
      out.on('error', () => req.socket.destroy());
      out.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const prefix = target.pathname === '/' ? '' : target.pathname.replace(/\/$/, '');
  return {
    url: `http://127.0.0.1:${port}${prefix}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
