/** The Salesforce look-alike driven by jsforce 3.10.16 (the connector's client): Salesforce's shapes, limits and codes. */
import { createSign, generateKeyPairSync } from 'node:crypto';
import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVendorServer, type VendorServer } from '../src/kit/server.js';
import { createSalesforceApp } from '../src/salesforce/index.js';
import { createSeedWorld } from '../src/seed/world.js';

const CLIENT = { clientId: 'sf-client', clientSecret: 'sf-secret', refreshToken: 'sf-refresh' };
const V = '/services/data/v62.0';
const world = createSeedWorld({ people: 8000, seed: 3, now: new Date('2026-11-01T00:00:00Z') });
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });

let clock = new Date('2026-11-02T00:00:00Z');
let app: ReturnType<typeof createSalesforceApp>;
let server: VendorServer;
let conn: jsforce.Connection;

type Row = { Id: string; IsDeleted?: boolean; SystemModstamp?: string } & Record<string, unknown>;
/** jsforce types `emptyRecycleBin` as one result; the call answers one per id. */
type EmptyBinResult = { id: string; success: boolean; errors: { statusCode: string }[] };
const emptyBin = async (c: jsforce.Connection, ids: string[]) =>
  (await c.soap.emptyRecycleBin(ids)) as unknown as EmptyBinResult[];
interface QueryPage {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: Row[];
}

async function token(form: Record<string, string>) {
  const res = await fetch(`${server.url}/services/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

async function connect(): Promise<jsforce.Connection> {
  const { body } = await token({ grant_type: 'refresh_token', ...refreshForm() });
  return new jsforce.Connection({ instanceUrl: body.instance_url, accessToken: body.access_token, version: '62.0' });
}
const refreshForm = () => ({
  client_id: CLIENT.clientId,
  client_secret: CLIENT.clientSecret,
  refresh_token: CLIENT.refreshToken,
});

function soql(resource: 'query' | 'queryAll', q: string, batchSize?: number): Promise<QueryPage> {
  return conn.request<QueryPage>({
    method: 'GET',
    url: `${V}/${resource}?q=${encodeURIComponent(q)}`,
    headers: batchSize ? { 'Sforce-Query-Options': `batchSize=${batchSize}` } : {},
  });
}

async function readToEnd(resource: 'query' | 'queryAll', q: string, batchSize?: number) {
  const pages: QueryPage[] = [await soql(resource, q, batchSize)];
  let last = pages[0] as QueryPage;
  while (!last.done && last.nextRecordsUrl) {
    last = await conn.request<QueryPage>(last.nextRecordsUrl);
    pages.push(last);
  }
  return pages;
}

async function raw(
  method: string,
  path: string,
  init: { body?: string; token?: string; headers?: Record<string, string> } = {},
) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${init.token ?? conn.accessToken}`,
      'content-type': 'application/json',
      ...init.headers,
    },
    body: init.body ?? null,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

const liveContacts = () => app.store.index('Contact').filter((e) => !e.deleted);

/** A fresh object per request: jsforce writes the request's content-length into the headers it is given. */
const jsonHeaders = () => ({ 'content-type': 'application/json' });
type SaveResult = { id?: string; success: boolean; errors: { statusCode: string; fields: string[] }[] };
/** sObject Collections update through jsforce: PATCH /composite/sobjects. */
const updateCollection = (allOrNone: boolean, records: Record<string, unknown>[]) =>
  conn.request<SaveResult[]>({
    method: 'PATCH',
    url: `${V}/composite/sobjects`,
    body: JSON.stringify({ allOrNone, records }),
    headers: jsonHeaders(),
  });

beforeAll(async () => {
  app = createSalesforceApp(world, {
    ...CLIENT,
    jwtPublicKey: keys.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    now: () => clock,
  });
  server = await createVendorServer(app);
  conn = await connect();
});
afterAll(async () => {
  await server?.close();
});

describe('Salesforce look-alike (through jsforce)', () => {
  it('issues tokens for refresh-token, client-credentials and JWT bearer grants, and refuses bad grants with 400', async () => {
    const refresh = await token({ grant_type: 'refresh_token', ...refreshForm() });
    expect(refresh.status).toBe(200);
    expect(refresh.body).toMatchObject({ instance_url: server.url, token_type: 'Bearer' });
    expect(refresh.body.issued_at).toMatch(/^\d{13}$/);
    expect(refresh.body.signature).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const credentials = await token({
      grant_type: 'client_credentials',
      client_id: CLIENT.clientId,
      client_secret: CLIENT.clientSecret,
    });
    expect(credentials.status).toBe(200);
    const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const head = `${b64({ alg: 'RS256' })}.${b64({ iss: CLIENT.clientId, sub: 'user@example.test', aud: 'https://login.salesforce.com', exp: Math.floor(Date.now() / 1000) + 180 })}`;
    const assertion = `${head}.${createSign('RSA-SHA256').update(head).sign(keys.privateKey).toString('base64url')}`;
    const jwt = await token({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    expect(jwt.status).toBe(200);
    expect(app.tokenValid(jwt.body.access_token as string)).toBe(true);
    const forged = await token({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: `${head}.AAAA`,
    });
    expect(forged).toEqual({ status: 400, body: { error: 'invalid_grant', error_description: 'invalid signature' } });
    const badRefresh = await token({ grant_type: 'refresh_token', ...refreshForm(), refresh_token: 'stolen' });
    expect(badRefresh).toEqual({
      status: 400,
      body: { error: 'invalid_grant', error_description: 'expired access/refresh token' },
    });
    expect((await token({ grant_type: 'password' })).body.error).toBe('unsupported_grant_type');
  });

  it('describes the six objects, custom fields included', async () => {
    for (const object of ['Contact', 'Lead', 'Task', 'Note', 'Case', 'Individual']) {
      const d = await conn.sobject(object).describe();
      expect(d.fields.map((f) => f.name)).toEqual(expect.arrayContaining(['Id', 'IsDeleted', 'SystemModstamp']));
    }
    const contact = await conn.sobject('Contact').describe();
    expect(contact.fields.find((f) => f.name === 'Loyalty_Id__c')).toMatchObject({ custom: true, type: 'string' });
  });

  it('pages a query to the end with nextRecordsUrl, in (SystemModstamp, Id) order, honouring batchSize', async () => {
    const q = 'SELECT Id, Email, SystemModstamp FROM Contact ORDER BY SystemModstamp ASC, Id ASC';
    const pages = await readToEnd('query', q, 500);
    const expected = liveContacts().length;
    expect(expected).toBeGreaterThan(2000);
    expect(pages).toHaveLength(Math.ceil(expected / 500));
    expect(pages.every((p) => p.totalSize === expected)).toBe(true);
    expect(pages.slice(0, -1).every((p) => p.records.length === 500 && !p.done)).toBe(true);
    const rows = pages.flatMap((p) => p.records);
    expect(new Set(rows.map((r) => r.Id)).size).toBe(expected);
    for (let i = 1; i < rows.length; i++) {
      const [a, b] = [rows[i - 1] as Row, rows[i] as Row];
      const order =
        Date.parse(String(a.SystemModstamp)) - Date.parse(String(b.SystemModstamp)) || (a.Id < b.Id ? -1 : 1);
      expect(order).toBeLessThan(0);
    }
    // Default and clamped batch sizes: 2,000 at most, 200 at least.
    expect((await soql('query', q)).records).toHaveLength(2000);
    expect((await soql('query', q, 5000)).records).toHaveLength(2000);
    expect((await soql('query', q, 10)).records).toHaveLength(200);
    expect((await conn.request<QueryPage>(`${V}/query/01gNOPE-2000`).catch((e) => e)).errorCode).toBe(
      'INVALID_QUERY_LOCATOR',
    );
  });

  it('filters with AND/OR, !=, <, IN, LIKE, datetime literals, LIMIT and escaped quotes', async () => {
    const [first] = liveContacts();
    const id = first?.id as string;
    await conn.request({
      method: 'PATCH',
      url: `${V}/sobjects/Contact/${id}`,
      body: JSON.stringify({ LastName: "O'Brien \\ Smith", Loyalty_Id__c: 'LOY-SPECIAL' }),
      headers: { 'content-type': 'application/json' },
    });
    const quoted = await soql('query', `SELECT Id, LastName FROM Contact WHERE LastName = 'O\\'Brien \\\\ Smith'`);
    expect(quoted.records.map((r) => r.Id)).toEqual([id]);
    expect(quoted.records[0]?.LastName).toBe("O'Brien \\ Smith");
    const like = await soql(
      'query',
      `SELECT Id FROM Contact WHERE LastName LIKE 'o\\'brien%' AND Loyalty_Id__c != null`,
    );
    expect(like.records.map((r) => r.Id)).toEqual([id]);
    const cutoff = '2020-01-01T00:00:00Z';
    const before = await soql(
      'query',
      `SELECT Id, SystemModstamp FROM Contact WHERE SystemModstamp < ${cutoff} LIMIT 50`,
    );
    expect(before.records.length).toBeGreaterThan(0);
    expect(before.records.length).toBeLessThanOrEqual(50);
    expect(before.records.every((r) => Date.parse(String(r.SystemModstamp)) < Date.parse(cutoff))).toBe(true);
    const ids = liveContacts()
      .slice(1, 4)
      .map((e) => e.id);
    const either = await soql(
      'query',
      `SELECT Id FROM Contact WHERE (Id IN ('${ids[0]}', '${ids[1]}') OR Id = '${ids[2]}') AND Id != '${ids[1]}'`,
    );
    expect(either.records.map((r) => r.Id).sort()).toEqual([ids[0], ids[2]].sort());
  });

  it('answers malformed or unknown SOQL with 400 MALFORMED_QUERY / INVALID_FIELD / INVALID_TYPE arrays', async () => {
    for (const [q, code] of [
      ['SELECT FROM Contact', 'MALFORMED_QUERY'],
      ["SELECT Id FROM Contact WHERE Email = 'unterminated", 'MALFORMED_QUERY'],
      ['SELECT Id FROM Contact WHERE', 'MALFORMED_QUERY'],
      ['SELECT Id, Shoe_Size__c FROM Contact', 'INVALID_FIELD'],
      ['SELECT Id FROM Spaceship', 'INVALID_TYPE'],
    ] as const) {
      const res = await raw('GET', `${V}/query?q=${encodeURIComponent(q)}`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual([{ message: expect.any(String), errorCode: code }]);
    }
  });

  it('PATCH answers 204 and reads back; bad fields and malformed JSON answer 400 and change nothing', async () => {
    const id = liveContacts()[10]?.id as string;
    const ok = await raw('PATCH', `${V}/sobjects/Contact/${id}`, {
      body: JSON.stringify({ HasOptedOutOfEmail: true }),
    });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/100000$/);
    const record = (await conn.sobject('Contact').retrieve(id)) as unknown as Row;
    expect(record.HasOptedOutOfEmail).toBe(true);
    const unknown = await raw('PATCH', `${V}/sobjects/Contact/${id}`, { body: JSON.stringify({ Shoe__c: '44' }) });
    expect(unknown).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_FIELD', fields: ['Shoe__c'] }] });
    expect(unknown.headers.get('sforce-limit-info')).toMatch(/^api-usage=/);
    const readOnly = await raw('PATCH', `${V}/sobjects/Contact/${id}`, {
      body: JSON.stringify({ SystemModstamp: 'x' }),
    });
    expect(readOnly.body[0].errorCode).toBe('INVALID_FIELD_FOR_INSERT_UPDATE');
    const malformed = await raw('PATCH', `${V}/sobjects/Contact/${id}`, { body: '{"LastName": "Broken' });
    expect(malformed).toMatchObject({ status: 400, body: [{ errorCode: 'JSON_PARSER_ERROR' }] });
    expect(((await conn.sobject('Contact').retrieve(id)) as unknown as Row).LastName).toBe(app.store.get(id)?.LastName);
  });

  it('lists ids changed in a window through the updated feed (jsforce sobject.updated)', async () => {
    const id = liveContacts()[40]?.id as string;
    const start = new Date(clock.getTime() - 60_000);
    const end = new Date(clock.getTime() + 60_000);
    expect((await conn.sobject('Contact').updated(start, end)).ids).not.toContain(id);
    await raw('PATCH', `${V}/sobjects/Contact/${id}`, { body: JSON.stringify({ Title: 'Head of Things' }) });
    const feed = await conn.sobject('Contact').updated(start, end);
    expect(feed.ids).toContain(id);
    expect(feed.latestDateCovered).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000\+0000$/);
    const tooOld = await raw(
      'GET',
      `${V}/sobjects/Contact/updated?start=2020-01-01T00:00:00Z&end=2020-01-02T00:00:00Z`,
    );
    expect(tooOld).toMatchObject({ status: 400, body: [{ errorCode: 'INVALID_REPLICATION_DATE' }] });
  });

  it('collections delete answers per id in order, puts records in the Recycle Bin, and rolls back allOrNone', async () => {
    const [a, b, c, d] = liveContacts()
      .slice(20, 24)
      .map((e) => e.id) as [string, string, string, string];
    const first = await conn.request<{ id?: string; success: boolean; errors: { statusCode: string }[] }[]>({
      method: 'DELETE',
      url: `${V}/composite/sobjects?ids=${a},${b}&allOrNone=false`,
    });
    expect(first.map((r) => [r.id, r.success])).toEqual([
      [a, true],
      [b, true],
    ]);
    const partial = await conn.request<{ id?: string; success: boolean; errors: { statusCode: string }[] }[]>({
      method: 'DELETE',
      url: `${V}/composite/sobjects?ids=${c},${a},003000000000000ZZZ,not-an-id&allOrNone=false`,
    });
    expect(partial.map((r) => [r.id, r.success, r.errors[0]?.statusCode])).toEqual([
      [c, true, undefined],
      [a, false, 'ENTITY_IS_DELETED'],
      ['003000000000000ZZZ', false, 'INVALID_CROSS_REFERENCE_KEY'],
      [undefined, false, 'MALFORMED_ID'],
    ]);
    const rolledBack = await conn.request<{ id?: string; success: boolean; errors: { statusCode: string }[] }[]>({
      method: 'DELETE',
      url: `${V}/composite/sobjects?ids=${d},${b}&allOrNone=true`,
    });
    expect(rolledBack.map((r) => r.errors[0]?.statusCode)).toEqual([
      'ALL_OR_NONE_OPERATION_ROLLED_BACK',
      'ENTITY_IS_DELETED',
    ]);
    expect(app.store.get(d)).not.toBeNull();
    // The request log counts what was really deleted: a, b and c once each; not the rolled-back d.
    const deletions = server.log.deletions('salesforce');
    expect([a, b, c, d].map((id) => deletions.get(id))).toEqual([1, 1, 1, undefined]);
    // query hides binned rows; queryAll shows them with IsDeleted = true; the deleted feed lists them.
    const idList = [a, b, c, d].map((x) => `'${x}'`).join(', ');
    expect((await soql('query', `SELECT Id FROM Contact WHERE Id IN (${idList})`)).records.map((r) => r.Id)).toEqual([
      d,
    ]);
    const all = await soql('queryAll', `SELECT Id, IsDeleted FROM Contact WHERE Id IN (${idList}) ORDER BY Id`);
    expect(
      all.records
        .filter((r) => r.IsDeleted)
        .map((r) => r.Id)
        .sort(),
    ).toEqual([a, b, c].sort());
    const feed = await conn
      .sobject('Contact')
      .deleted(new Date(clock.getTime() - 3_600_000), new Date(clock.getTime() + 60_000));
    expect(feed.deletedRecords.map((r) => r.id).sort()).toEqual([a, b, c].sort());
    // 15 days later the Recycle Bin has purged them.
    const saved = clock;
    clock = new Date(clock.getTime() + 16 * 86_400_000);
    expect((await soql('queryAll', `SELECT Id FROM Contact WHERE Id IN (${idList})`)).records.map((r) => r.Id)).toEqual(
      [d],
    );
    clock = saved;
  });

  it('empties the Recycle Bin through SOAP emptyRecycleBin (jsforce), per id', async () => {
    const [live, binned] = liveContacts()
      .slice(30, 32)
      .map((e) => e.id) as [string, string];
    await conn.sobject('Contact').destroy([binned]);
    const results = await emptyBin(conn, [binned, live]);
    expect(results.map((r) => [r.id, r.success])).toEqual([
      [binned, true],
      [live, false],
    ]);
    expect((await soql('queryAll', `SELECT Id FROM Contact WHERE Id = '${binned}'`)).totalSize).toBe(0);
    const again = await emptyBin(conn, [binned]);
    expect(again[0]?.errors[0]?.statusCode).toBe('ENTITY_IS_DELETED');
  });

  it('refuses oversized batches: 201 ids to collections delete (400) and to emptyRecycleBin (SOAP fault)', async () => {
    const ids = liveContacts()
      .slice(0, 201)
      .map((e) => e.id);
    const res = await raw('DELETE', `${V}/composite/sobjects?ids=${ids.join(',')}&allOrNone=false`);
    expect(res).toMatchObject({ status: 400, body: [{ errorCode: 'EXCEEDED_ID_LIMIT' }] });
    expect(app.store.get(ids[0] as string)).not.toBeNull();
    await expect(emptyBin(conn, ids)).rejects.toMatchObject({ errorCode: 'sf:EXCEEDED_ID_LIMIT' });
  });

  it('collections update writes records of several types in one call and answers per record in request order', async () => {
    const [c1, c2, binned] = liveContacts()
      .slice(50, 53)
      .map((e) => e.id) as [string, string, string];
    const lead = app.store.index('Lead').find((e) => !e.deleted)?.id as string;
    const individual = app.store.get(c1)?.IndividualId as string;
    await conn.sobject('Contact').destroy([binned]);
    const stampBefore = app.store.get(c2)?.SystemModstamp;
    const results = await updateCollection(false, [
      { attributes: { type: 'Contact' }, id: c1, Title: 'Rectified', HasOptedOutOfEmail: true },
      { attributes: { type: 'Lead' }, id: lead, HasOptedOutOfEmail: true },
      { attributes: { type: 'Individual' }, id: individual, HasOptedOutSolicit: true },
      { attributes: { type: 'Contact' }, id: c2, Email: 'not-an-email' },
      { attributes: { type: 'Contact' }, id: binned, Title: 'x' },
      { attributes: { type: 'Contact' }, id: '003000000000000ZZZ', Title: 'x' },
      { attributes: { type: 'Contact' }, id: lead, Title: 'x' },
      { attributes: { type: 'Contact' }, id: 'not-an-id', Title: 'x' },
    ]);
    expect(results.map((r) => [r.id, r.success, r.errors[0]?.statusCode])).toEqual([
      [c1, true, undefined],
      [lead, true, undefined],
      [individual, true, undefined],
      [c2, false, 'INVALID_EMAIL_ADDRESS'],
      [binned, false, 'ENTITY_IS_DELETED'],
      ['003000000000000ZZZ', false, 'INVALID_CROSS_REFERENCE_KEY'],
      // Failed items may have no id: an id of another type or a malformed one.
      [undefined, false, 'MALFORMED_ID'],
      [undefined, false, 'MALFORMED_ID'],
    ]);
    expect(results[3]?.errors[0]).toMatchObject({ fields: ['Email'] });
    expect(JSON.stringify(results)).not.toContain('not-an-email');
    expect(app.store.get(c1)).toMatchObject({ Title: 'Rectified', HasOptedOutOfEmail: true });
    expect(app.store.get(lead)?.HasOptedOutOfEmail).toBe(true);
    expect(app.store.get(individual)?.HasOptedOutSolicit).toBe(true);
    expect(app.store.get(c2)?.SystemModstamp).toBe(stampBefore);
    expect(app.store.find(binned)?.Title).not.toBe('x');
  });

  it('collections update with allOrNone=true rolls every record of the call back when one fails', async () => {
    const [a, b] = liveContacts()
      .slice(60, 62)
      .map((e) => e.id) as [string, string];
    const before = { a: app.store.get(a), index: app.store.index('Contact').map((e) => `${e.id}@${e.t}`) };
    const results = await updateCollection(true, [
      { attributes: { type: 'Contact' }, id: a, LastName: 'Rolled Back' },
      { attributes: { type: 'Contact' }, id: b, LastName: '' },
    ]);
    expect(results.map((r) => [r.id, r.success, r.errors[0]?.statusCode])).toEqual([
      [a, false, 'ALL_OR_NONE_OPERATION_ROLLED_BACK'],
      [b, false, 'REQUIRED_FIELD_MISSING'],
    ]);
    expect(app.store.get(a)).toEqual(before.a);
    expect(app.store.index('Contact').map((e) => `${e.id}@${e.t}`)).toEqual(before.index);
    // The same records without the bad value: written.
    const ok = await updateCollection(true, [{ attributes: { type: 'Contact' }, id: a, LastName: 'Kept' }]);
    expect(ok.map((r) => r.success)).toEqual([true]);
    expect(app.store.get(a)?.LastName).toBe('Kept');
  });

  it('refuses a collections update it cannot read, or of more than 200 records, as a whole (400) and writes nothing', async () => {
    const ids = liveContacts()
      .slice(0, 201)
      .map((e) => e.id);
    const titles = () => ids.map((id) => app.store.get(id)?.Title);
    const before = titles();
    const records = ids.map((id) => ({ attributes: { type: 'Contact' }, id, Title: 'Too Many' }));
    for (const [body, code] of [
      [{ allOrNone: false, records }, 'EXCEEDED_ID_LIMIT'],
      [{ allOrNone: false, records: [records[0], { ...records[1], Shoe__c: '44' }] }, 'INVALID_FIELD'],
      [{ allOrNone: false, records: [records[0], { ...records[1], HasOptedOutOfEmail: 'yes' }] }, 'JSON_PARSER_ERROR'],
      [{ allOrNone: false, records: [records[0], { id: ids[1], Title: 'x' }] }, 'JSON_PARSER_ERROR'],
      [{ allOrNone: false, records: [{ ...records[0], attributes: { type: 'Spaceship' } }] }, 'INVALID_TYPE'],
      [{ allOrNone: false }, 'JSON_PARSER_ERROR'],
    ] as const) {
      const err = await conn
        .request({
          method: 'PATCH',
          url: `${V}/composite/sobjects`,
          body: JSON.stringify(body),
          headers: jsonHeaders(),
        })
        .catch((e: { errorCode?: string }) => e);
      expect((err as { errorCode?: string }).errorCode).toBe(code);
    }
    const res = await raw('PATCH', `${V}/composite/sobjects`, { body: JSON.stringify({ allOrNone: false, records }) });
    expect(res.status).toBe(400);
    expect(titles()).toEqual(before);
  });

  it('answers 401, 403 and 404 in Salesforce shapes, and reports usage in Sforce-Limit-Info and /limits', async () => {
    const limits = await raw('GET', `${V}/limits`);
    const used = Number(/api-usage=(\d+)\//.exec(limits.headers.get('sforce-limit-info') ?? '')?.[1]);
    expect(limits.body.DailyApiRequests).toEqual({ Max: 100_000, Remaining: 100_000 - used });
    expect(conn.limitInfo?.apiUsage?.limit).toBe(100_000);

    const missing = await raw('GET', `${V}/nothing/here`);
    expect(missing).toMatchObject({ status: 404, body: [{ errorCode: 'NOT_FOUND', message: expect.any(String) }] });
    expect(missing.headers.get('sforce-limit-info')).toMatch(/^api-usage=\d+\/100000$/);

    server.setKnobs({ quotaExhausted: true });
    const quota = await raw('GET', `${V}/limits`);
    expect(quota.status).toBe(403);
    expect(quota.body).toEqual([{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    expect(quota.headers.get('sforce-limit-info')).toBe('api-usage=100000/100000');
    server.setKnobs({ quotaExhausted: false });

    server.setKnobs({ expireTokens: true });
    const expired = await raw('GET', `${V}/limits`);
    expect(expired).toMatchObject({
      status: 401,
      body: [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }],
    });
    await expect(emptyBin(conn, ['003000000000000AAA'])).rejects.toMatchObject({
      errorCode: 'sf:INVALID_SESSION_ID',
    });
    conn = await connect();
    expect((await raw('GET', `${V}/limits`)).status).toBe(200);
  });

  it('keeps its (SystemModstamp, Id) index in step with writes without rebuilding it', () => {
    const at = () => new Date('2026-11-03T00:00:00Z');
    const [warm, cold] = [createSalesforceApp(world, { now: at }), createSalesforceApp(world, { now: at })];
    warm.store.index('Contact'); // built before the writes: updated in place
    const ids = warm.store
      .index('Contact')
      .slice(0, 6)
      .map((e) => e.id);
    for (const app of [warm, cold]) {
      app.store.update(ids[0] as string, { Title: 'x' });
      app.store.remove(ids[1] as string);
      app.store.remove(ids[2] as string);
      app.store.purge(ids[2] as string);
      const previous = app.store.patchOf(ids[3] as string);
      app.store.remove(ids[3] as string);
      app.store.restore(ids[3] as string, previous);
    }
    expect(warm.store.index('Contact')).toEqual(cold.store.index('Contact'));
    // The updated and the binned record moved to the end (newest SystemModstamp); the purged one is gone.
    const tail = warm.store.index('Contact').slice(-2);
    expect(tail.map((e) => e.id).sort()).toEqual([ids[0], ids[1]].sort());
    expect(tail.find((e) => e.id === ids[1])?.deleted).toBe(true);
    expect(warm.store.index('Contact').some((e) => e.id === ids[2])).toBe(false);
  });

  it('serves a 1,000,000-person org from the seed without materialising it', { timeout: 300_000 }, async () => {
    const bigWorld = createSeedWorld({ people: 1_000_000, seed: 9 });
    const big = createSalesforceApp(bigWorld, CLIENT);
    const bigServer = await createVendorServer(big);
    try {
      const { body } = await (async () => {
        const res = await fetch(`${bigServer.url}/services/oauth2/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', ...refreshForm() }),
        });
        return { body: (await res.json()) as Record<string, string> };
      })();
      const c = new jsforce.Connection({
        instanceUrl: body.instance_url,
        accessToken: body.access_token,
        version: '62.0',
      });
      const index = [...bigWorld.indexesIn('salesforce')].at(-1) as number;
      const id = big.store.personRecordId(index);
      const rows = await c.query<Row>(
        `SELECT Id, Email FROM ${id.startsWith('003') ? 'Contact' : 'Lead'} WHERE Id = '${id}'`,
      );
      expect(rows.records.map((r) => r.Id)).toEqual([id]);
      expect(big.store.overlaySize()).toEqual({ patched: 0, binned: 0 });
    } finally {
      await bigServer.close();
    }
  });
});
