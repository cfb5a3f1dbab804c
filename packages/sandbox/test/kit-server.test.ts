import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRequestLog,
  createVendorServer,
  type SandboxRequest,
  startSandbox,
  type VendorApp,
  type VendorServer,
} from '../src/index.js';

/** A tiny vendor app: echoes the parsed request; `/boom` throws; `/oauth/token` issues tokens. */
function echoApp(limits: VendorApp['rateLimits'] = []): VendorApp & { issued: Set<string>; expired: Set<string> } {
  const issued = new Set<string>(['good-token']);
  const expired = new Set<string>();
  return {
    vendor: 'hubspot',
    issued,
    expired,
    endpointKey: (method, path) => `${method} ${path.replace(/\/\d+(?=\/|$)/g, '/{id}')}`,
    isPublic: (req) => req.path === '/oauth/token',
    tokenValid: (token) => token !== null && issued.has(token) && !expired.has(token),
    expireTokens() {
      for (const t of issued) expired.add(t);
    },
    handle(req: SandboxRequest) {
      if (req.path === '/boom') throw new Error('app bug');
      if (req.path === '/oauth/token') {
        issued.add('fresh-token');
        return { status: 200, body: { access_token: 'fresh-token' } };
      }
      return {
        status: 200,
        body: { method: req.method, path: req.path, body: req.body, q: req.query.get('q'), token: req.token },
      };
    },
    responses: {
      unauthorized: () => ({ status: 401, body: { category: 'INVALID_AUTHENTICATION' } }),
      serverError: () => ({ status: 502, body: { category: 'SERVER_ERROR' } }),
      notFound: () => ({ status: 404, body: { category: 'OBJECT_NOT_FOUND' } }),
      malformedBody: () => ({ status: 400, body: { category: 'VALIDATION_ERROR', message: 'Invalid input JSON' } }),
      rateLimited: (ms, index) => ({
        status: 429,
        headers: { 'retry-after': String(Math.ceil(ms / 1000)) },
        body: { errorType: 'RATE_LIMIT', ms, window: index },
      }),
      quotaExhausted: () => ({ status: 429, body: { errorType: 'RATE_LIMIT', policyName: 'DAILY' } }),
    },
    rateLimits: limits,
    usageHeaders: (used, windows = []) => ({
      'x-daily-used': String(used),
      'x-remaining': windows.map((w) => `${w.remaining}/${w.max}`).join(','),
      'x-windows': windows.map((w) => w.index).join(','),
    }),
    dailyLimit: 1000,
  };
}

const auth = { authorization: 'Bearer good-token' };
let servers: VendorServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});
async function serve(app: VendorApp, options: Parameters<typeof createVendorServer>[1] = {}) {
  const server = await createVendorServer(app, options);
  servers.push(server);
  return server;
}

describe('vendor server kit', () => {
  it('listens on 127.0.0.1 only and parses JSON and form bodies and every auth scheme', async () => {
    const server = await serve(echoApp());
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const json = await fetch(`${server.url}/crm/v3/objects/contacts/123?q=x`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1 }),
    });
    expect(json.status).toBe(200);
    expect(json.headers.get('x-daily-used')).toBe('1');
    expect(await json.json()).toEqual({
      method: 'POST',
      path: '/crm/v3/objects/contacts/123',
      body: { a: 1 },
      q: 'x',
      token: 'good-token',
    });
    const form = await fetch(`${server.url}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=refresh_token&refresh_token=r',
    });
    expect(await form.json()).toEqual({ access_token: 'fresh-token' });
    for (const scheme of ['Zoho-oauthtoken', 'OAuth', 'Bearer']) {
      const res = await fetch(`${server.url}/x`, { headers: { authorization: `${scheme} fresh-token` } });
      expect(((await res.json()) as { token: string }).token).toBe('fresh-token');
    }
  });

  it('answers malformed JSON with the vendor body, oversize bodies with 413', async () => {
    const server = await serve(echoApp());
    const res = await fetch(`${server.url}/x`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: '{"a":',
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ category: 'VALIDATION_ERROR', message: 'Invalid input JSON' });
    const big = await fetch(`${server.url}/x`, { method: 'POST', headers: auth, body: 'x'.repeat(11 * 1024 * 1024) });
    expect(big.status).toBe(413);
  });

  it('refuses missing, unknown and expired tokens with the vendor 401', async () => {
    const server = await serve(echoApp());
    expect((await fetch(`${server.url}/x`)).status).toBe(401);
    expect((await fetch(`${server.url}/x`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
    expect((await fetch(`${server.url}/x`, { headers: auth })).status).toBe(200);
    server.setKnobs({ expireTokens: true });
    const expired = await fetch(`${server.url}/x`, { headers: auth });
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual({ category: 'INVALID_AUTHENTICATION' });
    // a fresh token from the public endpoint works again
    await fetch(`${server.url}/oauth/token`, { method: 'POST' });
    expect((await fetch(`${server.url}/x`, { headers: { authorization: 'Bearer fresh-token' } })).status).toBe(200);
  });

  it('enforces rate-limit windows per token and group, then recovers', async () => {
    let clock = 1_000_000;
    const app = echoApp([
      { windowMs: 10_000, max: 3 },
      { windowMs: 1_000, max: 1, group: (req) => (req.path.endsWith('/search') ? 'search' : 'other') },
    ]);
    const server = await serve(app, { now: () => clock });
    const get = (path: string) => fetch(`${server.url}${path}`, { headers: auth });
    const first = await get('/a');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-remaining')).toBe('2/3,0/1');
    const second = await get('/b');
    expect(second.status).toBe(429);
    expect(((await second.json()) as { ms: number }).ms).toBe(1000);
    expect((await get('/c/search')).status).toBe(200); // separate group
    clock += 1_000;
    expect((await get('/a')).status).toBe(200);
    clock += 1_000;
    const overBurst = await get('/a');
    expect(overBurst.status).toBe(429);
    expect(((await overBurst.json()) as { ms: number }).ms).toBe(8_000);
    clock += 8_000;
    expect((await get('/a')).status).toBe(200);
    server.setKnobs({ rateLimits: false });
    for (let i = 0; i < 5; i++) expect((await get('/a')).status).toBe(200);
  });

  it('a rolling window counts the calls of the last windowMs and waits for the oldest to leave it', async () => {
    let clock = 1_000_000;
    const app = echoApp([{ windowMs: 10_000, max: 3, rolling: true }]);
    const server = await serve(app, { now: () => clock });
    const get = () => fetch(`${server.url}/a`, { headers: auth });
    expect((await get()).status).toBe(200); // t=0
    clock += 4_000;
    expect((await get()).status).toBe(200); // t=4s
    clock += 4_000;
    const third = await get(); // t=8s
    expect(third.status).toBe(200);
    expect(third.headers.get('x-remaining')).toBe('0/3');
    clock += 1_000;
    const full = await get(); // t=9s: the call at t=0 is still in the window, it leaves at t=10s
    expect(full.status).toBe(429);
    expect(((await full.json()) as { ms: number }).ms).toBe(1_000);
    clock += 1_000;
    // t=10s: a fixed window starting at t=0 would have reset and allowed three; a rolling one frees one slot.
    expect((await get()).status).toBe(200);
    const again = await get();
    expect(again.status).toBe(429);
    expect(((await again.json()) as { ms: number }).ms).toBe(4_000); // the call at t=4s leaves at t=14s
    clock += 4_000;
    expect((await get()).status).toBe(200);
    // refused calls are not counted: after a quiet window the whole allowance is back
    clock += 10_000;
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe(200);
    expect((await get()).status).toBe(429);
  });

  it('limits requests in flight per token (concurrency), counting the latency, and frees the slot on answer', async () => {
    const server = await serve({ ...echoApp(), maxConcurrentPerToken: 2 }, { knobs: { latencyMs: 300 } });
    const get = (token: string) => fetch(`${server.url}/a`, { headers: { authorization: `Bearer ${token}` } });
    const statuses = await Promise.all(
      [get('good-token'), get('good-token'), get('good-token')].map(async (r) => (await r).status),
    );
    expect(statuses.sort()).toEqual([200, 200, 429]);
    // Slots are per token, and free again once the answers are out.
    expect((await Promise.all([get('good-token'), get('good-token')])).map((r) => r.status)).toEqual([200, 200]);
    server.setKnobs({ rateLimits: false });
    const unlimited = await Promise.all([get('good-token'), get('good-token'), get('good-token')]);
    expect(unlimited.map((r) => r.status)).toEqual([200, 200, 200]);
  });

  it('a null group exempts a request from a window; each group keeps its own window and names it when full', async () => {
    const clock = 1_000_000;
    // HubSpot's shape: the 10 s burst skips search, search has its own per-second window.
    const search = (req: SandboxRequest) => req.path.endsWith('/search');
    const app = echoApp([
      { windowMs: 10_000, max: 2, group: (req) => (search(req) ? null : 'burst') },
      { windowMs: 1_000, max: 3, group: (req) => (search(req) ? 'search' : null) },
    ]);
    const server = await serve(app, { now: () => clock });
    const get = (path: string) => fetch(`${server.url}${path}`, { headers: auth });
    const plain = await get('/a');
    expect(plain.headers.get('x-windows')).toBe('0');
    expect((await get('/a')).status).toBe(200);
    const full = await get('/a');
    expect(full.status).toBe(429);
    expect(((await full.json()) as { window: number }).window).toBe(0);
    // search is not counted against the full burst window, only against its own
    const found = await get('/x/search');
    expect(found.status).toBe(200);
    expect(found.headers.get('x-windows')).toBe('1');
    expect(found.headers.get('x-remaining')).toBe('2/3');
    expect((await get('/x/search')).status).toBe(200);
    expect((await get('/x/search')).status).toBe(200);
    const searchFull = await get('/x/search');
    expect(searchFull.status).toBe(429);
    expect(((await searchFull.json()) as { window: number }).window).toBe(1);
  });

  it('fails exactly N requests on an error burst, and honours errorRate', async () => {
    const server = await serve(echoApp(), { knobs: { errorBurst: 3 } });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await fetch(`${server.url}/x`, { headers: auth })).status);
    expect(statuses).toEqual([502, 502, 502, 200, 200]);
    server.setKnobs({ errorRate: 1 });
    expect((await fetch(`${server.url}/x`, { headers: auth })).status).toBe(502);
  });

  it('answers exactly N authorised requests with the vendor 429 on a rate-limit burst; apps see the live knobs', async () => {
    const server = await serve(echoApp(), { knobs: { rateLimitBurst: 2 } });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${server.url}/x`, { headers: auth })).status);
    expect(statuses).toEqual([429, 429, 200, 200]);
    // An unauthorised call gets its 401 and does not use up the burst.
    server.setKnobs({ rateLimitBurst: 1 });
    expect((await fetch(`${server.url}/x`)).status).toBe(401);
    const limited = await fetch(`${server.url}/x`, { headers: auth });
    expect([limited.status, limited.headers.get('retry-after')]).toEqual([429, '1']);
    expect(server.log.count({ status: 429 })).toBe(3);
    server.setKnobs({ lieOnDelete: true });
    expect(server.knobs.lieOnDelete).toBe(true);
  });

  it('drops connections so the client sees a socket error, and adds latency', async () => {
    const server = await serve(echoApp(), { knobs: { dropRate: 1 } });
    await expect(fetch(`${server.url}/x`, { headers: auth })).rejects.toThrow();
    const raw = await new Promise<string>((resolve) => {
      const req = request(`${server.url}/x`, { headers: auth }, () => resolve('answered'));
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
      req.end();
    });
    expect(raw).toBe('ECONNRESET');
    server.setKnobs({ dropRate: 0, latencyMs: 150 });
    const t0 = performance.now();
    expect((await fetch(`${server.url}/x`, { headers: auth })).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('answers quota exhaustion from the knob and from the daily limit, resetting next day', async () => {
    let clock = Date.parse('2026-01-01T12:00:00Z');
    const app = { ...echoApp(), dailyLimit: 2 };
    const server = await serve(app, { now: () => clock });
    const get = () => fetch(`${server.url}/x`, { headers: auth });
    expect((await get()).status).toBe(200);
    expect((await get()).status).toBe(200);
    const over = await get();
    expect(over.status).toBe(429);
    expect(await over.json()).toEqual({ errorType: 'RATE_LIMIT', policyName: 'DAILY' });
    clock += 86_400_000;
    expect((await get()).status).toBe(200);
    server.setKnobs({ quotaExhausted: true });
    expect((await get()).status).toBe(429);
  });

  it('turns app exceptions into a vendor 500 that is logged, and keeps serving', async () => {
    const server = await serve(echoApp());
    const res = await fetch(`${server.url}/boom`, { headers: auth });
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ category: 'SERVER_ERROR' });
    expect((await fetch(`${server.url}/x`, { headers: auth })).status).toBe(200);
    expect(server.log.count({ endpoint: 'GET /boom', status: 502 })).toBe(1);
  });

  it('counts requests per endpoint key, vendor and status in a bounded log', async () => {
    const log = createRequestLog({ maxEntries: 5 });
    const server = await serve(echoApp(), { log });
    for (const id of [1, 2, 3, 4, 5, 6, 7])
      await fetch(`${server.url}/crm/v3/objects/contacts/${id}`, { headers: auth });
    await fetch(`${server.url}/crm/v3/objects/contacts/9`);
    expect(log.byEndpoint('hubspot')).toEqual({ 'GET /crm/v3/objects/contacts/{id}': 8 });
    expect(log.count({ vendor: 'hubspot', status: 200 })).toBe(7);
    expect(log.count({ status: 401 })).toBe(1);
    expect(log.count({ vendor: 'zoho' })).toBe(0);
    expect(log.entries()).toHaveLength(5);
    log.reset();
    expect(log.count()).toBe(0);
  });

  it('keeps personal data and tokens out of the request log', async () => {
    const server = await serve(echoApp());
    const email = 'anna.berzina.17@example-3.test';
    await fetch(`${server.url}/contacts/${encodeURIComponent(email)}`, { headers: auth });
    await fetch(`${server.url}/contacts/${email}/notes`, { headers: auth });
    await fetch(`${server.url}/lookup/+37126123456`, { headers: { authorization: 'Bearer secret-token-value' } });
    const dump = JSON.stringify([server.log.entries(), server.log.byEndpoint()]);
    for (const secret of [email, 'anna', '37126123456', 'good-token', 'secret-token-value'])
      expect(dump).not.toContain(secret);
    expect(server.log.byEndpoint()).toEqual({
      'GET /contacts/{id}': 1,
      'GET /contacts/{id}/notes': 1,
      'GET /lookup/{id}': 1,
    });
  });

  it('rejects invalid knobs and a host other than loopback', async () => {
    const server = await serve(echoApp());
    expect(() => server.setKnobs({ errorRate: 2 })).toThrow();
    await expect(createVendorServer(echoApp(), { host: '0.0.0.0' as '127.0.0.1' })).rejects.toThrow();
  });
});

describe('startSandbox', () => {
  it('starts chosen vendors with fixed credentials, shared log, knobs and a ready systems config', async () => {
    const sandbox = await startSandbox({ people: 500, vendors: ['hubspot'], factories: { hubspot: () => echoApp() } });
    try {
      expect(Object.keys(sandbox.urls)).toEqual(['hubspot']);
      expect(sandbox.planted.people).toBe(500);
      expect(sandbox.credentials.hubspot.refreshToken).toBe('sandbox-refresh-hubspot');
      await fetch(`${sandbox.urls.hubspot}/x`, { headers: auth });
      expect(sandbox.log.count({ vendor: 'hubspot' })).toBe(1);
      sandbox.setKnobs('hubspot', { errorBurst: 1 });
      expect(sandbox.knobs('hubspot').errorBurst).toBe(1);
      expect((await fetch(`${sandbox.urls.hubspot}/x`, { headers: auth })).status).toBe(502);
      expect(() => sandbox.knobs('zoho')).toThrow(/not running/);
      const [system] = sandbox.systemsConfig();
      expect(system).toMatchObject({ name: 'hubspot', connector: 'hubspot', purposes: ['marketing', 'support'] });
      expect(system?.options.baseUrl).toBe(sandbox.urls.hubspot);
    } finally {
      await sandbox.stop();
    }
  });

  it('runs a real vendor look-alike (zoho) behind the kit with the fixed credentials', async () => {
    const sandbox = await startSandbox({ people: 300, vendors: ['zoho'] });
    try {
      const res = await fetch(`${sandbox.urls.zoho}/crm/v8/Contacts`);
      expect(res.status).toBe(401);
      expect(sandbox.log.count({ vendor: 'zoho', status: 401 })).toBe(1);
      const c = sandbox.credentials.zoho;
      const tokenRes = await fetch(`${sandbox.urls.zoho}/oauth/v2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          grant_type: 'refresh_token',
          client_id: c.clientId,
          client_secret: c.clientSecret,
          refresh_token: c.refreshToken,
        }).toString(),
      });
      expect(tokenRes.status).toBe(200);
      const { access_token } = (await tokenRes.json()) as { access_token: string };
      const headers = { authorization: `Zoho-oauthtoken ${access_token}` };
      expect((await fetch(`${sandbox.urls.zoho}/crm/v8/Contacts?fields=Email`, { headers })).status).toBe(200);
      sandbox.setKnobs('zoho', { expireTokens: true });
      expect((await fetch(`${sandbox.urls.zoho}/crm/v8/Contacts?fields=Email`, { headers })).status).toBe(401);
      const [system] = sandbox.systemsConfig();
      expect(system).toMatchObject({
        name: 'zoho-crm',
        connector: 'zoho',
        purposes: ['support'],
        options: {
          apiBaseUrl: sandbox.urls.zoho,
          clientId: 'sandbox-zoho-client',
          refreshToken: 'sandbox-refresh-zoho',
        },
      });
    } finally {
      await sandbox.stop();
    }
  });
});
