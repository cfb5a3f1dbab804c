/**
 * Salesforce connector against nock replies shaped as Salesforce documents them (REST query/queryAll,
 * getDeleted, sObject Collections, SOAP emptyRecycleBin, Bulk API 2.0 query and ingest jobs, error arrays).
 * Every test runs on a capturing logger; afterEach checks that no personal value or secret reached a log line.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createRuntimeConnector, detect, type Page, type RuntimeInput, redactText } from '@custodian/core';
import { captureLogger } from '@custodian/testkit';
import nock from 'nock';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import salesforce, { classifySalesforceError } from '../src/index.js';
import { soqlString } from '../src/operations.js';

const LOGIN = 'https://login.salesforce.com';
const INSTANCE = 'https://acme.my.salesforce.com';
const V = '/services/data/v62.0';
const SECRET = 'refresh-secret-5aa1';
const TOKEN = '00Dxx!token';
const NOW = new Date('2026-01-01T01:00:00.000Z');
const LIMIT = { 'Sforce-Limit-Info': 'api-usage=18/15000' };
const CSV = { 'content-type': 'text/csv' };

let logs: string[] = [];
let logger = captureLogger('trace').logger;

function connect(extra: Record<string, unknown> = {}, runtime: Partial<RuntimeInput> = {}) {
  return createRuntimeConnector(salesforce, {
    system: 'sf',
    options: {
      auth: { type: 'refresh-token', clientId: 'cid', clientSecret: 'csecret', refreshToken: SECRET },
      lookbackMinutes: 0,
      bulkPollIntervalMs: 1,
      ...extra,
    },
    logger,
    now: () => NOW,
    sleep: async () => {},
    baseBackoffMs: 1,
    maxRetries: 2,
    ...runtime,
  });
}

const token = (login = LOGIN) =>
  nock(login)
    .post('/services/oauth2/token')
    .reply(200, { access_token: TOKEN, instance_url: INSTANCE, token_type: 'Bearer' });

const CONTACT_FIELDS = [
  { name: 'Id', type: 'id' },
  { name: 'Email', type: 'email' },
  { name: 'LastName', type: 'string' },
  { name: 'HasOptedOutOfEmail', type: 'boolean' },
  { name: 'IndividualId', type: 'reference' },
  { name: 'SystemModstamp', type: 'datetime' },
  { name: 'IsDeleted', type: 'boolean' },
  { name: 'MailingAddress', type: 'address' },
];
const describeObject = (object: string, fields = CONTACT_FIELDS) =>
  nock(INSTANCE).get(`${V}/sobjects/${object}/describe`).reply(200, { name: object, fields }, LIMIT);
const describeContact = () => describeObject('Contact');
const describeLead = () =>
  describeObject(
    'Lead',
    CONTACT_FIELDS.filter((f) => f.type !== 'address'),
  );

const cid = (n: number) => `003000000000${String(n).padStart(3, '0')}AAA`;
const contact = (n: number, at: string, extra: Record<string, unknown> = {}) => ({
  attributes: { type: 'Contact', url: `${V}/sobjects/Contact/${cid(n)}` },
  Id: cid(n),
  Email: `p${n}@example.org`,
  LastName: `Last${n}`,
  HasOptedOutOfEmail: false,
  IndividualId: null,
  SystemModstamp: at,
  IsDeleted: false,
  ...extra,
});
const page = (records: unknown[], more?: { totalSize?: number; next?: string }) => ({
  totalSize: more?.totalSize ?? records.length,
  done: !more?.next,
  ...(more?.next ? { nextRecordsUrl: more.next } : {}),
  records,
});

/** Answers query/queryAll GETs whose SOQL matches, recording the SOQL text. */
function soqlReply(resource: 'query' | 'queryAll', match: RegExp, body: nock.Body, seen: string[] = []) {
  return nock(INSTANCE)
    .get(`${V}/${resource}`)
    .query((q) => {
      const soql = String(q.q);
      if (!match.test(soql)) return false;
      seen.push(soql);
      return true;
    })
    .reply(200, body, LIMIT);
}

const emptyRecycleBin = (ids: string[]) =>
  nock(INSTANCE)
    .post(/\/services\/Soap\/u\/62\.0/)
    .reply(
      200,
      `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body><emptyRecycleBinResponse>${ids
        .map((id) => `<result><id>${id}</id><success>true</success></result>`)
        .join('')}</emptyRecycleBinResponse></soapenv:Body></soapenv:Envelope>`,
      { 'content-type': 'text/xml' },
    );

interface UpdateBody {
  allOrNone: boolean;
  records: ({ attributes: { type: string }; id: string } & Record<string, unknown>)[];
}
type SaveResult = {
  id?: string;
  success: boolean;
  errors: { statusCode: string; message: string; fields: string[] }[];
};

/**
 * PATCH /composite/sobjects (sObject Collections update): records each call's body and answers 200 with a
 * SaveResult per record in request order: success, or the error `refuse` gives for that record.
 */
function updateCollection(
  sent: UpdateBody[],
  refuse: (r: UpdateBody['records'][number]) => SaveResult | null = () => null,
) {
  return nock(INSTANCE)
    .patch(`${V}/composite/sobjects`, (b: UpdateBody) => sent.push(b) > 0)
    .reply(200, (_uri, b) =>
      (b as UpdateBody).records.map((r) => refuse(r) ?? { id: r.id, success: true, errors: [] }),
    );
}
const saveError = (id: string | undefined, statusCode: string, message = 'refused'): SaveResult => ({
  ...(id ? { id } : {}),
  success: false,
  errors: [{ statusCode, message, fields: [] }],
});

beforeAll(() => nock.disableNetConnect());
beforeEach(() => {
  const captured = captureLogger('trace');
  logger = captured.logger;
  logs = captured.lines;
});
afterEach(() => {
  nock.cleanAll();
  const log = logs.join('\n');
  expect(log).not.toContain(SECRET);
  expect(log).not.toContain('csecret');
  expect(log).not.toContain(TOKEN);
  expect(log).not.toMatch(/@example\.org/);
  expect(log).not.toContain('4111');
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('options', () => {
  it('escapes SOQL literals', () => {
    expect(soqlString("o'brien@example.org")).toBe("'o\\'brien@example.org'");
    expect(soqlString("x\\' OR Id != '")).toBe("'x\\\\\\' OR Id != \\''");
  });

  it('accepts production, sandbox and My Domain login URLs and rejects others with the option path', async () => {
    for (const loginUrl of [
      'https://login.salesforce.com',
      'https://test.salesforce.com',
      'https://acme.my.salesforce.com',
      'https://acme--uat.sandbox.my.salesforce.com',
      'http://127.0.0.1:4010',
    ])
      await expect(connect({ loginUrl })).resolves.toBeTruthy();
    for (const loginUrl of [
      'http://login.salesforce.com',
      'https://salesforce.com.evil.example',
      'https://x.my.salesforce.com/services',
    ])
      await expect(connect({ loginUrl })).rejects.toMatchObject({
        code: 'CUSTODIAN_ERR_CONNECTOR_OPTIONS_INVALID',
        message: expect.stringContaining('options.loginUrl: must be https://login.salesforce.com'),
      });
  });

  it('client credentials need a My Domain login URL', async () => {
    const auth = { type: 'client-credentials', clientId: 'cid', clientSecret: 'csecret' };
    await expect(connect({ auth })).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_OPTIONS_INVALID',
      message: expect.stringContaining('options.loginUrl: the client-credentials flow needs the My Domain URL'),
    });
    nock(INSTANCE)
      .post('/services/oauth2/token', (b) => b.grant_type === 'client_credentials')
      .reply(200, { access_token: TOKEN, instance_url: INSTANCE });
    describeContact();
    soqlReply('query', /FROM Contact/, page([]));
    const conn = await connect({ auth, loginUrl: INSTANCE });
    expect(await collect(conn.read('Contact', null))).toHaveLength(1);
  });

  it('defaults keep a 20,000-person org on REST and cap concurrency', async () => {
    const conn = await connect();
    expect(conn.limits.groups.default.concurrency).toBe(10);
    expect((await connect({ maxConcurrency: 4 })).limits.groups.default.concurrency).toBe(4);
    await expect(connect({ maxConcurrency: 26 })).rejects.toMatchObject({
      message: expect.stringContaining('options.maxConcurrency'),
    });
    token();
    describeContact();
    soqlReply(
      'query',
      /ORDER BY SystemModstamp ASC, Id ASC$/,
      page([contact(1, '2026-01-01T00:00:00.000+0000')], { totalSize: 20_000 }),
    );
    const pages = await collect(conn.read('Contact', null));
    expect(pages).toHaveLength(1);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('sandbox org: tokens from test.salesforce.com, JWT audience test.salesforce.com', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    let assertion = '';
    nock('https://acme--uat.sandbox.my.salesforce.com')
      .post('/services/oauth2/token', (b) => {
        assertion = String(b.assertion);
        return b.grant_type === 'urn:ietf:params:oauth:grant-type:jwt-bearer';
      })
      .reply(200, { access_token: TOKEN, instance_url: INSTANCE });
    describeContact();
    soqlReply('query', /FROM Contact/, page([]));
    const conn = await connect({
      loginUrl: 'https://acme--uat.sandbox.my.salesforce.com',
      auth: {
        type: 'jwt',
        clientId: 'cid',
        username: 'integration@acme.test',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }),
      },
    });
    await collect(conn.read('Contact', null));
    const claims = JSON.parse(Buffer.from(assertion.split('.')[1] ?? '', 'base64url').toString());
    expect(claims).toMatchObject({ aud: 'https://test.salesforce.com', iss: 'cid' });
  });
});

describe('read', () => {
  it('pages with nextRecordsUrl, checkpoints never pass what was seen, reports quota', async () => {
    token();
    describeContact();
    soqlReply(
      'query',
      /FROM Contact ORDER BY/,
      page([contact(1, '2026-01-01T00:00:00.000+0000'), contact(2, '2026-01-01T00:00:05.000+0000')], {
        totalSize: 3,
        next: `${V}/query/01gxx0000000001-2000`,
      }),
    );
    nock(INSTANCE)
      .get(`${V}/query/01gxx0000000001-2000`)
      .reply(200, page([contact(3, '2026-01-01T00:00:05.000+0000')], { totalSize: 3 }), LIMIT);
    const conn = await connect();
    const pages = await collect(conn.read('Contact', null));
    expect(pages.map((p) => p.records.length)).toEqual([2, 1]);
    expect(pages[0]?.checkpoint).toEqual({ since: '2026-01-01T00:00:05.000Z', lastId: cid(2) });
    expect(pages[1]?.checkpoint).toEqual({ since: '2026-01-01T00:00:05.000Z', lastId: cid(3) });
    expect(pages[0]?.records[0]?.canonical.email).toBe('p1@example.org');
    expect(pages[0]?.records[0]?.consent?.marketingOptOut).toBe(false);
    expect(conn.quota().report).toMatchObject({ used: 18, limit: 15000, vendorUsage: 'api-usage=18/15000' });
  });

  it('resumes with a (SystemModstamp, Id) tie-break on queryAll, then the getDeleted feed', async () => {
    token();
    describeContact();
    const seen: string[] = [];
    soqlReply(
      'queryAll',
      /FROM Contact/,
      page([
        contact(4, '2026-01-01T00:00:05.000+0000'),
        contact(5, '2026-01-01T00:00:06.000+0000', { IsDeleted: true }),
      ]),
      seen,
    );
    nock(INSTANCE)
      .get(`${V}/sobjects/Contact/deleted/`)
      .query({ start: '2026-01-01T00:00:05Z', end: '2026-01-01T01:00:00Z' })
      .reply(
        200,
        {
          deletedRecords: [
            { id: cid(5), deletedDate: '2026-01-01T00:00:06.000+0000' },
            { id: cid(6), deletedDate: '2026-01-01T00:30:00.000+0000' },
          ],
          earliestDateAvailable: '2025-12-17T00:00:00.000+0000',
          latestDateCovered: '2026-01-01T00:59:00.000+0000',
        },
        LIMIT,
      );
    const conn = await connect();
    const pages = await collect(conn.read('Contact', { since: '2026-01-01T00:00:05.000Z', lastId: cid(3) }));
    expect(seen[0]).toContain(
      `(SystemModstamp > 2026-01-01T00:00:05Z OR (SystemModstamp = 2026-01-01T00:00:05Z AND Id > '${cid(3)}'))`,
    );
    expect(pages[0]?.records.map((r) => r.ref.id)).toEqual([cid(4)]);
    expect(pages[0]?.deleted).toEqual([
      {
        ref: { system: 'sf', object: 'Contact', id: cid(5) },
        deletedAt: '2026-01-01T00:00:06.000Z',
        state: 'archived',
      },
    ]);
    // The feed adds the row already purged from the Recycle Bin; the one still there is not repeated.
    expect(pages[1]?.deleted).toEqual([
      { ref: { system: 'sf', object: 'Contact', id: cid(6) }, deletedAt: '2026-01-01T00:30:00.000Z', state: 'deleted' },
    ]);
    expect(pages[1]?.checkpoint).toEqual({
      since: '2026-01-01T00:00:06.000Z',
      lastId: cid(5),
      deletedSince: '2026-01-01T00:59:00.000Z',
    });
  });

  it('an object without a getDeleted feed still completes its read (error array body)', async () => {
    token();
    describeObject('Note', [
      { name: 'Id', type: 'id' },
      { name: 'Body', type: 'textarea' },
      { name: 'SystemModstamp', type: 'datetime' },
    ]);
    soqlReply('queryAll', /FROM Note/, page([]));
    nock(INSTANCE)
      .get(`${V}/sobjects/Note/deleted/`)
      .query(true)
      .reply(400, [{ errorCode: 'INVALID_TYPE', message: 'sObject type does not support replication' }]);
    const conn = await connect();
    const pages = await collect(
      conn.read('Note', { since: '2026-01-01T00:00:00.000Z', lastId: null, deletedSince: '2026-01-01T00:10:00.000Z' }),
    );
    expect(pages).toHaveLength(1);
    expect(pages[0]?.checkpoint).toMatchObject({ deletedSince: '2026-01-01T00:10:00.000Z' });
    expect(logs.join('\n')).toContain('getDeleted feed unavailable');
  });

  it('above bulkThreshold: Bulk API 2.0 query job, polled, results paged by Sforce-Locator, typed from CSV', async () => {
    token();
    describeContact();
    soqlReply(
      'queryAll',
      /ORDER BY/,
      page([contact(1, '2026-01-01T00:00:00.000+0000')], { totalSize: 3, next: `${V}/query/01g-2000` }),
    );
    let job: Record<string, unknown> = {};
    nock(INSTANCE)
      .post(`${V}/jobs/query`, (b) => {
        job = b;
        return true;
      })
      .reply(200, { id: '750R0000000zLfvIAE', operation: 'queryAll', state: 'UploadComplete' }, LIMIT)
      .get(`${V}/jobs/query/750R0000000zLfvIAE`)
      .reply(200, { id: '750R0000000zLfvIAE', state: 'InProgress' }, LIMIT)
      .get(`${V}/jobs/query/750R0000000zLfvIAE`)
      .reply(200, { id: '750R0000000zLfvIAE', state: 'JobComplete', numberRecordsProcessed: 3 }, LIMIT)
      .get(`${V}/jobs/query/750R0000000zLfvIAE/results`)
      .query({ maxRecords: '10000' })
      .reply(
        200,
        `"Id","Email","LastName","HasOptedOutOfEmail","IndividualId","SystemModstamp","IsDeleted"\n"${cid(2)}","p2@example.org","Last2","true","","2026-01-01T00:00:09.000Z","false"\n"${cid(1)}","p1@example.org","Last1","false","","2026-01-01T00:00:04.000Z","false"\n`,
        { ...CSV, 'Sforce-Locator': 'MTAwMDA', 'Sforce-NumberOfRecords': '2', ...LIMIT },
      )
      .get(`${V}/jobs/query/750R0000000zLfvIAE/results`)
      .query({ maxRecords: '10000', locator: 'MTAwMDA' })
      .reply(
        200,
        `"Id","Email","LastName","HasOptedOutOfEmail","IndividualId","SystemModstamp","IsDeleted"\n"${cid(3)}","","Last3","false","","2026-01-01T00:00:07.000Z","true"\n`,
        { ...CSV, 'Sforce-Locator': 'null', 'Sforce-NumberOfRecords': '1', 'Sforce-Limit-Info': 'api-usage=25/15000' },
      );
    nock(INSTANCE)
      .get(`${V}/sobjects/Contact/deleted/`)
      .query(true)
      .reply(200, { deletedRecords: [], latestDateCovered: '2026-01-01T00:59:00.000+0000' }, LIMIT);
    const conn = await connect({ bulkThreshold: 2 });
    const start = { since: '2026-01-01T00:00:00.000Z', lastId: cid(1) };
    const usage: number[] = [];
    const pages: Awaited<ReturnType<typeof collect<Page>>> = [];
    for await (const p of conn.read('Contact', start)) {
      pages.push(p);
      usage.push(conn.quota().report?.used ?? 0);
    }
    // Sforce-Limit-Info is read from the CSV results responses too.
    expect(usage[1]).toBe(25);
    expect(job).toMatchObject({ operation: 'queryAll' });
    expect(String(job.query)).toMatch(/FROM Contact WHERE .*SystemModstamp/);
    expect(String(job.query)).not.toContain('ORDER BY');
    expect(pages.map((p) => p.records.map((r) => r.ref.id))).toEqual([[cid(2), cid(1)], [], [], []]);
    expect(pages[0]?.records[0]?.consent?.marketingOptOut).toBe(true);
    expect(pages[0]?.records[0]?.fields.IndividualId).toBeNull();
    expect(pages[1]?.deleted?.map((d) => d.ref.id)).toEqual([cid(3)]);
    // Unordered results: the checkpoint stays put until the job's last page, then moves to the newest row.
    expect(pages[0]?.checkpoint).toEqual(start);
    expect(pages[1]?.checkpoint).toEqual(start);
    expect(pages[2]?.checkpoint).toEqual({ since: '2026-01-01T00:00:09.000Z', lastId: cid(2) });
    expect(pages[3]?.checkpoint).toMatchObject({ since: '2026-01-01T00:00:09.000Z', lastId: cid(2) });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('no Bulk job when the first REST page already holds every row', async () => {
    token();
    describeContact();
    soqlReply('query', /ORDER BY/, page([1, 2, 3].map((n) => contact(n, '2026-01-01T00:00:00.000+0000'))));
    const conn = await connect({ bulkThreshold: 2 });
    expect((await collect(conn.read('Contact', null))).flatMap((p) => p.records.map((r) => r.ref.id))).toEqual([
      cid(1),
      cid(2),
      cid(3),
    ]);
    expect(logs.join('\n')).not.toContain('Bulk API 2.0');
  });

  it('a failed Bulk query job falls back to REST', async () => {
    token();
    describeContact();
    soqlReply(
      'query',
      /ORDER BY/,
      page([contact(1, '2026-01-01T00:00:00.000+0000')], { totalSize: 500_000, next: `${V}/query/01g-2000` }),
    );
    nock(INSTANCE)
      .post(`${V}/jobs/query`)
      .reply(200, { id: '750R0000000zLfwIAE', state: 'UploadComplete' })
      .get(`${V}/jobs/query/750R0000000zLfwIAE`)
      .reply(200, { id: '750R0000000zLfwIAE', state: 'Failed', errorMessage: 'InternalServerError' });
    soqlReply(
      'query',
      /ORDER BY/,
      page([contact(1, '2026-01-01T00:00:00.000+0000'), contact(2, '2026-01-01T00:00:01.000+0000')]),
    );
    const conn = await connect();
    const pages = await collect(conn.read('Contact', null));
    expect(pages.flatMap((p) => p.records.map((r) => r.ref.id))).toEqual([cid(1), cid(2)]);
    expect(pages.at(-1)?.checkpoint).toEqual({ since: '2026-01-01T00:00:01.000Z', lastId: cid(2) });
    expect(logs.join('\n')).toContain('Bulk API 2.0 query failed; reading over REST instead');
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('Bulk API unavailable (404 error array on job create) falls back to REST', async () => {
    token();
    describeContact();
    soqlReply('query', /ORDER BY/, page([], { totalSize: 200_000, next: `${V}/query/01g-2000` }));
    nock(INSTANCE)
      .post(`${V}/jobs/query`)
      .reply(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
    soqlReply('query', /ORDER BY/, page([contact(1, '2026-01-01T00:00:00.000+0000')]));
    const conn = await connect();
    const pages = await collect(conn.read('Contact', null));
    expect(pages.flatMap((p) => p.records.map((r) => r.ref.id))).toEqual([cid(1)]);
  });

  it('a Bulk query job still running at bulkPollTimeoutMs falls back to REST', async () => {
    token();
    describeContact();
    soqlReply('query', /ORDER BY/, page([], { totalSize: 300_000, next: `${V}/query/01g-2000` }));
    nock(INSTANCE)
      .post(`${V}/jobs/query`)
      .reply(200, { id: '750R0000000zLfxIAE', state: 'UploadComplete' })
      .get(`${V}/jobs/query/750R0000000zLfxIAE`)
      .times(1000)
      .reply(200, { id: '750R0000000zLfxIAE', state: 'InProgress' });
    let aborted: unknown;
    nock(INSTANCE)
      .patch(`${V}/jobs/query/750R0000000zLfxIAE`, (b) => {
        aborted = b;
        return true;
      })
      .reply(200, { id: '750R0000000zLfxIAE', state: 'Aborted' });
    soqlReply('query', /ORDER BY/, page([contact(1, '2026-01-01T00:00:00.000+0000')]));
    const conn = await connect({ bulkPollTimeoutMs: 20 });
    const pages = await collect(conn.read('Contact', null));
    expect(pages.flatMap((p) => p.records.map((r) => r.ref.id))).toEqual([cid(1)]);
    expect(aborted).toEqual({ state: 'Aborted' });
    expect(logs.join('\n')).toMatch(/"code":"CUSTODIAN_ERR_CONNECTOR_TRANSIENT".*Bulk API 2.0 query failed/);
  });

  it('MALFORMED_QUERY and INSUFFICIENT_ACCESS error arrays are coded bad-request and permission errors', async () => {
    token();
    describeContact();
    nock(INSTANCE)
      .get(`${V}/query`)
      .query(true)
      .reply(400, [{ message: "unexpected token: 'FROM'", errorCode: 'MALFORMED_QUERY' }]);
    const conn = await connect();
    await expect(collect(conn.read('Contact', null))).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_BAD_REQUEST',
      message: expect.stringContaining('MALFORMED_QUERY'),
    });
    nock(INSTANCE)
      .get(`${V}/sobjects/Lead/describe`)
      .reply(403, [{ message: 'insufficient access rights on object id', errorCode: 'INSUFFICIENT_ACCESS' }]);
    await expect(collect(conn.read('Lead', null))).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_PERMISSION',
      message: expect.stringContaining('INSUFFICIENT_ACCESS'),
    });
  });

  it('unknown stream and malformed checkpoint ids are coded bad requests that echo no value', async () => {
    const conn = await connect();
    await expect(collect(conn.read('Account', null))).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_INVALID',
    });
    token();
    describeContact();
    const err = await collect(
      conn.read('Contact', { since: '2026-01-01T00:00:00.000Z', lastId: "x' OR Name != '" }),
    ).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'CUSTODIAN_ERR_CONNECTOR_BAD_REQUEST' });
    expect((err as Error).message).toContain('not a Salesforce id');
    expect((err as Error).message).not.toContain('OR Name');
    await expect(collect(conn.read('Contact', { since: 'yesterday', lastId: null }))).rejects.toMatchObject({
      code: 'CUSTODIAN_ERR_CONNECTOR_BAD_REQUEST',
      message: expect.stringContaining('checkpoint.since is not an ISO 8601 date-time'),
    });
  });
});

describe('find, verify', () => {
  it('find escapes a quote in an email and searches Contact and Lead', async () => {
    token();
    describeContact();
    describeLead();
    const queries: string[] = [];
    soqlReply('query', /Email IN/, page([]), queries);
    soqlReply('query', /Email IN/, page([]), queries);
    const conn = await connect();
    await conn.find([{ kind: 'email', value: "o'brien@example.org" }]);
    expect(queries[0]).toContain("Email IN ('o\\'brien@example.org')");
    expect(queries[0]).toContain('FROM Contact');
    expect(queries[1]).toContain('FROM Lead');
  });

  it('related: Tasks, Notes and Cases linked to the person; get returns Recycle Bin rows as archived', async () => {
    token();
    const activity = [
      { name: 'Id', type: 'id' },
      { name: 'Subject', type: 'string' },
      { name: 'Description', type: 'textarea' },
      { name: 'SystemModstamp', type: 'datetime' },
    ];
    describeObject('Task', [...activity, { name: 'WhoId', type: 'reference' }]);
    describeObject('Note', [
      { name: 'Id', type: 'id' },
      { name: 'ParentId', type: 'reference' },
      { name: 'Body', type: 'textarea' },
      { name: 'SystemModstamp', type: 'datetime' },
    ]);
    describeObject('Case', [...activity, { name: 'ContactId', type: 'reference' }]);
    const seen: string[] = [];
    soqlReply(
      'query',
      /FROM Task WHERE WhoId IN/,
      page([
        { Id: '00T000000000001AAA', WhoId: cid(1), Subject: 'Call', SystemModstamp: '2026-01-01T00:00:00.000+0000' },
      ]),
      seen,
    );
    soqlReply('query', /FROM Note WHERE ParentId IN/, page([]), seen);
    soqlReply('query', /FROM Case WHERE ContactId IN/, page([]), seen);
    const conn = await connect();
    const found = await conn.related([{ system: 'sf', object: 'Contact', id: cid(1) }]);
    expect(found.map((r) => [r.ref.object, r.ref.id, r.kind])).toEqual([['Task', '00T000000000001AAA', 'activity']]);
    expect(found[0]?.links).toEqual([{ system: 'sf', object: 'Contact', id: cid(1) }]);
    expect(seen.every((q) => q.includes(`IN ('${cid(1)}')`))).toBe(true);
    describeContact();
    soqlReply(
      'queryAll',
      /FROM Contact WHERE Id IN/,
      page([contact(1, '2026-01-01T00:00:00.000+0000', { IsDeleted: true })]),
    );
    const got = await conn.get([cid(1), cid(2)].map((id) => ({ system: 'sf', object: 'Contact', id })));
    expect(got.map((r) => r?.archived ?? null)).toEqual([true, null]);
  });

  it('verify reads back with queryAll: a Recycle Bin row or a match by identity fails, nothing left is done', async () => {
    token();
    describeContact();
    describeLead();
    soqlReply('queryAll', /WHERE Id IN/, page([contact(1, '2026-01-01T00:00:00.000+0000', { IsDeleted: true })]));
    soqlReply('queryAll', /FROM Contact WHERE Email IN/, page([]));
    soqlReply('queryAll', /FROM Lead WHERE Email IN/, page([]));
    const conn = await connect();
    const refs = [cid(1), cid(2)].map((id) => ({ system: 'sf', object: 'Contact', id }));
    const identities = [{ kind: 'email' as const, value: 'p1@example.org' }];
    expect((await conn.verifyErased(refs, identities)).map((r) => r.outcome)).toEqual(['failed', 'done']);
    soqlReply('queryAll', /WHERE Id IN/, page([]));
    soqlReply('queryAll', /FROM Contact WHERE Email IN/, page([]));
    soqlReply(
      'queryAll',
      /FROM Lead WHERE Email IN/,
      page([{ ...contact(9, '2026-01-01T00:00:00.000+0000'), Id: '00Q000000000009AAA' }]),
    );
    const again = await conn.verifyErased(refs, identities);
    expect(again.map((r) => r.reason)).toEqual([
      '1 record(s) still match the identities',
      '1 record(s) still match the identities',
      'person still found by identity',
    ]);
    expect(again[2]?.ref).toEqual({ system: 'sf', object: 'Lead', id: '00Q000000000009AAA' });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('verify with no refs reports the rows the identities still match under their own refs (live or binned)', async () => {
    token();
    describeContact();
    describeLead();
    const seen: string[] = [];
    soqlReply(
      'queryAll',
      /FROM Contact WHERE Email IN/,
      page([
        contact(4, '2026-01-01T00:00:00.000+0000'),
        contact(5, '2026-01-01T00:00:00.000+0000', { IsDeleted: true }),
      ]),
      seen,
    );
    soqlReply('queryAll', /FROM Lead WHERE Email IN/, page([]), seen);
    const conn = await connect();
    const res = await conn.verifyErased([], [{ kind: 'email', value: 'p4@example.org' }]);
    expect(res).toEqual([
      {
        ref: { system: 'sf', object: 'Contact', id: cid(4) },
        outcome: 'failed',
        reason: 'person still found by identity',
      },
      {
        ref: { system: 'sf', object: 'Contact', id: cid(5) },
        outcome: 'failed',
        reason: 'person still found by identity (archived or in the recycle bin)',
      },
    ]);
    // The identity queries verify already made: one queryAll per person object, nothing by id.
    expect(seen).toHaveLength(2);
    expect(JSON.stringify(res)).not.toContain('p4@example.org');
    expect(nock.pendingMocks()).toEqual([]);
  });
});

describe('erase', () => {
  const ids = [cid(1), cid(2), cid(3)];
  const refs = ids.map((id) => ({ system: 'sf', object: 'Contact', id }));

  it('collections delete (allOrNone=false) with per-id partial failure, then emptyRecycleBin', async () => {
    token();
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
    emptyRecycleBin([cid(1), cid(2)]);
    const conn = await connect();
    const results = await conn.erase(refs, { permanent: true });
    expect(results.map((r) => r.outcome)).toEqual(['done', 'already_gone', 'failed']);
    expect(results[2]?.reason).toBe('INSUFFICIENT_ACCESS_OR_READONLY');
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('purge: emptyRecycleBin answers per id; a gone id is already gone, a refused one fails with its code', async () => {
    token();
    nock(INSTANCE)
      .post(/\/services\/Soap\/u\/62\.0/, (b) => String(b).includes('<ids>') && String(b).includes(cid(3)))
      .reply(
        200,
        `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body><emptyRecycleBinResponse><result><id>${cid(1)}</id><success>true</success></result><result><errors><message>invalid record id</message><statusCode>INVALID_ID_FIELD</statusCode></errors><id>${cid(2)}</id><success>false</success></result><result><errors><message>insufficient access</message><statusCode>INSUFFICIENT_ACCESS_OR_READONLY</statusCode></errors><id>${cid(3)}</id><success>false</success></result></emptyRecycleBinResponse></soapenv:Body></soapenv:Envelope>`,
        { 'content-type': 'text/xml' },
      );
    const conn = await connect();
    const results = await conn.purge(refs);
    expect(results.map((r) => [r.outcome, r.reason])).toEqual([
      ['done', undefined],
      ['already_gone', 'INVALID_ID_FIELD'],
      ['failed', 'INSUFFICIENT_ACCESS_OR_READONLY'],
    ]);
  });

  it('allOrNone=true: one failure rolls the call back and every id reports it', async () => {
    token();
    nock(INSTANCE)
      .delete(`${V}/composite/sobjects`)
      .query({ ids: ids.join(','), allOrNone: 'true' })
      .reply(200, [
        {
          id: null,
          success: false,
          errors: [
            {
              statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
              message:
                'Record rolled back because not all records were valid and the request was using AllOrNone header',
              fields: [],
            },
          ],
        },
        {
          id: null,
          success: false,
          errors: [{ statusCode: 'ENTITY_IS_DELETED', message: 'entity is deleted', fields: [] }],
        },
        {
          id: null,
          success: false,
          errors: [{ statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK', message: 'rolled back', fields: [] }],
        },
      ]);
    const conn = await connect({ allOrNone: true });
    const results = await conn.erase(refs, { permanent: false });
    expect(results.map((r) => [r.outcome, r.reason])).toEqual([
      ['failed', 'ALL_OR_NONE_OPERATION_ROLLED_BACK'],
      ['already_gone', 'ENTITY_IS_DELETED'],
      ['failed', 'ALL_OR_NONE_OPERATION_ROLLED_BACK'],
    ]);
  });

  it('hard-delete: Bulk API 2.0 hardDelete job per object, Recycle Bin only for ids deleted earlier; ShouldForget on the Individual', async () => {
    token();
    describeContact();
    soqlReply(
      'queryAll',
      /WHERE Id IN/,
      page([contact(1, '2026-01-01T00:00:00.000+0000', { IndividualId: '0PK000000000001AAA' })]),
    );
    const bodies: unknown[] = [];
    nock(INSTANCE)
      .post(`${V}/jobs/ingest`, (b) => bodies.push(b) > 0)
      .reply(200, { id: '7505e000001ZHD5AAO', operation: 'hardDelete', object: 'Contact', state: 'Open' })
      .put(`${V}/jobs/ingest/7505e000001ZHD5AAO/batches`, (b) => bodies.push(b) > 0)
      .reply(201)
      .patch(`${V}/jobs/ingest/7505e000001ZHD5AAO`, (b) => bodies.push(b) > 0)
      .reply(200, { id: '7505e000001ZHD5AAO', state: 'UploadComplete' })
      .get(`${V}/jobs/ingest/7505e000001ZHD5AAO`)
      .reply(200, { id: '7505e000001ZHD5AAO', state: 'InProgress' })
      .get(`${V}/jobs/ingest/7505e000001ZHD5AAO`)
      .reply(200, { id: '7505e000001ZHD5AAO', state: 'JobComplete', numberRecordsProcessed: 3, numberRecordsFailed: 1 })
      .get(`${V}/jobs/ingest/7505e000001ZHD5AAO/successfulResults`)
      .reply(200, `"sf__Id","sf__Created",Id\n"${cid(1)}","false","${cid(1)}"\n`, CSV)
      .get(`${V}/jobs/ingest/7505e000001ZHD5AAO/failedResults`)
      .reply(200, `"sf__Id","sf__Error",Id\n"","ENTITY_IS_DELETED:entity is deleted:--","${cid(2)}"\n`, CSV);
    const updates: UpdateBody[] = [];
    updateCollection(updates);
    // The id hardDelete found already deleted may sit in the Recycle Bin: only that one is emptied.
    nock(INSTANCE)
      .post(/\/services\/Soap\/u\/62\.0/, (b) => String(b).includes(cid(2)) && !String(b).includes(cid(1)))
      .reply(
        200,
        `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com"><soapenv:Body><emptyRecycleBinResponse><result><id>${cid(2)}</id><success>true</success></result></emptyRecycleBinResponse></soapenv:Body></soapenv:Envelope>`,
        { 'content-type': 'text/xml' },
      );
    const conn = await connect({ permanentErase: 'hard-delete', shouldForget: true });
    const results = await conn.erase(refs, { permanent: true });
    expect(results.map((r) => r.outcome)).toEqual(['done', 'already_gone', 'failed']);
    expect(results[2]?.reason).toBe('not processed by the hardDelete job');
    expect(bodies).toEqual([
      { object: 'Contact', operation: 'hardDelete', contentType: 'CSV', lineEnding: 'LF' },
      `Id\n${ids.join('\n')}\n`,
      { state: 'UploadComplete' },
    ]);
    expect(updates).toEqual([
      {
        allOrNone: false,
        records: [{ attributes: { type: 'Individual' }, id: '0PK000000000001AAA', ShouldForget: true }],
      },
    ]);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('hard-delete without the Bulk API Hard Delete permission falls back to delete + emptyRecycleBin', async () => {
    token();
    nock(INSTANCE)
      .post(`${V}/jobs/ingest`)
      .reply(400, [
        { errorCode: 'FEATURE_NOT_ENABLED', message: 'hardDelete operation requires special user profile permission' },
      ]);
    nock(INSTANCE)
      .delete(`${V}/composite/sobjects`)
      .query({ ids: ids.join(','), allOrNone: 'false' })
      .reply(
        200,
        ids.map((id) => ({ id, success: true, errors: [] })),
      );
    emptyRecycleBin(ids);
    const conn = await connect({ permanentErase: 'hard-delete' });
    const results = await conn.erase(refs, { permanent: true });
    expect(results.map((r) => r.outcome)).toEqual(['done', 'done', 'done']);
    expect(logs.join('\n')).toContain('hardDelete failed; deleting and emptying the Recycle Bin instead');
    expect(nock.pendingMocks()).toEqual([]);
  });

  it("eraseActivities=redact blanks the person's Tasks, Notes and Cases and deletes the person", async () => {
    token();
    const task = { system: 'sf', object: 'Task', id: '00T000000000001AAA' };
    const note = { system: 'sf', object: 'Note', id: '002000000000001AAA' };
    const sent: UpdateBody[] = [];
    updateCollection(sent);
    nock(INSTANCE)
      .delete(`${V}/composite/sobjects`)
      .query({ ids: cid(1), allOrNone: 'false' })
      .reply(200, [{ id: cid(1), success: true, errors: [] }]);
    const conn = await connect({ eraseActivities: 'redact' });
    const results = await conn.erase([task, note, refs[0]!], { permanent: false });
    expect(results.map((r) => r.outcome)).toEqual(['done', 'done', 'done']);
    // Both types in one Collections call, sorted by type.
    expect(sent).toEqual([
      {
        allOrNone: false,
        records: [
          { attributes: { type: 'Note' }, id: note.id, Title: '[erased]', Body: '[erased]' },
          { attributes: { type: 'Task' }, id: task.id, Subject: '[erased]', Description: '[erased]' },
        ],
      },
    ]);
  });
});

describe('update, opt-out', () => {
  const noteFields = [
    { name: 'Id', type: 'id' },
    { name: 'ParentId', type: 'reference' },
    { name: 'Title', type: 'string' },
    { name: 'Body', type: 'textarea' },
    { name: 'SystemModstamp', type: 'datetime' },
    { name: 'IsDeleted', type: 'boolean' },
  ];
  const body = 'Paid by card 4111 1111 1111 1111, call back Monday.';
  const note = (id: string, text: string) => ({
    attributes: { type: 'Note' },
    Id: id,
    ParentId: cid(1),
    Title: 'Call',
    Body: text,
    SystemModstamp: '2026-01-01T00:00:00.000+0000',
    IsDeleted: false,
  });

  it('redacts a span in free text with the core redaction; a changed text is a conflict, not an overwrite', async () => {
    const findings = detect(body);
    expect(findings.map((f) => f.type)).toContain('card_number');
    const replacement = redactText(body, findings);
    token();
    describeObject('Note', noteFields);
    soqlReply(
      'queryAll',
      /FROM Note WHERE Id IN/,
      page([note('002000000000001AAA', body), note('002000000000002AAA', `${body} (edited)`)]),
    );
    const sent: UpdateBody[] = [];
    updateCollection(sent);
    const conn = await connect();
    const results = await conn.update(
      ['002000000000001AAA', '002000000000002AAA'].map((id) => ({
        ref: { system: 'sf', object: 'Note', id },
        set: { Body: replacement },
        expected: { Body: body },
      })),
    );
    expect(results.map((r) => [r.outcome, r.reason])).toEqual([
      ['done', undefined],
      ['failed', 'conflict'],
    ]);
    expect(sent.map((b) => b.records)).toEqual([
      [{ attributes: { type: 'Note' }, id: '002000000000001AAA', Body: replacement }],
    ]);
    expect(replacement).not.toContain('4111');
  });

  it('rectify: one Collections call; records Salesforce refuses fail alone with their code, the others are written', async () => {
    token();
    const sent: UpdateBody[] = [];
    updateCollection(sent, (r) =>
      r.id === cid(2)
        ? saveError(cid(2), 'INVALID_EMAIL_ADDRESS', 'Email: invalid email address: bad')
        : r.id === cid(3)
          ? saveError(cid(3), 'ENTITY_IS_DELETED', 'entity is deleted')
          : r.id === cid(4)
            ? // A failed item may come back without its id: results are matched by position.
              saveError(undefined, 'FIELD_CUSTOM_VALIDATION_EXCEPTION', 'Please keep the surname')
            : null,
    );
    const conn = await connect();
    const results = await conn.update([
      { ref: { system: 'sf', object: 'Contact', id: cid(1) }, set: { LastName: 'Berg' } },
      { ref: { system: 'sf', object: 'Contact', id: cid(2) }, set: { Email: 'bad' } },
      { ref: { system: 'sf', object: 'Contact', id: cid(3) }, set: { LastName: 'Berg' } },
      { ref: { system: 'sf', object: 'Contact', id: cid(4) }, set: { LastName: null } },
    ]);
    expect(results.map((r) => [r.outcome, r.reason])).toEqual([
      ['done', undefined],
      ['failed', 'INVALID_EMAIL_ADDRESS'],
      ['already_gone', 'ENTITY_IS_DELETED'],
      ['failed', 'FIELD_CUSTOM_VALIDATION_EXCEPTION'],
    ]);
    expect(sent).toEqual([
      {
        allOrNone: false,
        records: [
          { attributes: { type: 'Contact' }, id: cid(1), LastName: 'Berg' },
          { attributes: { type: 'Contact' }, id: cid(2), Email: 'bad' },
          { attributes: { type: 'Contact' }, id: cid(3), LastName: 'Berg' },
          { attributes: { type: 'Contact' }, id: cid(4), LastName: null },
        ],
      },
    ]);
    expect(JSON.stringify(results)).not.toContain('bad');
  });

  it('allOrNone=true: one refused record rolls its call back and every record reports it', async () => {
    token();
    const sent: UpdateBody[] = [];
    updateCollection(sent, (r) =>
      r.id === cid(2)
        ? saveError(undefined, 'INVALID_EMAIL_ADDRESS')
        : saveError(
            r.id,
            'ALL_OR_NONE_OPERATION_ROLLED_BACK',
            'Record rolled back because not all records were valid and the request was using AllOrNone header',
          ),
    );
    const conn = await connect({ allOrNone: true });
    const results = await conn.update(
      [1, 2, 3].map((n) => ({ ref: { system: 'sf', object: 'Contact', id: cid(n) }, set: { Email: `x${n}` } })),
    );
    expect(results.map((r) => [r.outcome, r.reason])).toEqual([
      ['failed', 'ALL_OR_NONE_OPERATION_ROLLED_BACK'],
      ['failed', 'INVALID_EMAIL_ADDRESS'],
      ['failed', 'ALL_OR_NONE_OPERATION_ROLLED_BACK'],
    ]);
    expect(sent.map((b) => b.allOrNone)).toEqual([true]);
  });

  it('450 records of mixed types: ceil(450/200) calls of at most 200, grouped by type, results in input order', async () => {
    token();
    const lid = (n: number) => `00Q000000000${String(n).padStart(3, '0')}AAA`;
    // Contacts and Leads interleaved, as a request engine may hand them over.
    const refs = Array.from({ length: 450 }, (_, n) =>
      n % 2 === 0 ? { system: 'sf', object: 'Contact', id: cid(n) } : { system: 'sf', object: 'Lead', id: lid(n) },
    );
    const sent: UpdateBody[] = [];
    for (let call = 0; call < 3; call++)
      updateCollection(sent, (r) => (r.id === lid(449) ? saveError(r.id, 'FIELD_CUSTOM_VALIDATION_EXCEPTION') : null));
    const conn = await connect();
    const results = await conn.update(refs.map((ref) => ({ ref, set: { Title: 'Rectified' } })));
    expect(sent.map((b) => b.records.length)).toEqual([200, 200, 50]);
    // 225 Contacts then 225 Leads: no call holds more than two runs of one type.
    expect(sent.map((b) => [...new Set(b.records.map((r) => r.attributes.type))])).toEqual([
      ['Contact'],
      ['Contact', 'Lead'],
      ['Lead'],
    ]);
    expect(new Set(sent.flatMap((b) => b.records.map((r) => r.id))).size).toBe(450);
    expect(results.map((r) => r.ref)).toEqual(refs);
    expect(results.filter((r) => r.outcome === 'done')).toHaveLength(449);
    expect(results[449]).toMatchObject({ outcome: 'failed', reason: 'FIELD_CUSTOM_VALIDATION_EXCEPTION' });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('a call refused as a whole (400 error array) fails each of its records with the code; a malformed id sends nothing', async () => {
    token();
    nock(INSTANCE)
      .patch(`${V}/composite/sobjects`)
      .reply(
        400,
        [{ message: "No such column 'Shoe__c' on sobject of type Contact", errorCode: 'INVALID_FIELD' }],
        LIMIT,
      );
    const conn = await connect();
    const refs = [1, 2].map((n) => ({ system: 'sf', object: 'Contact', id: cid(n) }));
    const results = await conn.update(refs.map((ref) => ({ ref, set: { Shoe__c: '44' } })));
    expect(results.map((r) => [r.outcome, r.reason])).toEqual([
      ['failed', 'INVALID_FIELD'],
      ['failed', 'INVALID_FIELD'],
    ]);
    const sent: UpdateBody[] = [];
    updateCollection(sent);
    await expect(
      conn.update([
        { ref: refs[0]!, set: { LastName: 'Berg' } },
        { ref: { system: 'sf', object: 'Contact', id: "x' OR 1=1" }, set: { LastName: 'Berg' } },
      ]),
    ).rejects.toMatchObject({ code: 'CUSTODIAN_ERR_CONNECTOR_BAD_REQUEST' });
    expect(sent).toEqual([]);
  });

  it('a quota refusal of an update call stops the batch instead of becoming per-record results', async () => {
    token();
    nock(INSTANCE)
      .patch(`${V}/composite/sobjects`)
      .reply(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }], {
        'Sforce-Limit-Info': 'api-usage=15001/15000',
      });
    const conn = await connect();
    await expect(
      conn.update([{ ref: { system: 'sf', object: 'Contact', id: cid(1) }, set: { LastName: 'Berg' } }]),
    ).rejects.toMatchObject({ kind: 'quota_exhausted' });
  });

  it('opt-out sets HasOptedOutOfEmail on the Contact, on the Lead of the same Individual, and opts the Individual out', async () => {
    token();
    describeContact();
    soqlReply(
      'queryAll',
      /WHERE Id IN/,
      page([contact(1, '2026-01-01T00:00:00.000+0000', { IndividualId: '0PK000000000001AAA' })]),
    );
    soqlReply('query', /FROM Contact WHERE IndividualId IN \('0PK000000000001AAA'\)/, page([{ Id: cid(1) }]));
    soqlReply(
      'query',
      /FROM Lead WHERE IndividualId IN \('0PK000000000001AAA'\)/,
      page([{ Id: '00Q000000000007AAA' }]),
    );
    const bodies: UpdateBody[] = [];
    // A refused Individual is logged, the person's own result stands.
    updateCollection(bodies, (r) =>
      r.attributes.type === 'Individual' ? saveError(r.id, 'INSUFFICIENT_ACCESS') : null,
    );
    const conn = await connect();
    const results = await conn.setMarketingOptOut([{ system: 'sf', object: 'Contact', id: cid(1) }]);
    expect(results.map((r) => r.outcome)).toEqual(['done']);
    // One call: the Contact, the Lead of the same Individual and the Individual.
    expect(bodies).toEqual([
      {
        allOrNone: false,
        records: [
          { attributes: { type: 'Contact' }, id: cid(1), HasOptedOutOfEmail: true },
          { attributes: { type: 'Individual' }, id: '0PK000000000001AAA', HasOptedOutSolicit: true },
          { attributes: { type: 'Lead' }, id: '00Q000000000007AAA', HasOptedOutOfEmail: true },
        ],
      },
    ]);
    expect(logs.join('\n')).toMatch(
      /"individual":"0PK000000000001AAA".*"reason":"INSUFFICIENT_ACCESS".*Individual not updated/,
    );
  });

  it('opt-out with allOrNone=true writes the Individuals in their own call, so they cannot roll back the people', async () => {
    token();
    describeContact();
    soqlReply(
      'queryAll',
      /WHERE Id IN/,
      page([contact(1, '2026-01-01T00:00:00.000+0000', { IndividualId: '0PK000000000001AAA' })]),
    );
    soqlReply('query', /FROM Contact WHERE IndividualId IN/, page([{ Id: cid(1) }]));
    soqlReply('query', /FROM Lead WHERE IndividualId IN/, page([]));
    const bodies: UpdateBody[] = [];
    updateCollection(bodies);
    updateCollection(bodies, (r) => saveError(r.id, 'INSUFFICIENT_ACCESS'));
    const conn = await connect({ allOrNone: true });
    const results = await conn.setMarketingOptOut([{ system: 'sf', object: 'Contact', id: cid(1) }]);
    expect(results.map((r) => r.outcome)).toEqual(['done']);
    expect(bodies.map((b) => [b.allOrNone, b.records.map((r) => r.attributes.type)])).toEqual([
      [true, ['Contact']],
      [true, ['Individual']],
    ]);
  });
});

describe('auth and limits', () => {
  it('401 INVALID_SESSION_ID refreshes once; a second 401 is an auth error, not a loop', async () => {
    token();
    token();
    const expired = [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }];
    nock(INSTANCE).get(`${V}/sobjects/Contact/describe`).times(2).reply(401, expired);
    const conn = await connect();
    await expect(collect(conn.read('Contact', null))).rejects.toMatchObject({
      kind: 'auth_revoked',
      code: 'CUSTODIAN_ERR_CONNECTOR_AUTH',
    });
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('401 then success: one refresh, the call is replayed with the new token', async () => {
    token();
    nock(LOGIN).post('/services/oauth2/token').reply(200, { access_token: '00Dxx!second', instance_url: INSTANCE });
    nock(INSTANCE)
      .get(`${V}/sobjects/Contact/describe`)
      .reply(401, [{ message: 'Session expired or invalid', errorCode: 'INVALID_SESSION_ID' }]);
    nock(INSTANCE, { reqheaders: { authorization: 'Bearer 00Dxx!second' } })
      .get(`${V}/sobjects/Contact/describe`)
      .reply(200, { fields: CONTACT_FIELDS });
    soqlReply('query', /FROM Contact/, page([]));
    const conn = await connect();
    expect(await collect(conn.read('Contact', null))).toHaveLength(1);
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('a rejected refresh token is an auth error naming the OAuth error code only', async () => {
    nock(LOGIN)
      .post('/services/oauth2/token')
      .reply(400, { error: 'invalid_grant', error_description: 'expired access/refresh token' });
    const conn = await connect();
    const err = await collect(conn.read('Contact', null)).catch((e: Error) => e);
    expect(err).toMatchObject({ code: 'CUSTODIAN_ERR_CONNECTOR_AUTH' });
    expect((err as Error).message).toContain('invalid_grant');
    expect((err as Error).message).not.toContain(SECRET);
  });

  it('403 REQUEST_LIMIT_EXCEEDED pauses the system and states the usage the org reported', async () => {
    token();
    nock(INSTANCE)
      .get(`${V}/sobjects/Contact/describe`)
      .reply(403, [{ message: 'TotalRequests Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }], {
        'Sforce-Limit-Info': 'api-usage=15001/15000',
      });
    const conn = await connect();
    await expect(collect(conn.read('Contact', null))).rejects.toMatchObject({
      kind: 'quota_exhausted',
      code: 'CUSTODIAN_ERR_CONNECTOR_QUOTA_EXHAUSTED',
      message: expect.stringContaining('REQUEST_LIMIT_EXCEEDED (api-usage=15001/15000)'),
    });
    expect(conn.quota().pausedUntil?.toISOString()).toBe('2026-01-02T00:00:00.000Z');
  });

  it('403 REQUEST_LIMIT_EXCEEDED for concurrent long requests is a rate limit: retried, no pause', async () => {
    token();
    nock(INSTANCE)
      .get(`${V}/sobjects/Contact/describe`)
      .reply(403, [{ message: 'ConcurrentPerOrgLongTxn Limit exceeded.', errorCode: 'REQUEST_LIMIT_EXCEEDED' }])
      .get(`${V}/sobjects/Contact/describe`)
      .reply(200, { fields: CONTACT_FIELDS });
    soqlReply('query', /FROM Contact/, page([]));
    const conn = await connect();
    expect(await collect(conn.read('Contact', null))).toHaveLength(1);
    expect(conn.quota().pausedUntil).toBeNull();
    expect(nock.pendingMocks()).toEqual([]);
  });

  it('stops at quotaStopShare of the daily allocation before Salesforce refuses, with api-usage=N/M', async () => {
    token();
    nock(INSTANCE)
      .get(`${V}/sobjects/Contact/describe`)
      .reply(200, { fields: CONTACT_FIELDS }, { 'Sforce-Limit-Info': 'api-usage=12000/15000' });
    const query = soqlReply('query', /FROM Contact/, page([]));
    const conn = await connect({ quotaStopShare: 0.8 });
    await expect(collect(conn.read('Contact', null))).rejects.toMatchObject({
      kind: 'quota_exhausted',
      message: expect.stringContaining(
        'used 12000 of 15000 daily requests (80%, api-usage=12000/15000), stop share 80%',
      ),
    });
    expect(query.isDone()).toBe(false);
    expect(conn.quota().pausedUntil).not.toBeNull();
  });

  it('error arrays: several errors classify by the first code', () => {
    const several = Object.assign(new Error('Multiple errors returned.'), {
      errorCode: 'MULTIPLE_API_ERRORS',
      data: [
        { errorCode: 'INVALID_FIELD', message: "No such column 'Foo' on entity 'Contact'." },
        { errorCode: 'MALFORMED_QUERY', message: 'unexpected token' },
      ],
    });
    expect(classifySalesforceError(several)).toMatchObject({ kind: 'bad_request', message: 'INVALID_FIELD' });
    expect(classifySalesforceError({ errorCode: 'ERROR_HTTP_503' })).toMatchObject({ kind: 'transient', status: 503 });
    expect(classifySalesforceError({ errorCode: 'UNABLE_TO_LOCK_ROW' })).toMatchObject({ kind: 'transient' });
    expect(classifySalesforceError({ errorCode: 'INSUFFICIENT_ACCESS' })).toMatchObject({ kind: 'permission' });
  });

  it('503 is retried; a check reports the daily usage and the hard-delete permission', async () => {
    token();
    nock(INSTANCE)
      .get(`${V}/limits`)
      .reply(503, 'Service Unavailable', { 'content-type': 'text/plain' })
      .get(`${V}/limits`)
      .reply(200, { DailyApiRequests: { Max: 15000, Remaining: 14000 } }, LIMIT);
    soqlReply('query', /FROM UserPermissionAccess/, page([{ PermissionsBulkApiHardDelete: false }]));
    const conn = await connect({ permanentErase: 'hard-delete' });
    const checks = await conn.check();
    expect(checks.find((c) => c.check === 'daily-api-requests')).toMatchObject({
      ok: true,
      message: expect.stringContaining('api-usage=1000/15000'),
    });
    expect(checks.find((c) => c.check === 'bulk-api-hard-delete')).toMatchObject({
      ok: false,
      message: expect.stringContaining('lacks the "Bulk API Hard Delete" permission'),
    });
  });
});
