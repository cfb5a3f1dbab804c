/** Salesforce connector against nock replies shaped as the REST API documents them. */
import { Writable } from 'node:stream';
import { createLogger, createRuntimeConnector, type Logger } from '@custodian/core';
import nock from 'nock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import salesforce from '../src/index.js';
import { soqlString } from '../src/operations.js';

const LOGIN = 'https://login.salesforce.com';
const INSTANCE = 'https://acme.my.salesforce.com';
const V = '/services/data/v62.0';
const SECRET = 'refresh-secret-5aa1';

function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

function connect(logger: Logger = captureLogger().logger, extra: Record<string, unknown> = {}) {
  return createRuntimeConnector(salesforce, {
    system: 'sf',
    options: {
      auth: { type: 'refresh-token', clientId: 'cid', clientSecret: 'csecret', refreshToken: SECRET },
      lookbackMinutes: 0,
      ...extra,
    },
    logger,
    sleep: async () => {},
    baseBackoffMs: 1,
    maxRetries: 2,
  });
}

const token = () =>
  nock(LOGIN)
    .post('/services/oauth2/token')
    .reply(200, { access_token: '00Dxx!token', instance_url: INSTANCE, token_type: 'Bearer' });

const describeContact = () =>
  nock(INSTANCE)
    .get(`${V}/sobjects/Contact/describe`)
    .reply(200, {
      name: 'Contact',
      fields: [
        { name: 'Id', type: 'id' },
        { name: 'Email', type: 'email' },
        { name: 'LastName', type: 'string' },
        { name: 'HasOptedOutOfEmail', type: 'boolean' },
        { name: 'SystemModstamp', type: 'datetime' },
        { name: 'IsDeleted', type: 'boolean' },
        { name: 'MailingAddress', type: 'address' },
      ],
    });

const contact = (n: number, at: string, extra: Record<string, unknown> = {}) => ({
  attributes: { type: 'Contact', url: `${V}/sobjects/Contact/003000000000${String(n).padStart(3, '0')}AAA` },
  Id: `003000000000${String(n).padStart(3, '0')}AAA`,
  Email: `p${n}@example.org`,
  LastName: `Last${n}`,
  HasOptedOutOfEmail: false,
  SystemModstamp: at,
  IsDeleted: false,
  ...extra,
});

const LIMIT = { 'Sforce-Limit-Info': 'api-usage=18/15000' };

beforeAll(() => nock.disableNetConnect());
afterEach(() => {
  nock.cleanAll();
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('salesforce connector', () => {
  it('escapes SOQL literals', () => {
    expect(soqlString("o'brien@example.org")).toBe("'o\\'brien@example.org'");
    expect(soqlString("x\\' OR Id != '")).toBe("'x\\\\\\' OR Id != \\''");
  });

  it('pages with nextRecordsUrl, checkpoints never pass what was seen, reports quota', async () => {
    token();
    describeContact();
    nock(INSTANCE)
      .get(`${V}/query`)
      .query(true)
      .reply(
        200,
        {
          totalSize: 3,
          done: false,
          nextRecordsUrl: `${V}/query/01gxx0000000001-2000`,
          records: [contact(1, '2026-01-01T00:00:00.000+0000'), contact(2, '2026-01-01T00:00:05.000+0000')],
        },
        LIMIT,
      )
      .get(`${V}/query/01gxx0000000001-2000`)
      .reply(200, { totalSize: 3, done: true, records: [contact(3, '2026-01-01T00:00:05.000+0000')] }, LIMIT);
    const conn = await connect();
    const pages = await collect(conn.read('Contact', null));
    expect(pages.map((p) => p.records.length)).toEqual([2, 1]);
    expect(pages[0]?.checkpoint).toEqual({ since: '2026-01-01T00:00:05.000Z', lastId: '003000000000002AAA' });
    expect(pages[1]?.checkpoint).toEqual({ since: '2026-01-01T00:00:05.000Z', lastId: '003000000000003AAA' });
    expect(pages[0]?.records[0]?.canonical.email).toBe('p1@example.org');
    expect(pages[0]?.records[0]?.consent?.marketingOptOut).toBe(false);
    expect(conn.quota().report).toMatchObject({ used: 18, limit: 15000 });
  });

  it('resumes with a (SystemModstamp, Id) tie-break on queryAll and yields deleted rows', async () => {
    token();
    describeContact();
    let soql = '';
    nock(INSTANCE)
      .get(`${V}/queryAll`)
      .query((q) => {
        soql = String(q.q);
        return true;
      })
      .reply(200, {
        totalSize: 2,
        done: true,
        records: [
          contact(4, '2026-01-01T00:00:05.000+0000'),
          contact(5, '2026-01-01T00:00:06.000+0000', { IsDeleted: true }),
        ],
      });
    const conn = await connect();
    const pages = await collect(
      conn.read('Contact', { since: '2026-01-01T00:00:05.000Z', lastId: '003000000000003AAA' }),
    );
    expect(soql).toContain(
      "(SystemModstamp > 2026-01-01T00:00:05Z OR (SystemModstamp = 2026-01-01T00:00:05Z AND Id > '003000000000003AAA'))",
    );
    expect(pages[0]?.records.map((r) => r.ref.id)).toEqual(['003000000000004AAA']);
    expect(pages[0]?.deleted?.map((d) => d.ref.id)).toEqual(['003000000000005AAA']);
  });

  it('find escapes a quote in an email', async () => {
    token();
    describeContact();
    nock(INSTANCE)
      .get(`${V}/sobjects/Lead/describe`)
      .reply(200, {
        fields: [
          { name: 'Id', type: 'id' },
          { name: 'Email', type: 'email' },
          { name: 'SystemModstamp', type: 'datetime' },
        ],
      });
    const queries: string[] = [];
    nock(INSTANCE)
      .get(`${V}/query`)
      .query((q) => {
        queries.push(String(q.q));
        return true;
      })
      .times(2)
      .reply(200, { totalSize: 0, done: true, records: [] });
    const conn = await connect();
    await conn.find([{ kind: 'email', value: "o'brien@example.org" }]);
    expect(queries[0]).toContain("Email IN ('o\\'brien@example.org')");
    expect(queries[1]).toContain('FROM Lead');
  });

  it('erase: collections delete with per-id partial failure, then emptyRecycleBin', async () => {
    token();
    const ids = ['003000000000001AAA', '003000000000002AAA', '003000000000003AAA'];
    nock(INSTANCE)
      .delete(`${V}/composite/sobjects`)
      .query({ ids: ids.join(','), allOrNone: 'false' })
      .reply(200, [
        { id: ids[0], success: true, errors: [] },
        {
          id: ids[1],
          success: false,
          errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }],
        },
        {
          id: ids[2],
          success: false,
          errors: [{ statusCode: 'INSUFFICIENT_ACCESS_OR_READONLY', message: 'no', fields: [] }],
        },
      ]);
    nock(INSTANCE)
      .post(/\/services\/Soap\/u\/62\.0/)
      .reply(
        200,
        `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body><emptyRecycleBinResponse><result><id>${ids[0]}</id><success>true</success></result><result><id>${ids[1]}</id><success>true</success></result></emptyRecycleBinResponse></soapenv:Body></soapenv:Envelope>`,
        { 'content-type': 'text/xml' },
      );
    const conn = await connect();
    const results = await conn.erase(
      ids.map((id) => ({ system: 'sf', object: 'Contact', id })),
      { permanent: true },
    );
    expect(results.map((r) => r.outcome)).toEqual(['done', 'already_gone', 'failed']);
    expect(results[2]?.reason).toBe('INSUFFICIENT_ACCESS_OR_READONLY');
  });

  it('401 INVALID_SESSION_ID refreshes once; a second 401 is an auth error, not a loop', async () => {
    token();
    token();
    const expired = [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }];
    nock(INSTANCE).get(`${V}/sobjects/Contact/describe`).times(2).reply(401, expired);
    const conn = await connect();
    await expect(collect(conn.read('Contact', null))).rejects.toMatchObject({ kind: 'auth_revoked' });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('403 REQUEST_LIMIT_EXCEEDED pauses as quota exhausted; logs hold no PII or secrets', async () => {
    const { logger, lines } = captureLogger();
    token();
    nock(INSTANCE)
      .get(`${V}/sobjects/Contact/describe`)
      .reply(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }]);
    const conn = await connect(logger);
    await expect(collect(conn.read('Contact', null))).rejects.toMatchObject({ kind: 'quota_exhausted' });
    const log = lines.join('\n');
    expect(log).not.toContain(SECRET);
    expect(log).not.toContain('00Dxx!token');
    expect(log).not.toContain('@example.org');
  });

  it('opt-out sets HasOptedOutOfEmail on the record and opts the Individual out', async () => {
    token();
    describeContact();
    const id = '003000000000001AAA';
    nock(INSTANCE)
      .get(`${V}/queryAll`)
      .query(true)
      .reply(200, {
        totalSize: 1,
        done: true,
        records: [contact(1, '2026-01-01T00:00:00.000+0000', { IndividualId: '0PK000000000001AAA' })],
      });
    const bodies: unknown[] = [];
    nock(INSTANCE)
      .patch(`${V}/sobjects/Contact/${id}`, (b) => bodies.push(b) > 0)
      .reply(204)
      .patch(`${V}/sobjects/Individual/0PK000000000001AAA`, (b) => bodies.push(b) > 0)
      .reply(204);
    const conn = await connect();
    const results = await conn.setMarketingOptOut([{ system: 'sf', object: 'Contact', id }]);
    expect(results.map((r) => r.outcome)).toEqual(['done']);
    expect(bodies).toEqual([{ HasOptedOutOfEmail: true }, { HasOptedOutSolicit: true }]);
  });
});
