import { HttpError, type Page } from '@custodian/core';
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
// The COQL parser of the sandbox look-alike reads back the queries the connector sends.
import { parseCoql } from '../../../packages/sandbox/src/zoho/coql.js';
import { classifyZohoError } from '../src/index.js';
import {
  captureLogger,
  collect,
  connect,
  type FakeRecord,
  getRecordsReply,
  REFRESH,
  SECRET,
  tokenReply,
} from './helpers.js';

const API = 'https://www.zohoapis.eu';
const ACCOUNTS = 'https://accounts.zoho.eu';
const EMAIL = 'ada.lovelace@example.org';

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
});

function token(n = 1, accounts = ACCOUNTS, api = API) {
  return nock(accounts)
    .post(
      '/oauth/v2/token',
      (body: Record<string, string>) =>
        body.grant_type === 'refresh_token' && body.refresh_token === REFRESH && body.client_secret === SECRET,
    )
    .times(n)
    .reply(200, tokenReply('1000.access-abc', api));
}

const EXTRA = Array.from({ length: 45 }, (_, i) => `Custom_${i + 1}`);
const fieldsMeta = (names: string[]) => ({ fields: names.map((api_name) => ({ api_name, data_type: 'text' })) });

function makeContacts(n: number): FakeRecord[] {
  const base = Date.parse('2026-01-01T00:00:00Z');
  return Array.from({ length: n }, (_, i) => ({
    id: String(5_000_000_000_000 + i),
    // Groups of 7 records share a second, so equal Modified_Time values straddle page boundaries.
    Modified_Time: `${new Date(base + Math.floor(i / 7) * 1000).toISOString().slice(0, 19)}+00:00`,
    Created_Time: '2025-01-01T00:00:00+00:00',
    Email: `person${i}@example.org`,
    Last_Name: `Name${i}`,
    Email_Opt_Out: i % 2 === 0,
    Data_Processing_Basis_Details: { Data_Processing_Basis: 'Consent - Obtained', id: `dp${i}` },
    Lead_Status: 'Contacted',
    Last_Activity_Time: '2026-01-02T00:00:00+00:00',
    Custom_45: `custom-${i}`,
  }));
}

describe('auth and data centres', () => {
  it('refreshes with a form body on the configured data centre, sends Zoho-oauthtoken and uses api_domain', async () => {
    const t = token();
    const api = nock(API, { reqheaders: { authorization: 'Zoho-oauthtoken 1000.access-abc' } })
      .get('/crm/v8/Contacts')
      .query({ ids: '1', fields: /Email/ })
      .reply(200, { data: [{ id: '1', Email: EMAIL, Last_Name: 'Lovelace', Email_Opt_Out: true }] });
    const c = await connect();
    const [rec] = await c.get([{ system: 'zoho-eu', object: 'Contacts', id: '1' }]);
    expect(rec?.canonical.email).toBe(EMAIL);
    expect(rec?.consent?.marketingOptOut).toBe(true);
    expect(t.isDone() && api.isDone()).toBe(true);
  });

  it('refreshes once for concurrent calls', async () => {
    const t = token(1);
    nock(API)
      .get('/crm/v8/Contacts')
      .query(true)
      .times(5)
      .reply(200, { data: [{ id: '1' }] });
    const c = await connect();
    await Promise.all(Array.from({ length: 5 }, () => c.get([{ system: 'zoho-eu', object: 'Contacts', id: '1' }])));
    expect(t.isDone()).toBe(true);
  });

  it('refreshes and retries once on INVALID_TOKEN, then explains the data centre', async () => {
    token(2);
    const invalid = { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' };
    nock(API).get('/crm/v8/Contacts').query(true).twice().reply(401, invalid);
    const c = await connect();
    const err = await c.get([{ system: 'zoho-eu', object: 'Contacts', id: '1' }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CUSTODIAN_ERR_CONNECTOR_AUTH', kind: 'auth_revoked' });
    expect((err as Error).message).toContain('configured "eu"');
    expect((err as Error).message).toContain('accounts.zoho.eu');
    expect((err as Error).message).not.toContain('1000.access-abc');
  });

  it('recovers when the token expired: refresh and the retry succeeds', async () => {
    token(2);
    nock(API)
      .get('/crm/v8/Contacts')
      .query(true)
      .reply(401, { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' })
      .get('/crm/v8/Contacts')
      .query(true)
      .reply(200, { data: [{ id: '1' }] });
    const c = await connect();
    const [rec] = await c.get([{ system: 'zoho-eu', object: 'Contacts', id: '1' }]);
    expect(rec?.ref.id).toBe('1');
  });

  it('reports a refresh token the accounts server does not know (other data centre) without leaking it', async () => {
    nock(ACCOUNTS).post('/oauth/v2/token').reply(200, { error: 'invalid_code' });
    const c = await connect();
    const err = await c.get([{ system: 'zoho-eu', object: 'Contacts', id: '1' }]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CUSTODIAN_ERR_CONNECTOR_AUTH' });
    expect((err as Error).message).toContain('data centre "eu"');
    expect((err as Error).message).not.toContain(REFRESH);
  });

  it('uses the data-centre table for every DC and an explicit apiBaseUrl/accountsUrl when given', async () => {
    nock('https://accounts.zoho.com.au')
      .post('/oauth/v2/token')
      .reply(200, { access_token: 'au-token', expires_in: 3600 });
    nock('https://www.zohoapis.com.au')
      .get('/crm/v8/Leads')
      .query(true)
      .reply(200, { data: [{ id: '7' }] });
    const au = await connect({ dataCentre: 'au' }, 'zoho-au');
    expect((await au.get([{ system: 'zoho-au', object: 'Leads', id: '7' }]))[0]?.ref.id).toBe('7');

    nock('http://127.0.0.1:9').post('/oauth/v2/token').reply(200, tokenReply('sbx', 'https://ignored.example'));
    nock('http://127.0.0.1:8')
      .get('/crm/v8/Leads')
      .query(true)
      .reply(200, { data: [{ id: '8' }] });
    const sbx = await connect(
      { dataCentre: 'us', apiBaseUrl: 'http://127.0.0.1:8', accountsUrl: 'http://127.0.0.1:9' },
      'zoho-sbx',
    );
    expect((await sbx.get([{ system: 'zoho-sbx', object: 'Leads', id: '8' }]))[0]?.ref.id).toBe('8');
  });

  it('two tenants in parallel never mix tokens or hosts', async () => {
    const seen: { host: string; auth: string }[] = [];
    nock('https://accounts.zoho.eu')
      .post('/oauth/v2/token')
      .reply(200, tokenReply('eu-token', 'https://www.zohoapis.eu'));
    nock('https://accounts.zoho.in')
      .post('/oauth/v2/token')
      .reply(200, tokenReply('in-token', 'https://www.zohoapis.in'));
    for (const host of ['https://www.zohoapis.eu', 'https://www.zohoapis.in'])
      nock(host)
        .get('/crm/v8/Contacts')
        .query(true)
        .times(20)
        .reply(function () {
          seen.push({ host, auth: String(this.req.headers.authorization) });
          return [200, { data: [{ id: host.endsWith('eu') ? 'eu-1' : 'in-1' }] }];
        });
    const [eu, inn] = await Promise.all([
      connect({ dataCentre: 'eu' }, 'zoho-eu'),
      connect({ dataCentre: 'in' }, 'zoho-in'),
    ]);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0
          ? eu.get([{ system: 'zoho-eu', object: 'Contacts', id: 'eu-1' }])
          : inn.get([{ system: 'zoho-in', object: 'Contacts', id: 'in-1' }]),
      ),
    );
    expect(results.every((r, i) => r[0]?.ref.id === (i % 2 === 0 ? 'eu-1' : 'in-1'))).toBe(true);
    expect(seen).toHaveLength(20);
    for (const s of seen)
      expect(s.auth).toBe(s.host.endsWith('eu') ? 'Zoho-oauthtoken eu-token' : 'Zoho-oauthtoken in-token');
  });
});

describe('incremental read', () => {
  it('pulls 2,500 changed records: page numbers to 2,000, page_token beyond, field chunks of 50, deletions, and an observed checkpoint', async () => {
    token();
    const contacts = makeContacts(2500);
    const requests: { page: string | null; token: boolean; fields: number }[] = [];
    nock(API)
      .get('/crm/v8/settings/fields')
      .query({ module: 'Contacts' })
      .reply(200, fieldsMeta(['id', 'Email', 'Last_Name', ...EXTRA]))
      .get('/crm/v8/Contacts')
      .query(true)
      .times(100)
      .reply(function (uri) {
        const q = new URL(uri, API).searchParams;
        requests.push({
          page: q.get('page'),
          token: q.has('page_token'),
          fields: (q.get('fields') ?? '').split(',').length,
        });
        expect(q.get('sort_by')).toBe('Modified_Time');
        expect(q.get('sort_order')).toBe('asc');
        return getRecordsReply(contacts, uri, this.req.headers) as [number, string];
      })
      .get('/crm/v8/Contacts/deleted')
      .query({ type: 'all', page: '1', per_page: '200' })
      .reply(200, {
        data: [
          {
            id: '900',
            type: 'recycle',
            deleted_time: '2026-02-01T00:00:00+00:00',
            display_name: 'x',
            deleted_by: { id: '1' },
          },
          {
            id: '901',
            type: 'permanent',
            deleted_time: '2026-02-02T00:00:00+00:00',
            display_name: 'y',
            deleted_by: { id: '1' },
          },
        ],
        info: { per_page: 200, count: 2, page: 1, more_records: false },
      });
    const c = await connect();
    const pages = await collect(c.read('Contacts', null));
    const records = pages.flatMap((p) => p.records);
    expect(records).toHaveLength(2500);
    expect(new Set(records.map((r) => r.ref.id)).size).toBe(2500);
    expect(records[0]?.fields.Custom_45).toBe('custom-0');
    expect(records[0]?.consent).toEqual({ marketingOptOut: true, legalBasis: 'consent' });
    expect(records[0]?.lifecycleStage).toBe('Contacted');
    expect(records[0]?.lastActivityAt).toBe('2026-01-02T00:00:00+00:00');
    // 13 pages x 2 field chunks, page numbers for pages 1-10, page_token for 11-13.
    expect(requests).toHaveLength(26);
    expect(requests.filter((r) => r.token)).toHaveLength(6);
    expect(Math.max(...requests.map((r) => r.fields))).toBeLessThanOrEqual(50);
    expect(requests.filter((r) => r.page !== null).every((r) => Number(r.page) <= 10)).toBe(true);
    const last = pages.at(-1) as Page;
    expect(last.deleted).toEqual([
      {
        ref: { system: 'zoho-eu', object: 'Contacts', id: '900' },
        deletedAt: '2026-02-01T00:00:00+00:00',
        state: 'archived',
      },
      {
        ref: { system: 'zoho-eu', object: 'Contacts', id: '901' },
        deletedAt: '2026-02-02T00:00:00+00:00',
        state: 'deleted',
      },
    ]);
    // Never past what was observed: the latest deleted_time minus one second.
    expect(last.checkpoint).toMatchObject({ since: '2026-02-01T23:59:59+00:00', phase: 'records', page: 1 });
  });

  it('resumes from every yielded checkpoint without losing a record (equal Modified_Time across pages)', async () => {
    token();
    const contacts = makeContacts(2300);
    nock(API)
      .get('/crm/v8/settings/fields')
      .query(true)
      .reply(200, fieldsMeta(['Email']))
      .get('/crm/v8/Contacts')
      .query(true)
      .times(200)
      .reply(function (uri) {
        return getRecordsReply(contacts, uri, this.req.headers) as [number, string];
      })
      .get('/crm/v8/Contacts/deleted')
      .query(true)
      .times(20)
      .reply(204);
    const c = await connect();
    const full = await collect(c.read('Contacts', null));
    const all = new Set(full.flatMap((p) => p.records.map((r) => r.ref.id)));
    for (const at of [0, 4, 9, 10, 11]) {
      const resumed = await collect(c.read('Contacts', full[at]?.checkpoint ?? null));
      const seen = new Set([
        ...full.slice(0, at + 1).flatMap((p) => p.records.map((r) => r.ref.id)),
        ...resumed.flatMap((p) => p.records.map((r) => r.ref.id)),
      ]);
      expect(seen.size).toBe(all.size);
    }
    // The next run asks from one second before the latest Modified_Time and skips the ids it already saw
    // at that second: nothing unchanged comes back, but a record written in that same second does.
    expect(full.at(-1)?.checkpoint).toMatchObject({ boundary: { at: contacts.at(-1)?.Modified_Time } });
    const again = await collect(c.read('Contacts', full.at(-1)?.checkpoint ?? null));
    expect(again.flatMap((p) => p.records)).toEqual([]);
    contacts.push({ ...(contacts.at(-1) as FakeRecord), id: '5999999999999', Email: 'late@example.org' });
    const late = await collect(c.read('Contacts', full.at(-1)?.checkpoint ?? null));
    expect(late.flatMap((p) => p.records.map((r) => r.ref.id))).toEqual(['5999999999999']);
  });

  it('switches to page_token on DISCRETE_PAGINATION_LIMIT_EXCEEDED from a checkpoint without a token', async () => {
    token();
    const contacts = makeContacts(2100);
    const seen: string[] = [];
    nock(API)
      .get('/crm/v8/settings/fields')
      .query(true)
      .reply(200, fieldsMeta(['Email']))
      .get('/crm/v8/Contacts')
      .query(true)
      .times(10)
      .reply(function (uri) {
        const q = new URL(uri, API).searchParams;
        seen.push(q.has('page_token') ? 'token' : `page ${q.get('page')}`);
        return getRecordsReply(contacts, uri, this.req.headers) as [number, string];
      })
      .get('/crm/v8/Contacts/deleted')
      .query(true)
      .reply(204);
    const c = await connect();
    const pages = await collect(c.read('Contacts', { since: null, phase: 'records', page: 11, pageToken: null }));
    expect(pages.flatMap((p) => p.records)).toHaveLength(100);
    expect(seen).toEqual(['page 10', 'token']);
  });

  it('an unchanged module answers 304 (If-Modified-Since), the deleted feed 204, and the checkpoint does not move', async () => {
    token();
    nock(API)
      .get('/crm/v8/settings/fields')
      .query(true)
      .reply(200, fieldsMeta(['Note_Content']))
      .get('/crm/v8/Notes')
      .query(true)
      .reply(304)
      .get('/crm/v8/Notes/deleted')
      .query(true)
      .reply(204);
    const c = await connect();
    const pages = await collect(c.read('Notes', { since: '2026-03-01T00:00:00+00:00' }));
    expect(pages.flatMap((p) => p.records)).toEqual([]);
    expect(pages.at(-1)?.checkpoint).toMatchObject({ since: '2026-03-01T00:00:00+00:00', page: 1 });
  });

  it('maps Notes, Tasks and Calls with their links', async () => {
    token();
    nock(API)
      .get('/crm/v8/settings/fields')
      .query(true)
      .times(2)
      .reply(200, fieldsMeta([]))
      .get('/crm/v8/Notes')
      .query(true)
      .reply(200, {
        data: [
          {
            id: 'n1',
            Note_Content: 'called',
            Modified_Time: '2026-01-01T00:00:00+00:00',
            Parent_Id: { id: 'c1', module: { api_name: 'Contacts', id: 'm' } },
          },
        ],
        info: { more_records: false, per_page: 200, count: 1, page: 1 },
      })
      .get('/crm/v8/Notes/deleted')
      .query(true)
      .reply(204)
      .get('/crm/v8/Tasks')
      .query(true)
      .reply(200, {
        data: [
          {
            id: 't1',
            Subject: 'follow up',
            Modified_Time: '2026-01-01T00:00:00+00:00',
            Who_Id: { id: 'c1', name: 'x' },
            What_Id: { id: 'l1', name: 'y' },
            $se_module: 'Leads',
          },
        ],
        info: { more_records: false },
      })
      .get('/crm/v8/Tasks/deleted')
      .query(true)
      .reply(204);
    const c = await connect();
    const notes = (await collect(c.read('Notes', null))).flatMap((p) => p.records);
    expect(notes[0]).toMatchObject({ kind: 'activity', links: [{ system: 'zoho-eu', object: 'Contacts', id: 'c1' }] });
    const tasks = (await collect(c.read('Tasks', null))).flatMap((p) => p.records);
    expect(tasks[0]?.links).toEqual([
      { system: 'zoho-eu', object: 'Contacts', id: 'c1' },
      { system: 'zoho-eu', object: 'Leads', id: 'l1' },
    ]);
  });

  it('rejects an unreadable checkpoint with a coded error', async () => {
    const c = await connect();
    await expect(collect(c.read('Contacts', { page: 'x' }))).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_OPTIONS_INVALID',
    });
  });
});

describe('find', () => {
  type CoqlBody = { select_query: string };
  /** A COQL answer as documented: `data[]` with the selected fields, `info.count` and `info.more_records`. */
  const coqlReply = (data: Record<string, unknown>[], more = false) => ({
    data,
    info: { count: data.length, more_records: more },
  });
  const where = (query: string) => parseCoql(query).where;

  it('looks a batch of emails up with one COQL call per module per 50 emails, and no search', async () => {
    token();
    const emails = Array.from({ length: 120 }, (_, i) => `person${i}@example.org`);
    const queries: string[] = [];
    nock(API)
      .post('/crm/v8/coql', (b: CoqlBody) => {
        queries.push(b.select_query);
        return true;
      })
      .times(6)
      .reply((_uri, body) => {
        const q = (body as CoqlBody).select_query;
        const { module, where: w } = parseCoql(q);
        // Answer the first email of the chunk, as the module's record.
        const first = w?.op === 'or' && w.left.op === 'in' ? String(w.left.values[0]) : '';
        return [200, coqlReply([{ id: `${module}-${first}`, Email: first }])];
      });
    const c = await connect();
    const found = await c.find(emails.map((value) => ({ kind: 'email' as const, value })));
    expect(queries).toHaveLength(6);
    expect(queries.filter((q) => q.includes(' from Contacts '))).toHaveLength(3);
    expect(queries.filter((q) => q.includes(' from Leads '))).toHaveLength(3);
    for (const q of queries) {
      expect(q).toMatch(
        /^select .* from (Contacts|Leads) where \(Email in \(.*\) or Secondary_Email in \(.*\)\) limit 200$/,
      );
      const w = where(q);
      expect(w?.op === 'or' && w.left.op === 'in' && w.right.op === 'in').toBe(true);
      if (w?.op === 'or' && w.left.op === 'in') expect(w.left.values.length).toBeLessThanOrEqual(50);
    }
    const asked = queries
      .filter((q) => q.includes(' from Contacts '))
      .flatMap((q) => {
        const w = where(q);
        return w?.op === 'or' && w.left.op === 'in' ? w.left.values : [];
      });
    expect(asked).toEqual(emails);
    expect(found.map((r) => `${r.ref.object}:${r.ref.id}`).sort()).toEqual(
      ['Contacts', 'Leads'].flatMap((m) => [0, 50, 100].map((i) => `${m}:${m}-person${i}@example.org`)).sort(),
    );
  });

  it('escapes quotes and backslashes: an email cannot end the literal or add criteria', async () => {
    token();
    const tricky = ["o'brien@example.org", "x') or (Email is not null", 'back\\slash@example.org'];
    const queries: string[] = [];
    nock(API)
      .post('/crm/v8/coql', (b: CoqlBody) => {
        queries.push(b.select_query);
        return true;
      })
      .twice()
      .reply(204);
    const c = await connect();
    expect(await c.find(tricky.map((value) => ({ kind: 'email' as const, value })))).toEqual([]);
    expect(queries[0]).toContain("'o\\'brien@example.org'");
    expect(queries[0]).toContain("'back\\\\slash@example.org'");
    // Parsed back, the WHERE is still two `in` lists holding exactly the three values.
    const w = where(queries[0] as string);
    expect(w).toEqual({
      op: 'or',
      left: { op: 'in', field: 'Email', values: tricky },
      right: { op: 'in', field: 'Secondary_Email', values: tricky },
    });
  });

  it('pages a full COQL answer: LIMIT 200 first (1 credit), then LIMIT 2000 with OFFSET', async () => {
    token();
    const rows = (from: number, n: number) =>
      Array.from({ length: n }, (_, i) => ({ id: `s${from + i}`, Email: EMAIL }));
    const queries: string[] = [];
    nock(API)
      .post('/crm/v8/coql', (b: CoqlBody) => {
        queries.push(b.select_query);
        return b.select_query.includes(' from Contacts ');
      })
      .reply(200, coqlReply(rows(0, 200), true))
      .post('/crm/v8/coql', (b: CoqlBody) => b.select_query.endsWith('limit 2000 offset 200'))
      .reply(200, coqlReply(rows(200, 2000), true))
      .post('/crm/v8/coql', (b: CoqlBody) => b.select_query.endsWith('limit 2000 offset 2200'))
      .reply(200, coqlReply(rows(2200, 3)))
      .post('/crm/v8/coql', (b: CoqlBody) => {
        queries.push(b.select_query);
        return b.select_query.includes(' from Leads ');
      })
      .reply(204);
    const c = await connect();
    const found = await c.find([{ kind: 'email', value: EMAIL }]);
    expect(found).toHaveLength(2203);
    expect(new Set(found.map((r) => r.ref.id)).size).toBe(2203);
    expect(queries.at(-1)).toMatch(/from Leads .* limit 200$/);
  });

  it('looks phones up in their stored forms by COQL, and searches only a phone COQL did not find', async () => {
    token();
    const found1 = '+4915112345678';
    const missing = '+14155550123';
    const phoneQueries: string[] = [];
    const searched: string[] = [];
    nock(API)
      .post('/crm/v8/coql', (b: CoqlBody) => {
        phoneQueries.push(b.select_query);
        return b.select_query.includes(' from Contacts ');
      })
      // Stored as typed: the national form of the German number.
      .reply(200, coqlReply([{ id: 'c2', Phone: '01511 2345678' }]))
      .post('/crm/v8/coql', (b: CoqlBody) => {
        phoneQueries.push(b.select_query);
        return b.select_query.includes(' from Leads ');
      })
      .reply(204)
      .get('/crm/v8/Contacts/search')
      .query((q) => {
        searched.push(String(q.phone));
        return typeof q.fields === 'string';
      })
      .reply(204)
      .get('/crm/v8/Leads/search')
      .query((q) => {
        searched.push(String(q.phone));
        return typeof q.fields === 'string';
      })
      .reply(200, { data: [{ id: 'l2', Mobile: '(415) 555 0123' }], info: { more_records: false, count: 1 } });
    const c = await connect();
    const found = await c.find([
      { kind: 'phone', value: found1 },
      { kind: 'phone', value: missing },
    ]);
    expect(found.map((r) => `${r.ref.object}:${r.ref.id}`).sort()).toEqual(['Contacts:c2', 'Leads:l2']);
    expect(phoneQueries).toHaveLength(2);
    const w = where(phoneQueries[0] as string);
    expect(w?.op === 'or' && w.left.op === 'in' && w.left.field === 'Phone').toBe(true);
    const forms = w?.op === 'or' && w.left.op === 'in' ? w.left.values : [];
    expect(forms).toEqual(
      expect.arrayContaining([found1, '01511 2345678', '+49 1511 2345678', missing, '(415) 555-0123']),
    );
    // Only the phone no COQL form matched is searched, in both modules.
    expect(searched).toEqual([missing, missing]);
  });

  it('verify and opt-out read back by COQL only: a phone COQL does not find is not searched', async () => {
    token();
    nock(API)
      .post('/crm/v8/coql', (b: CoqlBody) => b.select_query.includes('Phone in ('))
      .twice()
      .reply(204);
    const c = await connect();
    const res = await c.verifyErased([], [{ kind: 'phone', value: '+4915112345678' }]);
    expect(res).toEqual([]);
  });

  it('reaches past the 2,000-hit phone search cap with COQL', async () => {
    token();
    const page = (n: number) => Array.from({ length: 200 }, (_, i) => ({ id: `s${n}-${i}`, Phone: '+1 415' }));
    let coqlQuery = '';
    nock(API)
      .post('/crm/v8/coql')
      .twice()
      .reply(204)
      .get('/crm/v8/Contacts/search')
      .query(true)
      .times(10)
      .reply((uri) => {
        const n = Number(new URL(uri, API).searchParams.get('page'));
        return [200, { data: page(n), info: { more_records: true, page: n, per_page: 200, count: 200 } }];
      })
      .post('/crm/v8/coql', (b: CoqlBody) => {
        coqlQuery = b.select_query;
        return true;
      })
      .reply(200, coqlReply([{ id: 'all-1' }, { id: 'all-2' }]))
      .get('/crm/v8/Leads/search')
      .query(true)
      .reply(204);
    const c = await connect();
    const found = await c.find([{ kind: 'phone', value: '+14155550123' }]);
    expect(found.map((r) => r.ref.id)).toEqual(['all-1', 'all-2']);
    expect(coqlQuery).toMatch(/from Contacts where \(Phone in \(.*\) or Mobile in \(.*\)\) limit 200$/);
  });

  it('looks vendor ids up in one Get Records call per module', async () => {
    token();
    nock(API)
      .get('/crm/v8/Contacts')
      .query((q) => q.ids === '1,2')
      .reply(200, { data: [{ id: '1', Email: EMAIL }] });
    const c = await connect();
    const found = await c.find([
      { kind: 'vendor_id', value: 'zoho-eu:Contacts:1' },
      { kind: 'vendor_id', value: 'zoho-eu:Contacts:2' },
      { kind: 'vendor_id', value: 'other:Contacts:3' },
    ]);
    expect(found.map((r) => r.ref.id)).toEqual(['1']);
  });
});

describe('erase, purge, verify', () => {
  const refs = (n: number, object = 'Contacts') =>
    Array.from({ length: n }, (_, i) => ({ system: 'zoho-eu', object, id: `r${i}` }));

  it('deletes 100 ids a call, reads 207 per-record results and purges the recycle bin', async () => {
    token();
    const deleteCalls: string[][] = [];
    const purgeCalls: string[][] = [];
    nock(API)
      .delete('/crm/v8/Contacts')
      .query(true)
      .times(2)
      .reply((uri) => {
        const ids = (new URL(uri, API).searchParams.get('ids') ?? '').split(',');
        deleteCalls.push(ids);
        const data = ids.map((id) =>
          id === 'r5'
            ? { code: 'INVALID_DATA', details: { id }, message: 'record not deleted', status: 'error' }
            : id === 'r6'
              ? { code: 'RECORD_LOCKED', details: { id }, message: 'cannot delete a locked record', status: 'error' }
              : { code: 'SUCCESS', details: { id }, message: 'record deleted', status: 'success' },
        );
        return [ids.includes('r5') ? 207 : 200, { data }];
      })
      .delete('/crm/v8/settings/recycle_bin')
      .query(true)
      .times(2)
      .reply((uri) => {
        const ids = (new URL(uri, API).searchParams.get('ids') ?? '').split(',');
        purgeCalls.push(ids);
        return [
          200,
          {
            data: ids.map((id) => ({
              code: 'SUCCESS',
              details: { id },
              message: 'record deleted permanently',
              status: 'success',
            })),
          },
        ];
      });
    const c = await connect();
    const results = await c.erase(refs(150), { permanent: true });
    expect(deleteCalls.map((x) => x.length)).toEqual([100, 50]);
    expect(purgeCalls.flat()).toHaveLength(148);
    expect(results.find((r) => r.ref.id === 'r5')).toMatchObject({ outcome: 'already_gone' });
    expect(results.find((r) => r.ref.id === 'r6')).toMatchObject({
      outcome: 'failed',
      reason: 'RECORD_LOCKED: cannot delete a locked record',
    });
    expect(results.filter((r) => r.outcome === 'done')).toHaveLength(148);
  });

  it('an all-failed delete (400 with data[]) is per-record, not an exception', async () => {
    token();
    nock(API)
      .delete('/crm/v8/Leads')
      .query(true)
      .reply(400, {
        data: [{ code: 'INVALID_DATA', details: { id: 'r0' }, message: 'record not deleted', status: 'error' }],
      });
    const c = await connect();
    expect(await c.erase(refs(1, 'Leads'), { permanent: false })).toEqual([
      { ref: { system: 'zoho-eu', object: 'Leads', id: 'r0' }, outcome: 'already_gone', reason: 'INVALID_DATA' },
    ]);
  });

  it('redacts activities instead of deleting them when configured', async () => {
    token();
    let body: unknown;
    nock(API)
      .put('/crm/v8/Notes', (b) => {
        body = b;
        return true;
      })
      .reply(200, {
        data: [
          { code: 'SUCCESS', details: { id: 'r0', Modified_Time: 'x' }, message: 'record updated', status: 'success' },
        ],
      });
    const c = await connect({ eraseActivities: 'redact' });
    const res = await c.erase(refs(1, 'Notes'), { permanent: false });
    expect(res[0]?.outcome).toBe('done');
    expect(body).toEqual({ data: [{ id: 'r0', Note_Title: '[redacted]', Note_Content: '[redacted]' }] });
  });

  it('verify reads back: record, recycle bin and identities', async () => {
    token();
    nock(API)
      .get('/crm/v8/Contacts')
      .query((q) => q.ids === 'r0,r1')
      .reply(200, { data: [{ id: 'r1', Email: EMAIL }] })
      .get('/crm/v8/settings/recycle_bin')
      .query({ ids: 'r0,r1' })
      .reply(200, {
        recycle_bin: [{ id: 'r0', display_name: 'x', module: { api_name: 'Contacts' } }],
        info: { more_records: false },
      })
      .post('/crm/v8/coql')
      .twice()
      .reply(204);
    const c = await connect({ permanentErase: true });
    const res = await c.verifyErased(refs(2), [{ kind: 'email', value: EMAIL }]);
    expect(res.map((r) => r.outcome)).toEqual(['failed', 'failed']);
    expect(res[0]?.reason).toContain('recycle bin');
    expect(res[1]?.reason).toBe('record still exists');
  });

  it('verify fails the person refs when another record with the identity remains', async () => {
    token();
    nock(API)
      .get('/crm/v8/Contacts')
      .query(true)
      .reply(204)
      .post('/crm/v8/coql', (b: { select_query: string }) => b.select_query.includes('from Contacts'))
      .reply(204)
      .post('/crm/v8/coql', (b: { select_query: string }) => b.select_query.includes('from Leads'))
      .reply(200, { data: [{ id: 'l7', Email: EMAIL }], info: { more_records: false } });
    const c = await connect();
    const res = await c.verifyErased(refs(1), [{ kind: 'email', value: EMAIL }]);
    expect(res).toEqual([
      { ref: refs(1)[0], outcome: 'failed', reason: '1 other record(s) with these identities remain: Leads:l7' },
      {
        ref: { system: 'zoho-eu', object: 'Leads', id: 'l7' },
        outcome: 'failed',
        reason: 'person still found by identity',
      },
    ]);
    expect(JSON.stringify(res)).not.toContain(EMAIL);
  });

  it('verify with no refs reports a record still found by identity with its own ref, in the same COQL calls', async () => {
    token();
    nock(API)
      .post('/crm/v8/coql', (b: { select_query: string }) => b.select_query.includes('from Contacts'))
      .reply(200, { data: [{ id: 'c9', Email: EMAIL, Last_Name: 'Lovelace' }], info: { more_records: false } })
      .post('/crm/v8/coql', (b: { select_query: string }) => b.select_query.includes('from Leads'))
      .reply(204);
    const c = await connect();
    const res = await c.verifyErased([], [{ kind: 'email', value: EMAIL }]);
    expect(res).toEqual([
      {
        ref: { system: 'zoho-eu', object: 'Contacts', id: 'c9' },
        outcome: 'failed',
        reason: 'person still found by identity',
      },
    ]);
    expect(JSON.stringify(res)).not.toContain(EMAIL);
    expect(nock.pendingMocks()).toEqual([]);
  });
});

describe('update and opt-out', () => {
  it('rectifies with expected values: a mismatch is a conflict, the rest is written', async () => {
    token();
    let put: unknown;
    nock(API)
      .get('/crm/v8/Contacts')
      .query((q) => q.fields === 'Last_Name')
      .reply(200, {
        data: [
          { id: 'a', Last_Name: 'Old' },
          { id: 'b', Last_Name: 'Changed' },
        ],
      })
      .put('/crm/v8/Contacts', (b) => {
        put = b;
        return true;
      })
      .reply(200, { data: [{ code: 'SUCCESS', details: { id: 'a' }, message: 'record updated', status: 'success' }] });
    const c = await connect();
    const res = await c.update([
      {
        ref: { system: 'zoho-eu', object: 'Contacts', id: 'a' },
        set: { Last_Name: 'New' },
        expected: { Last_Name: 'Old' },
      },
      {
        ref: { system: 'zoho-eu', object: 'Contacts', id: 'b' },
        set: { Last_Name: 'New' },
        expected: { Last_Name: 'Old' },
      },
    ]);
    expect(res.map((r) => r.outcome)).toEqual(['done', 'failed']);
    expect(res[1]?.reason).toBe('conflict');
    expect(put).toEqual({ data: [{ id: 'a', Last_Name: 'New' }] });
  });

  it('opts out every record of the person, duplicates included', async () => {
    token();
    const written: string[] = [];
    nock(API)
      .get('/crm/v8/Contacts')
      .query((q) => q.ids === 'c1')
      .reply(200, { data: [{ id: 'c1', Email: EMAIL }] })
      .post('/crm/v8/coql', (b: { select_query: string }) => b.select_query.includes('from Contacts'))
      .reply(200, {
        data: [
          { id: 'c1', Email: EMAIL },
          { id: 'c2', Email: EMAIL },
        ],
        info: { more_records: false },
      })
      .post('/crm/v8/coql', (b: { select_query: string }) => b.select_query.includes('from Leads'))
      .reply(200, { data: [{ id: 'l1', Email: EMAIL }], info: { more_records: false } })
      .put(/\/crm\/v8\/(Contacts|Leads)/)
      .twice()
      .reply((_uri, body) => {
        const data = (body as { data: { id: string; Email_Opt_Out: boolean }[] }).data;
        for (const d of data) if (d.Email_Opt_Out) written.push(d.id);
        return [
          200,
          {
            data: data.map((d) => ({
              code: 'SUCCESS',
              details: { id: d.id },
              message: 'record updated',
              status: 'success',
            })),
          },
        ];
      });
    const c = await connect();
    const res = await c.setMarketingOptOut([{ system: 'zoho-eu', object: 'Contacts', id: 'c1' }]);
    expect(written.sort()).toEqual(['c1', 'c2', 'l1']);
    expect(res).toEqual([{ ref: { system: 'zoho-eu', object: 'Contacts', id: 'c1' }, outcome: 'done' }]);
  });
});

describe('limits and errors', () => {
  const ref = [{ system: 'zoho-eu', object: 'Contacts', id: '1' }];
  it('waits on 429 and retries', async () => {
    token();
    nock(API)
      .get('/crm/v8/Contacts')
      .query(true)
      .reply(
        429,
        { code: 'TOO_MANY_REQUESTS', details: {}, message: 'concurrency limit exceeded', status: 'error' },
        { 'x-api-credits-remaining': '4000' },
      )
      .get('/crm/v8/Contacts')
      .query(true)
      .reply(200, { data: [{ id: '1' }] });
    const c = await connect();
    expect((await c.get(ref))[0]?.ref.id).toBe('1');
  });

  it('pauses until reset when the credits are exhausted', async () => {
    token();
    nock(API).get('/crm/v8/Contacts').query(true).reply(
      429,
      {
        code: 'TOO_MANY_REQUESTS',
        details: {},
        message: 'Number of API requests for the 24 hour period is exceeded',
        status: 'error',
      },
      { 'x-api-credits-remaining': '0' },
    );
    const c = await connect();
    const err = await c.get(ref).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'quota_exhausted', code: 'CUSTODIAN_ERR_CONNECTOR_QUOTA_EXHAUSTED' });
    expect(c.quota().pausedUntil).toBeInstanceOf(Date);
    // No further call is made while paused.
    await expect(c.get(ref)).rejects.toMatchObject({ kind: 'quota_exhausted' });
  });

  it('stops at the configured share of the daily credits', async () => {
    token();
    nock(API)
      .get('/crm/v8/Contacts')
      .query(true)
      .reply(200, { data: [{ id: '1' }] }, { 'x-api-credits-remaining': '50' });
    const c = await connect({ dailyCredits: 1000, quotaStopShare: 0.9 });
    await c.get(ref);
    await expect(c.get(ref)).rejects.toMatchObject({ kind: 'quota_exhausted' });
  });

  it('maps scope errors to permission, 5xx to transient retries, bad shapes to bad_response', async () => {
    token();
    nock(API).get('/crm/v8/Contacts').query(true).reply(401, {
      code: 'OAUTH_SCOPE_MISMATCH',
      details: {},
      message: 'invalid oauth scope to access this URL',
      status: 'error',
    });
    const c = await connect();
    await expect(c.get(ref)).rejects.toMatchObject({ kind: 'permission' });
    nock(API)
      .get('/crm/v8/Contacts')
      .query(true)
      .times(2)
      .reply(500, { code: 'INTERNAL_ERROR', details: {}, message: 'x', status: 'error' });
    nock(API)
      .get('/crm/v8/Contacts')
      .query(true)
      .reply(200, { data: [{ id: '1' }] });
    expect((await c.get(ref))[0]?.ref.id).toBe('1');
    nock(API)
      .get('/crm/v8/Contacts')
      .query(true)
      .reply(200, { data: [{ nope: 1 }] });
    await expect(c.get(ref)).rejects.toMatchObject({ code: 'CUSTODIAN_ERR_CONNECTOR_BAD_RESPONSE' });
  });

  it('classifies Zoho error codes', () => {
    const e = (status: number, code: string, headers: Record<string, string> = {}) =>
      new HttpError(status, 'GET /crm/v8/Contacts', new Headers(headers), {
        code,
        details: {},
        message: 'm',
        status: 'error',
      });
    expect(classifyZohoError(e(401, 'AUTHENTICATION_FAILURE'))?.kind).toBe('auth_expired');
    expect(classifyZohoError(e(403, 'NO_PERMISSION'))?.kind).toBe('permission');
    expect(classifyZohoError(e(429, 'LIMIT_EXCEEDED'))?.kind).toBe('quota_exhausted');
    expect(classifyZohoError(e(400, 'DISCRETE_PAGINATION_LIMIT_EXCEEDED'))?.kind).toBe('bad_request');
    expect(classifyZohoError(e(503, 'INTERNAL_ERROR'))?.kind).toBe('transient');
    expect(classifyZohoError(new Error('x'))).toBeUndefined();
  });

  it('keeps personal data and secrets out of logs and error messages', async () => {
    const { logger, lines } = captureLogger();
    token();
    nock(API)
      .post('/crm/v8/coql')
      .reply(500, {
        code: 'INTERNAL_ERROR',
        details: { email: EMAIL },
        message: `failed for ${EMAIL}`,
        status: 'error',
      })
      .persist();
    const c = await connect({}, 'zoho-eu', logger);
    const err = await c.find([{ kind: 'email', value: EMAIL }]).catch((e: unknown) => e);
    const text = `${lines.join('\n')}\n${(err as Error).message}\n${JSON.stringify(err)}`;
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of [EMAIL, SECRET, REFRESH, '1000.access-abc']) expect(text).not.toContain(secret);
  });
});
