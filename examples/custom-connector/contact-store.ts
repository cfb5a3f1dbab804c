/**
 * A tiny JSON-over-HTTP contact store: the system the example connector talks to. It stands in for
 * whatever your connector targets (a company database, a mailing tool) and speaks the usual shapes:
 * OAuth refresh-token grant, bearer tokens, a change feed ordered by (updatedAt, id) that carries
 * deletions as tombstones, search, get, patch with a version check, delete, and a daily quota.
 *
 * Run it on its own: `pnpm --filter @custodian/example-custom-connector run serve-store` (127.0.0.1:4780).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';

export interface StoredContact {
  id: string;
  email: string | null;
  phone: string | null;
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  notes: string | null;
  marketingOptOut: boolean;
  createdAt: string;
  updatedAt: string;
  version: number;
  deleted: boolean;
}

export interface ContactStoreOptions {
  people?: number;
  port?: number;
  client?: { clientId: string; clientSecret: string; refreshToken: string };
  /** Requests allowed per UTC day before every call answers 429 `daily_quota_exhausted`. */
  dailyLimit?: number;
}

export interface ContactStore {
  url: string;
  contacts: Map<string, StoredContact>;
  /** A mass update: the first `count` live contacts get one and the same updatedAt. Returns their ids. */
  massUpdate(count: number): string[];
  close(): Promise<void>;
}

export const DEMO_CLIENT = { clientId: 'demo-client', clientSecret: 'demo-secret', refreshToken: 'demo-refresh' };

const FIRST = ['Ann', 'Bo', 'Chen', 'Dara', 'Emil', 'Fatima', 'Goran', 'Hana'];
const LAST = ['Berg', 'Okafor', 'Lindqvist', 'Moreau', 'Ozols', 'Wang', 'Novak', 'Silva'];

function seed(people: number): Map<string, StoredContact> {
  const contacts = new Map<string, StoredContact>();
  const base = Date.parse('2026-01-01T00:00:00.000Z');
  for (let i = 0; i < people; i++) {
    const id = `c${String(i).padStart(5, '0')}`;
    // Every fifth contact shares its neighbour's modification time, as bulk imports do.
    const at = new Date(base + (i - (i % 5 === 1 ? 1 : 0)) * 60_000).toISOString();
    contacts.set(id, {
      id,
      email: `${FIRST[i % 8]!.toLowerCase()}.${LAST[(i >> 3) % 8]!.toLowerCase()}.${i}@example.test`,
      phone: `+4930${String(1_000_000 + i)}`,
      firstName: FIRST[i % 8]!,
      lastName: LAST[(i >> 3) % 8]!,
      company: i % 3 === 0 ? 'Acme GmbH' : null,
      notes: i % 7 === 0 ? 'Asked for a callback about pricing.' : null,
      marketingOptOut: i % 11 === 0,
      createdAt: at,
      updatedAt: at,
      version: 1,
      deleted: false,
    });
  }
  return contacts;
}

const view = ({ version: _v, deleted: _d, ...c }: StoredContact) => c;
const byChange = (a: StoredContact, b: StoredContact) =>
  a.updatedAt === b.updatedAt ? (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) : a.updatedAt < b.updatedAt ? -1 : 1;

async function body(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text) return {};
  if (String(req.headers['content-type']).includes('application/x-www-form-urlencoded'))
    return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return { __invalid: true };
  }
}

export async function startContactStore(options: ContactStoreOptions = {}): Promise<ContactStore> {
  const contacts = seed(options.people ?? 250);
  const client = options.client ?? DEMO_CLIENT;
  const tokens = new Set<string>();
  let usedToday = 0;
  let day = new Date().toISOString().slice(0, 10);
  const now = () => new Date().toISOString();

  const send = (res: ServerResponse, status: number, payload?: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(payload === undefined ? '' : JSON.stringify(payload));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://store');
    const input = await body(req);
    if (req.method === 'POST' && url.pathname === '/oauth/token') {
      if (input.grant_type !== 'refresh_token') return send(res, 400, { error: 'unsupported_grant_type' });
      if (input.client_id !== client.clientId || input.client_secret !== client.clientSecret)
        return send(res, 401, { error: 'invalid_client' });
      if (input.refresh_token !== client.refreshToken) return send(res, 400, { error: 'invalid_grant' });
      const token = randomBytes(18).toString('base64url');
      tokens.add(token);
      return send(res, 200, { access_token: token, token_type: 'Bearer', expires_in: 3600 });
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (!bearer || !tokens.has(bearer)) return send(res, 401, { error: 'invalid_token' });
    if (new Date().toISOString().slice(0, 10) !== day) {
      day = new Date().toISOString().slice(0, 10);
      usedToday = 0;
    }
    if (options.dailyLimit !== undefined && usedToday >= options.dailyLimit)
      return send(res, 429, { error: 'daily_quota_exhausted' });
    usedToday++;
    const quota: Record<string, string> =
      options.dailyLimit === undefined ? {} : { 'x-daily-remaining': String(options.dailyLimit - usedToday) };

    if (req.method === 'GET' && url.pathname === '/v1/contacts') {
      // The change feed: contacts (deleted ones as tombstones) after the (updatedAt, id) cursor.
      const after = url.searchParams.get('updated_after') ?? '';
      const afterId = url.searchParams.get('after_id') ?? '';
      const limit = Math.min(500, Number(url.searchParams.get('limit') ?? 100) || 100);
      const rows = [...contacts.values()]
        .filter((c) => c.updatedAt > after || (c.updatedAt === after && c.id > afterId))
        .sort(byChange)
        .slice(0, limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return send(
        res,
        200,
        {
          contacts: page.map((c) => (c.deleted ? { id: c.id, deleted: true, updatedAt: c.updatedAt } : view(c))),
          next: rows.length > limit && last ? { updated_after: last.updatedAt, after_id: last.id } : null,
        },
        quota,
      );
    }
    if (req.method === 'POST' && url.pathname === '/v1/contacts/search') {
      const emails = new Set((input.emails as string[] | undefined)?.map((e) => e.toLowerCase()) ?? []);
      const phones = new Set((input.phones as string[] | undefined) ?? []);
      const hits = [...contacts.values()].filter(
        (c) => !c.deleted && ((c.email && emails.has(c.email.toLowerCase())) || (c.phone && phones.has(c.phone))),
      );
      return send(res, 200, { contacts: hits.map(view) }, quota);
    }
    const one = /^\/v1\/contacts\/([\w-]+)$/.exec(url.pathname);
    const contact = one ? contacts.get(one[1]!) : undefined;
    if (one && (!contact || contact.deleted)) return send(res, 404, { error: 'not_found' }, quota);
    if (contact && req.method === 'GET') return send(res, 200, { ...view(contact), version: contact.version }, quota);
    if (contact && req.method === 'PATCH') {
      if (input.version !== contact.version) return send(res, 409, { error: 'version_conflict' }, quota);
      const fields = (input.fields ?? {}) as Partial<StoredContact>;
      const allowed = ['email', 'phone', 'firstName', 'lastName', 'company', 'notes', 'marketingOptOut'] as const;
      for (const k of allowed) if (k in fields) (contact as unknown as Record<string, unknown>)[k] = fields[k];
      contact.version++;
      contact.updatedAt = now();
      return send(res, 200, { ...view(contact), version: contact.version }, quota);
    }
    if (contact && req.method === 'DELETE') {
      // Tombstone: the personal data goes, the id and the deletion time stay for the change feed.
      Object.assign(contact, { email: null, phone: null, firstName: null, lastName: null, notes: null });
      contact.deleted = true;
      contact.updatedAt = now();
      return send(res, 204, undefined, quota);
    }
    return send(res, 404, { error: 'no_such_endpoint' });
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => send(res, 500, { error: 'internal' }));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    contacts,
    massUpdate(count) {
      const at = new Date(Date.now() - 1000).toISOString();
      const touched = [...contacts.values()].filter((c) => !c.deleted).slice(0, count);
      for (const c of touched) c.updatedAt = at;
      return touched.map((c) => c.id);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const port = Number(process.argv[process.argv.indexOf('--port') + 1] || 4780);
  const store = await startContactStore({ port });
  console.log(`contact store on ${store.url} (client ${DEMO_CLIENT.clientId})`);
}
