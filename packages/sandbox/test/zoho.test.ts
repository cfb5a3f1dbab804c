/** The Zoho look-alike as a request handler: Zoho's documented shapes, limits and error codes. */
import { describe, expect, it } from 'vitest';
import type { SandboxRequest } from '../src/kit/types.js';
import { createSeedWorld } from '../src/seed/world.js';
import { createZohoApp } from '../src/zoho/index.js';

const world = createSeedWorld({ people: 10_000, seed: 3, now: new Date('2026-11-01T00:00:00Z') });
const CLIENT = { clientId: 'cid', clientSecret: 'secret', refreshToken: 'refresh' };

function req(method: string, pathAndQuery: string, extra: Partial<SandboxRequest> = {}): SandboxRequest {
  const url = new URL(pathAndQuery, 'http://127.0.0.1:1');
  return {
    method,
    path: url.pathname,
    query: url.searchParams,
    headers: { host: '127.0.0.1:1' },
    body: undefined,
    rawBody: '',
    token: 't',
    ...extra,
  };
}

function app() {
  let now = new Date('2026-11-02T00:00:00Z');
  const a = createZohoApp(world, { ...CLIENT, now: () => now });
  return { a, tick: (ms: number) => (now = new Date(now.getTime() + ms)) };
}

async function body(a: ReturnType<typeof createZohoApp>, r: SandboxRequest) {
  const res = await a.handle(r);
  return res;
}

describe('Zoho look-alike', () => {
  it('issues tokens for the configured client with api_domain, and refuses others the Zoho way', async () => {
    const { a } = app();
    const ok = await body(
      a,
      req('POST', '/oauth/v2/token', {
        body: { grant_type: 'refresh_token', client_id: 'cid', client_secret: 'secret', refresh_token: 'refresh' },
        token: null,
      }),
    );
    expect(ok.body).toMatchObject({ api_domain: 'http://127.0.0.1:1', token_type: 'Bearer', expires_in: 3600 });
    const token = (ok.body as { access_token: string }).access_token;
    expect(a.tokenValid(token)).toBe(true);
    a.expireTokens();
    expect(a.tokenValid(token)).toBe(false);
    const bad = await body(
      a,
      req('POST', '/oauth/v2/token', {
        body: { grant_type: 'refresh_token', client_id: 'cid', client_secret: 'secret', refresh_token: 'other-dc' },
      }),
    );
    expect(bad.body).toEqual({ error: 'invalid_code' });
    expect(a.isPublic(req('POST', '/oauth/v2/token'))).toBe(true);
  });

  it('requires fields (<= 50), pages 200 at a time up to 2,000 records, then page_token bound to the parameters', async () => {
    const { a } = app();
    expect((await body(a, req('GET', '/crm/v8/Contacts'))).body).toMatchObject({
      code: 'REQUIRED_PARAM_MISSING',
      status: 'error',
    });
    const many = Array.from({ length: 51 }, (_, i) => `F${i}`).join(',');
    expect((await body(a, req('GET', `/crm/v8/Contacts?fields=${many}`))).body).toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    const q = 'fields=Email,Modified_Time&per_page=200&sort_by=Modified_Time&sort_order=asc';
    const total = a.store.sortedIndex('Contacts').length;
    expect(total).toBeGreaterThan(2000);
    const p10 = await body(a, req('GET', `/crm/v8/Contacts?${q}&page=10`));
    const info = (p10.body as { info: { more_records: boolean; next_page_token: string; page: number } }).info;
    expect(info).toMatchObject({ more_records: true, page: 10 });
    expect((await body(a, req('GET', `/crm/v8/Contacts?${q}&page=11`))).body).toMatchObject({
      code: 'DISCRETE_PAGINATION_LIMIT_EXCEEDED',
    });
    expect(
      (await body(a, req('GET', `/crm/v8/Contacts?${q}&page=1&page_token=${info.next_page_token}`))).body,
    ).toMatchObject({ code: 'AMBIGUITY_DURING_PROCESSING' });
    expect(
      (await body(a, req('GET', `/crm/v8/Contacts?fields=Email&per_page=200&page_token=${info.next_page_token}`))).body,
    ).toMatchObject({ code: 'TOKEN_BOUND_DATA_MISMATCH' });
    const p11 = await body(a, req('GET', `/crm/v8/Contacts?${q}&page_token=${info.next_page_token}`));
    const rows = (p11.body as { data: { Modified_Time: string }[] }).data;
    expect(rows).toHaveLength(200);
    // Ascending Modified_Time, with equal values (hour precision) across page boundaries.
    const times = rows.map((r) => Date.parse(r.Modified_Time));
    expect(times).toEqual([...times].sort((x, y) => x - y));
    const counts = new Map<number, number>();
    for (const e of a.store.sortedIndex('Contacts')) counts.set(e.t, (counts.get(e.t) ?? 0) + 1);
    expect(Math.max(...counts.values())).toBeGreaterThan(200);
  });

  it('filters with If-Modified-Since and answers 304 when nothing changed', async () => {
    const { a, tick } = app();
    const q = 'fields=Email&per_page=200&sort_by=Modified_Time&sort_order=asc';
    const headers = { host: 'x', 'if-modified-since': '2026-11-02T00:00:00+00:00' };
    expect((await body(a, req('GET', `/crm/v8/Contacts?${q}`, { headers }))).status).toBe(304);
    const id = a.store.sortedIndex('Contacts')[0]?.id as string;
    tick(5000);
    const put = await body(a, req('PUT', '/crm/v8/Contacts', { body: { data: [{ id, Last_Name: 'Changed' }] } }));
    expect(put.status).toBe(200);
    const after = await body(a, req('GET', `/crm/v8/Contacts?${q}`, { headers }));
    expect((after.body as { data: { id: string }[] }).data.map((r) => r.id)).toEqual([id]);
  });

  it('deletes 100 ids a call with per-record results (207 when mixed), feeds deletions and purges the recycle bin', async () => {
    const { a } = app();
    const ids = a.store
      .sortedIndex('Leads')
      .slice(0, 3)
      .map((e) => e.id);
    const first = await body(a, req('DELETE', `/crm/v8/Leads?ids=${ids.slice(0, 2).join(',')}`));
    expect(first.status).toBe(200);
    expect(first.deleted).toEqual(ids.slice(0, 2));
    const mixed = await body(a, req('DELETE', `/crm/v8/Leads?ids=${ids.join(',')}`));
    expect(mixed.status).toBe(207);
    expect(mixed.deleted).toEqual([ids[2]]); // what the request log counts per id
    expect((mixed.body as { data: { code: string }[] }).data.map((d) => d.code)).toEqual([
      'INVALID_DATA',
      'INVALID_DATA',
      'SUCCESS',
    ]);
    const tooMany = Array.from({ length: 101 }, (_, i) => String(i)).join(',');
    expect((await body(a, req('DELETE', `/crm/v8/Leads?ids=${tooMany}`))).body).toMatchObject({
      code: 'LIMIT_EXCEEDED',
    });
    const feed = await body(a, req('GET', '/crm/v8/Leads/deleted?type=recycle'));
    expect((feed.body as { data: { id: string; type: string }[] }).data.map((d) => d.type)).toEqual([
      'recycle',
      'recycle',
      'recycle',
    ]);
    const bin = await body(a, req('GET', `/crm/v8/settings/recycle_bin?ids=${ids[0]}`));
    expect((bin.body as { recycle_bin: { id: string }[] }).recycle_bin.map((r) => r.id)).toEqual([ids[0]]);
    const purge = await body(a, req('DELETE', `/crm/v8/settings/recycle_bin?ids=${ids[0]}`));
    expect(purge.status).toBe(200);
    const permanent = await body(a, req('GET', '/crm/v8/Leads/deleted?type=permanent'));
    expect((permanent.body as { data: { id: string; display_name: unknown }[] }).data).toEqual([
      expect.objectContaining({ id: ids[0], display_name: null }),
    ]);
    expect((await body(a, req('GET', `/crm/v8/Leads?ids=${ids[0]}&fields=Email`))).status).toBe(204);
  });

  it('searches by email and phone and answers COQL with no index lag', async () => {
    const now = new Date('2026-11-02T00:00:00Z');
    const a = createZohoApp(world, { ...CLIENT, now: () => now, searchLagMs: 60_000 });
    const id = a.store.sortedIndex('Contacts')[0]?.id as string;
    const row = a.store.get(id) as unknown as { Email: string; Phone: string };
    const hit = await body(a, req('GET', `/crm/v8/Contacts/search?email=${encodeURIComponent(row.Email)}`));
    expect((hit.body as { data: { id: string }[] }).data.map((r) => r.id)).toContain(id);
    const byPhone = await body(a, req('GET', `/crm/v8/Contacts/search?phone=${encodeURIComponent(row.Phone)}`));
    expect((byPhone.body as { data: { id: string }[] }).data.map((r) => r.id)).toContain(id);
    await body(a, req('PUT', '/crm/v8/Contacts', { body: { data: [{ id, Email: 'renamed@example.org' }] } }));
    expect((await body(a, req('GET', '/crm/v8/Contacts/search?email=renamed@example.org'))).status).toBe(204);
    const coql = await body(
      a,
      req('POST', '/crm/v8/coql', {
        body: {
          select_query:
            "select Email, Last_Name from Contacts where (Email = 'renamed@example.org' or Secondary_Email = 'renamed@example.org') limit 200",
        },
      }),
    );
    expect((coql.body as { data: { id: string }[] }).data.map((r) => r.id)).toEqual([id]);
    const notes = await body(
      a,
      req('POST', '/crm/v8/coql', {
        body: { select_query: `select Note_Content, Parent_Id from Notes where Parent_Id in ('${id}') limit 2000` },
      }),
    );
    expect([200, 204]).toContain(notes.status);
    expect((await body(a, req('POST', '/crm/v8/coql', { body: { select_query: 'select from' } }))).body).toMatchObject({
      code: 'SYNTAX_ERROR',
    });
  });

  it('answers COQL `in (...)` lists joined by `or`, reads escaped quotes, caps `in` at 50 values and refuses malformed queries', async () => {
    const { a } = app();
    const rows = a.store
      .sortedIndex('Contacts')
      .slice(0, 3)
      .map(({ id }) => a.store.get(id) as unknown as { id: string; Email: string; Phone: string });
    const coql = (select_query: string) => body(a, req('POST', '/crm/v8/coql', { body: { select_query } }));
    const list = (values: string[]) =>
      values.map((v) => `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`).join(', ');
    const emails = [...rows.map((r) => r.Email.toUpperCase()), "o'brien@example.org"];
    const byEmail = await coql(
      `select Email from Contacts where (Email in (${list(emails)}) or Secondary_Email in (${list(emails)})) limit 200`,
    );
    expect(byEmail.status).toBe(200);
    const emailRows = (byEmail.body as { data: { id: string; Email: string }[] }).data;
    expect(emailRows.map((r) => r.id)).toEqual(expect.arrayContaining(rows.map((r) => r.id)));
    // Case-insensitive, as Zoho compares: duplicates holding the same addresses come back too, nothing else.
    for (const r of emailRows) expect(emails.map((e) => e.toLowerCase())).toContain(r.Email.toLowerCase());
    const phones = rows.map((r) => r.Phone);
    const byPhone = await coql(
      `select Phone from Contacts where (Phone in (${list(phones)}) or Mobile in (${list(phones)}))`,
    );
    expect((byPhone.body as { data: { id: string }[] }).data.map((r) => r.id)).toEqual(
      expect.arrayContaining(rows.map((r) => r.id)),
    );
    // A quote inside a literal stays inside it: no record has this address, and nothing else matches.
    expect(
      (await coql(`select Email from Contacts where Email in (${list(["x') or (Email is not null"])})`)).status,
    ).toBe(204);
    const fiftyOne = Array.from({ length: 51 }, (_, i) => `p${i}@example.org`);
    expect((await coql(`select Email from Contacts where Email in (${list(fiftyOne)})`)).body).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      details: { limit: 50 },
    });
    for (const broken of [
      "select Email from Contacts where Email in ('a@example.org'",
      "select Email from Contacts where Email in ('a@example.org' 'b@example.org')",
      "select Email from Contacts where Email = 'unterminated",
    ]) {
      const res = await coql(broken);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ code: 'SYNTAX_ERROR', status: 'error' });
    }
  });

  it('answers framework faults in Zoho shapes and reports credits', () => {
    const { a } = app();
    expect(a.responses.unauthorized()).toMatchObject({ status: 401, body: { code: 'INVALID_TOKEN', status: 'error' } });
    expect(a.responses.rateLimited(1000)).toMatchObject({ status: 429, body: { code: 'TOO_MANY_REQUESTS' } });
    expect(a.responses.quotaExhausted()).toMatchObject({ status: 429, headers: { 'X-API-CREDITS-REMAINING': '0' } });
    expect(a.usageHeaders?.(49_000)).toEqual({ 'X-API-CREDITS-REMAINING': '1000' });
    expect(a.endpointKey('GET', '/crm/v8/Contacts/300000000000001000')).toBe('GET /crm/v8/Contacts/{id}');
  });
});
