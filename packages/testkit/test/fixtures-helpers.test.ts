/**
 * Fixture helpers: the strict nock transport fails on unmatched requests and unused fixtures, and the
 * recorder captures a real loopback server's answers into a nock fixture with personal data and secrets
 * redacted at record time; the fixture then replays strictly.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntimeConnector, identitiesOf, silentLogger } from '@custodian/core';
import { afterEach, describe, expect, it } from 'vitest';
import { DEMO_CLIENT, startContactStore } from '../../../examples/custom-connector/contact-store.js';
import contactStore from '../../../examples/custom-connector/my-connector.js';
import { createStrictNock, createStrictNockFromFile, recordHttp, strictNock } from '../src/index.js';

// A fake base URL: nothing listens there, so only nock can answer.
const BASE = 'http://127.0.0.1:59999';

describe('strict nock transport', () => {
  it('passes when every fixture is used and every request matched (checked when the test finishes)', async () => {
    strictNock(BASE).get('/v1/ping').reply(200, { ok: true });
    expect(await (await fetch(`${BASE}/v1/ping`)).json()).toEqual({ ok: true });
  });

  it('an unmatched request is a problem, even when the client swallows the error', async () => {
    const transport = createStrictNock(BASE);
    transport.scopes[0]!.get('/v1/contacts').reply(200, []);
    await fetch(`${BASE}/v1/contacts`);
    await fetch(`${BASE}/v1/contacts/search?email=jane%40example.test`).catch(() => undefined);
    expect(transport.problems()).toEqual(['unmatched request GET /v1/contacts/search']);
    expect(() => transport.done()).toThrow(
      /strict nock: 1 problem\(s\): unmatched request GET \/v1\/contacts\/search$/,
    );
  });

  it('an unused fixture is a problem at teardown', () => {
    const transport = createStrictNock(BASE);
    transport.scopes[0]!.get('/v1/contacts').query({ page: 2 }).reply(200, []);
    expect(() => transport.done()).toThrow(
      'strict nock: 1 problem(s): unused fixture GET http://127.0.0.1:59999/v1/contacts',
    );
  });
});

describe('recorder', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records real answers with personal data and tokens redacted, and the fixture replays strictly', async () => {
    dir = mkdtempSync(join(tmpdir(), 'recorder-'));
    const file = join(dir, 'contacts.json');
    const store = await startContactStore({ people: 100 });
    const recorder = await recordHttp({
      upstream: store.url,
      file,
      fields: Array.isArray(contactStore.streams) ? contactStore.streams.flatMap((s) => s.fields) : [],
    });
    const options = { baseUrl: recorder.url, ...DEMO_CLIENT, pageSize: 40 };
    const live = await createRuntimeConnector(contactStore, { system: 'store', options, logger: silentLogger });
    const read: string[] = [];
    for await (const page of live.read('contacts', null)) read.push(...page.records.map((r) => r.ref.id));
    const someone = store.contacts.get('c00042')!;
    expect((await live.find([{ kind: 'email', value: someone.email! }])).map((r) => r.ref.id)).toEqual(['c00042']);
    await live.close();
    const definitions = await recorder.stop();
    await store.close();

    // One token request, three feed pages, one search.
    expect(definitions.map((d) => `${d.method} ${String(d.path).split('?')[0]}`)).toEqual([
      'POST /oauth/token',
      'GET /v1/contacts',
      'GET /v1/contacts',
      'GET /v1/contacts',
      'POST /v1/contacts/search',
    ]);
    const text = readFileSync(file, 'utf8');
    for (const c of store.contacts.values()) {
      expect(text).not.toContain(c.email!);
      expect(text).not.toContain(c.phone!);
      expect(text).not.toContain(`"lastName": "${c.lastName}"`);
    }
    for (const secret of [DEMO_CLIENT.clientSecret, DEMO_CLIENT.refreshToken]) expect(text).not.toContain(secret);
    expect(text).toContain('"access_token": "[REDACTED:secret]"');
    expect(text).not.toMatch(/authorization/i);
    expect(text).toMatch(/"email": "user-[0-9a-f]{10}@example\.invalid"/);

    // Replay against the recorded origin with nothing listening: every record comes back, and the
    // redacted identity is the one the fixture finds.
    const transport = createStrictNockFromFile(file);
    const replay = await createRuntimeConnector(contactStore, {
      system: 'store',
      options: { ...options, baseUrl: store.url },
      logger: silentLogger,
    });
    const replayed: string[] = [];
    let first: Awaited<ReturnType<typeof replay.find>>[number] | undefined;
    for await (const page of replay.read('contacts', null)) {
      replayed.push(...page.records.map((r) => r.ref.id));
      first ??= page.records[0];
    }
    expect(replayed).toEqual(read);
    expect((await replay.find(identitiesOf(first!.canonical))).length).toBe(1);
    await replay.close();
    expect(transport.problems()).toEqual([]);
    transport.done();
  });
});
