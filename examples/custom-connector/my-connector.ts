/**
 * A Custodian connector for the JSON-over-HTTP contact store in ./contact-store.ts, written only against
 * the public contract exported by `@custodian/core`. It is the worked example of docs/connectors.md and
 * of this folder's README.
 *
 * Setup: an OAuth client (id, secret) and a refresh token for the store.
 * Scopes: the store has none; a real system would need read, write and delete on contacts.
 * Limits: 10 requests per second per client, a daily allocation reported in `X-Daily-Remaining`.
 */
import {
  type Checkpoint,
  type ClassifiedFailure,
  ConnectorError,
  type CrmRecord,
  createTokenManager,
  defineConnector,
  type FieldChange,
  HttpError,
  type OperationContext,
  type Page,
  type RecordRef,
  type RefResult,
} from '@custodian/core';
import { z } from 'zod';

export const MyConnectorOptions = z
  .object({
    /** Base URL of the contact store, e.g. http://127.0.0.1:4780 */
    baseUrl: z.url(),
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    refreshToken: z.string().min(1),
    /** Contacts per change-feed page. @default 100 */
    pageSize: z.number().int().min(1).max(500).default(100),
    /** Requests per UTC day the store allows this client. @default 50000 */
    dailyLimit: z.number().int().positive().default(50_000),
  })
  .strict();
type Options = z.output<typeof MyConnectorOptions>;

/** The store's contact, as its API documents it (README "The contact store's API"). */
const Contact = z.object({
  id: z.string(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  firstName: z.string().nullable(),
  lastName: z.string().nullable(),
  company: z.string().nullable(),
  notes: z.string().nullable(),
  marketingOptOut: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
  version: z.number().optional(),
});
type Contact = z.infer<typeof Contact>;
const Tombstone = z.object({ id: z.string(), deleted: z.literal(true), updatedAt: z.string() });
const FeedPage = z.object({
  contacts: z.array(z.union([Tombstone, Contact])),
  next: z.object({ updated_after: z.string(), after_id: z.string() }).nullable(),
});
/** Checkpoint: the (updatedAt, id) of the last contact seen, so equal timestamps never lose a contact. */
const FeedCheckpoint = z.object({ updatedAfter: z.string(), afterId: z.string() });

function toRecord(system: string, c: Contact): CrmRecord {
  return {
    ref: { system, object: 'contacts', id: c.id },
    kind: 'person',
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
    canonical: {
      email: c.email,
      phone: c.phone,
      firstName: c.firstName,
      lastName: c.lastName,
      company: c.company,
    },
    fields: { ...c },
    consent: { marketingOptOut: c.marketingOptOut },
  };
}

/** Store answers the core's default classifier cannot know: the daily quota is a 429 with its own body. */
function classifyStoreError(err: unknown): ClassifiedFailure | undefined {
  if (
    err instanceof HttpError &&
    err.status === 429 &&
    (err.body as { error?: string })?.error === 'daily_quota_exhausted'
  )
    return { kind: 'quota_exhausted', status: 429, message: 'the contact store daily quota is used up' };
  return undefined;
}

export default defineConnector({
  id: 'contact-store',
  title: 'Contact store (example)',
  core: '^0.1.0',
  options: MyConnectorOptions,
  streams: [
    {
      name: 'contacts',
      kind: 'person',
      cursor: 'timestamp',
      deletes: { kind: 'tombstones', source: 'endpoint' },
      fields: [
        { name: 'id', category: 'identifier.vendor' },
        { name: 'email', category: 'contact.email', canonical: 'email' },
        { name: 'phone', category: 'contact.phone', canonical: 'phone' },
        { name: 'firstName', category: 'name', canonical: 'firstName' },
        { name: 'lastName', category: 'name', canonical: 'lastName' },
        { name: 'company', category: 'other', canonical: 'company' },
        { name: 'notes', category: 'free_text' },
        { name: 'marketingOptOut', category: 'consent' },
        { name: 'createdAt', category: 'system' },
        { name: 'updatedAt', category: 'system' },
      ],
    },
  ],
  limits: (options: Options) => ({
    groups: { default: { intervalMs: 1000, intervalCap: 10, concurrency: 4 } },
    daily: options.dailyLimit,
  }),
  capabilities: ['find', 'get', 'erase', 'update', 'opt-out'],
  secrets: ['clientSecret', 'refreshToken'],
  classifyError: classifyStoreError,
  setup(options: Options) {
    const base = options.baseUrl.replace(/\/$/, '');
    const tokens = createTokenManager({
      fetchToken: async (signal) => {
        // Contact store API: POST /oauth/token (RFC 6749 refresh_token grant), README "The contact store's API"
        const res = await fetch(`${base}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'refresh_token',
            client_id: options.clientId,
            client_secret: options.clientSecret,
            refresh_token: options.refreshToken,
          }),
          ...(signal ? { signal } : {}),
        });
        const json = (await res.json().catch(() => ({}))) as { access_token?: string; expires_in?: number };
        if (!res.ok || !json.access_token) throw new HttpError(res.status, 'POST /oauth/token', res.headers, json);
        return { accessToken: json.access_token, ...(json.expires_in ? { expiresInSeconds: json.expires_in } : {}) };
      },
    });

    /** One authenticated JSON request; errors become HttpError, which the runtime classifies. */
    async function api<T>(ctx: OperationContext, method: string, path: string, body?: unknown): Promise<T | null> {
      const endpoint = `${method} ${path.split('?')[0]}`;
      return ctx.call(endpoint, async (signal) => {
        const res = await fetch(`${base}${path}`, {
          method,
          signal,
          headers: {
            authorization: `Bearer ${await tokens.token(signal)}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const remaining = Number(res.headers.get('x-daily-remaining'));
        if (Number.isFinite(remaining) && res.headers.has('x-daily-remaining'))
          ctx.reportQuota({ used: options.dailyLimit - remaining, limit: options.dailyLimit });
        if (res.status === 204) return null;
        const json: unknown = await res.json().catch(() => null);
        if (!res.ok) throw new HttpError(res.status, endpoint, res.headers, json);
        return json as T;
      });
    }

    const getContact = async (ctx: OperationContext, id: string): Promise<Contact | null> => {
      try {
        // Contact store API: GET /v1/contacts/{id}
        return Contact.parse(await api(ctx, 'GET', `/v1/contacts/${encodeURIComponent(id)}`));
      } catch (err) {
        if (err instanceof ConnectorError && err.kind === 'not_found') return null;
        throw err;
      }
    };

    async function patch(ctx: OperationContext, change: FieldChange): Promise<RefResult> {
      const current = await getContact(ctx, change.ref.id);
      if (!current) return { ref: change.ref, outcome: 'failed', reason: 'not_found' };
      for (const [field, value] of Object.entries(change.expected ?? {}))
        if ((current as Record<string, unknown>)[field] !== value)
          return { ref: change.ref, outcome: 'failed', reason: 'conflict' };
      try {
        // Contact store API: PATCH /v1/contacts/{id} with the version read, so a concurrent edit answers 409
        await api(ctx, 'PATCH', `/v1/contacts/${encodeURIComponent(change.ref.id)}`, {
          version: current.version,
          fields: change.set,
        });
        return { ref: change.ref, outcome: 'done' };
      } catch (err) {
        if (err instanceof ConnectorError && err.status === 409)
          return { ref: change.ref, outcome: 'failed', reason: 'conflict' };
        throw err;
      }
    }

    return {
      async *read(_stream: string, checkpoint: Checkpoint | null, ctx: OperationContext): AsyncIterable<Page> {
        let cursor = checkpoint ? FeedCheckpoint.parse(checkpoint) : { updatedAfter: '', afterId: '' };
        for (;;) {
          const query = new URLSearchParams({
            updated_after: cursor.updatedAfter,
            after_id: cursor.afterId,
            limit: String(options.pageSize),
          });
          // Contact store API: GET /v1/contacts?updated_after&after_id&limit (change feed, tombstones included)
          const page = FeedPage.parse(await api(ctx, 'GET', `/v1/contacts?${query}`));
          const last = page.contacts.at(-1);
          // The checkpoint is what this page observed, never "now": a gap can only come from the store.
          if (last) cursor = { updatedAfter: last.updatedAt, afterId: last.id };
          const records: CrmRecord[] = [];
          const deleted: NonNullable<Page['deleted']> = [];
          for (const c of page.contacts) {
            if ('deleted' in c)
              deleted.push({
                ref: { system: ctx.system, object: 'contacts', id: c.id },
                deletedAt: c.updatedAt,
                state: 'deleted',
              });
            else records.push(toRecord(ctx.system, c));
          }
          if (records.length > 0 || deleted.length > 0) yield { records, deleted, checkpoint: { ...cursor } };
          if (!page.next) return;
        }
      },

      async find(identities, ctx) {
        const emails = identities.filter((i) => i.kind === 'email').map((i) => i.value);
        const phones = identities.filter((i) => i.kind === 'phone').map((i) => i.value);
        if (emails.length === 0 && phones.length === 0) return [];
        // Contact store API: POST /v1/contacts/search (identities in the body, never in a URL)
        const res = await api<{ contacts: unknown[] }>(ctx, 'POST', '/v1/contacts/search', { emails, phones });
        return z
          .array(Contact)
          .parse(res?.contacts ?? [])
          .map((c) => toRecord(ctx.system, c));
      },

      async get(refs: RecordRef[], ctx) {
        const out: (CrmRecord | null)[] = [];
        for (const ref of refs) {
          const c = await getContact(ctx, ref.id);
          out.push(c ? toRecord(ctx.system, c) : null);
        }
        return out;
      },

      async erase(refs, _erase, ctx) {
        const out: RefResult[] = [];
        for (const ref of refs) {
          try {
            // Contact store API: DELETE /v1/contacts/{id} (no recycle bin: permanent either way)
            await api(ctx, 'DELETE', `/v1/contacts/${encodeURIComponent(ref.id)}`, undefined);
            out.push({ ref, outcome: 'done' });
          } catch (err) {
            if (err instanceof ConnectorError && err.kind === 'not_found') out.push({ ref, outcome: 'already_gone' });
            else throw err;
          }
        }
        return out;
      },

      async update(changes, ctx) {
        const out: RefResult[] = [];
        for (const change of changes) out.push(await patch(ctx, change));
        return out;
      },

      async setMarketingOptOut(refs, ctx) {
        const out: RefResult[] = [];
        for (const ref of refs) out.push(await patch(ctx, { ref, set: { marketingOptOut: true } }));
        return out;
      },

      async onAuthExpired() {
        tokens.invalidate();
      },
    };
  },
});
