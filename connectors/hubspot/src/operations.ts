/** HubSpot operations over the official SDK; every vendor call goes through `ctx.call`. */

import {
  type CallOptions,
  type Checkpoint,
  type CheckResult,
  ConnectorError,
  type ConnectorOperations,
  type CrmRecord,
  CustodianError,
  type DeletedRecord,
  type FieldChange,
  type Identity,
  leftoverResults,
  mapSettled,
  type OperationContext,
  type Page,
  type RecordRef,
  type RefResult,
  type StreamDefinition,
} from '@custodian/core';
import type { Client } from '@hubspot/api-client';
import { z } from 'zod';
import { splitForUrl } from './properties.js';
import { headerIn, type QuotaTracker, readRateLimitHeaders, sameTimeZone } from './quota.js';
import { CONTACT_FIELDS, isHubSpotStream, modifiedProperty, STREAM_NAMES } from './streams.js';
import { type AnswerWithHeaders, createOptOut, type OptOutOptions, sendRaw } from './subscriptions.js';

export interface HubSpotRuntimeOptions extends OptOutOptions {
  lookbackMinutes: number;
  searchLagSeconds: number;
  eraseNotes: 'delete' | 'redact';
  /** The streams with their properties (built-in and the portal's custom ones). */
  streams: StreamDefinition[];
  quota: QuotaTracker;
  /** IANA zone of the portal: HubSpot resets the daily limit at its midnight. */
  portalTimeZone: string;
}

interface VendorObject {
  id: string;
  properties: Record<string, string | null>;
  archived?: boolean;
  archivedAt?: Date | string;
  createdAt?: Date | string;
  updatedAt?: Date | string;
  associations?: Record<string, { results: { id: string }[] }>;
}

const accountDetails = z.looseObject({ timeZone: z.string() });

const LIST_LIMIT = 100;
const SEARCH_LIMIT = 200;
const BATCH_LIMIT = 100;

const checkpointSchema = z.union([
  z.object({ phase: z.literal('backfill'), after: z.string().nullable(), since: z.number() }),
  z.object({
    phase: z.literal('incremental'),
    since: z.number(),
    seen: z.array(z.string()).default([]),
    tieAfterId: z.string().optional(),
  }),
  z.object({
    phase: z.literal('archived'),
    after: z.string().nullable(),
    since: z.number(),
    seen: z.array(z.string()),
  }),
]);
type HubSpotCheckpoint = z.infer<typeof checkpointSchema>;

const LEGAL_BASIS: Record<string, string> = {
  'legitimate interest – prospect/lead': 'legitimate_interest',
  'legitimate interest - prospect/lead': 'legitimate_interest',
  'legitimate interest – existing customer': 'legitimate_interest',
  'legitimate interest - existing customer': 'legitimate_interest',
  'legitimate interest - other': 'legitimate_interest',
  'performance of a contract': 'contract',
  'freely given consent from contact': 'consent',
  'not applicable': 'none',
  legitimate_interest_pql: 'legitimate_interest',
  legitimate_interest_client: 'legitimate_interest',
  legitimate_interest_other: 'legitimate_interest',
  performance_of_contract: 'contract',
  consent_with_notice: 'consent',
  process_and_store: 'consent',
};

/** hs_legal_basis is a multi-select (`;`-separated) of HubSpot's option labels or values. */
export function normaliseLegalBasis(raw: string | null | undefined): string | null {
  if (!raw) return null;
  const first = raw.split(';')[0]?.trim().toLowerCase() ?? '';
  return LEGAL_BASIS[first] ?? null;
}

const iso = (v: Date | string | null | undefined): string | null =>
  v == null || v === '' ? null : v instanceof Date ? v.toISOString() : new Date(v).toISOString();

const time = (v: string | null | undefined): number => (v ? Date.parse(v) : Number.NaN);

export function mapContact(system: string, o: VendorObject): CrmRecord {
  const p = o.properties;
  const canonical: CrmRecord['canonical'] = {};
  for (const f of CONTACT_FIELDS) if (f.canonical) canonical[f.canonical] = p[f.name] ?? null;
  const optout = p.hs_email_optout;
  return {
    ref: { system, object: 'contacts', id: o.id },
    kind: 'person',
    createdAt: iso(p.createdate ?? o.createdAt),
    updatedAt: iso(p.lastmodifieddate ?? o.updatedAt),
    lastActivityAt: iso(p.notes_last_updated || p.hs_last_sales_activity_timestamp || p.lastmodifieddate),
    lifecycleStage: p.lifecyclestage ?? null,
    canonical,
    fields: { ...p },
    consent: {
      ...(optout == null ? {} : { marketingOptOut: optout === 'true' }),
      legalBasis: normaliseLegalBasis(p.hs_legal_basis),
    },
    ...(o.archived ? { archived: true } : {}),
  };
}

/** Notes (activities), companies and deals: their properties and the contacts they are associated with. */
export function mapLinked(system: string, object: string, o: VendorObject, contactIds: string[]): CrmRecord {
  const p = o.properties;
  return {
    ref: { system, object, id: o.id },
    kind: object === 'notes' ? 'activity' : 'other',
    createdAt: iso(p.hs_createdate ?? p.createdate ?? o.createdAt),
    updatedAt: iso(p.hs_lastmodifieddate ?? o.updatedAt),
    lastActivityAt: iso(p.hs_timestamp ?? p.closedate ?? p.hs_lastmodifieddate),
    canonical: {},
    fields: { ...p },
    links: contactIds.map((id) => ({ system, object: 'contacts', id })),
    ...(o.archived ? { archived: true } : {}),
  };
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** 207 answers carry `errors`; the SDK returns them as a normal result. */
const errorsOf = (r: unknown): { message?: string; category?: string; context?: Record<string, string[]> }[] =>
  (r as { errors?: { message?: string; category?: string; context?: Record<string, string[]> }[] }).errors ?? [];

export function createOperations(
  client: () => Promise<Client>,
  options: HubSpotRuntimeOptions,
  system: string,
): ConnectorOperations {
  const fieldsOf = new Map(options.streams.map((st) => [st.name, st.fields.map((f) => f.name)]));
  const propsOf = (stream: string) => fieldsOf.get(stream) ?? [];
  const observe = (res: AnswerWithHeaders) =>
    options.quota.observe(readRateLimitHeaders((n) => res.headers.get(n) ?? undefined));
  // The SDK 13.5 ignores client-level middleware, so headers are read from each answer's HttpInfo.
  const withHeaders = <T>(info: { headers: Record<string, string>; data: T }): T => {
    options.quota.observe(readRateLimitHeaders(headerIn(info.headers)));
    return info.data;
  };

  /**
   * Every vendor call: through the runtime (limits, retries, refresh), with the usage HubSpot reported fed
   * to the runtime's quota guard and a failure tagged with the portal's reset time for the classifier.
   */
  const call = <T>(ctx: OperationContext, operation: string, fn: () => Promise<T>, callOptions?: CallOptions) =>
    ctx.call(
      operation,
      async () => {
        try {
          return await fn();
        } catch (err) {
          // SDK errors (ApiException) carry the answer's headers: a 429 still reports the usage.
          const headers = (err as { headers?: unknown } | null)?.headers;
          if (headers && typeof headers === 'object' && !(headers instanceof Headers))
            options.quota.observe(readRateLimitHeaders(headerIn(headers as Record<string, string>)));
          options.quota.annotate(err, ctx.now());
          throw err;
        } finally {
          options.quota.report(ctx);
        }
      },
      callOptions,
    );
  const optOut = createOptOut(client, options, { call, observe, withHeaders });

  /** Contact ids per record (notes, companies, deals), one v4 batch call per 100 (never one call per record). */
  async function contactLinks(stream: string, ids: string[], ctx: OperationContext): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    for (const part of chunk(ids, BATCH_LIMIT)) {
      // https://developers.hubspot.com/docs/api-reference/crm-associations-v4/batch/post-crm-v4-associations-fromObjectType-toObjectType-batch-read
      const res = await call(ctx, 'associations.batchRead', async () =>
        withHeaders(
          await (await client()).crm.associations.v4.batchApi.getPageWithHttpInfo(stream, 'contacts', {
            inputs: part.map((id) => ({ id })),
          }),
        ),
      );
      for (const r of res.results)
        out.set(
          String(r._from.id),
          r.to.map((t) => String(t.toObjectId)),
        );
    }
    return out;
  }

  const mapOne = (stream: string, o: VendorObject, links: string[]) =>
    stream === 'contacts' ? mapContact(system, o) : mapLinked(system, stream, o, [...new Set(links)]);

  async function mapPage(stream: string, objects: VendorObject[], ctx: OperationContext, inline: boolean) {
    if (stream === 'contacts') return objects.map((o) => mapContact(system, o));
    const links = inline
      ? new Map(objects.map((o) => [o.id, (o.associations?.contacts?.results ?? []).map((r) => r.id)]))
      : await contactLinks(
          stream,
          objects.map((o) => o.id),
          ctx,
        );
    return objects.map((o) => mapOne(stream, o, links.get(o.id) ?? []));
  }

  async function* read(stream: string, raw: Checkpoint | null, ctx: OperationContext): AsyncIterable<Page> {
    if (!isHubSpotStream(stream))
      throw new CustodianError('CUSTODIAN_ERR_CONNECTOR_OPTIONS_INVALID', `HubSpot has no stream "${stream}"`);
    const parsed = raw == null ? null : checkpointSchema.safeParse(raw);
    if (parsed && !parsed.success)
      throw new CustodianError(
        'CUSTODIAN_ERR_CONNECTOR_CHECKPOINT_INVALID',
        `HubSpot ${stream} checkpoint does not match the expected shape`,
        { cause: parsed.error },
      );
    const lookbackMs = options.lookbackMinutes * 60_000;
    let cp: HubSpotCheckpoint = parsed?.data ?? {
      phase: 'backfill',
      after: null,
      since: ctx.now().getTime() - lookbackMs,
    };
    const properties = propsOf(stream);
    const modified = modifiedProperty(stream);

    if (cp.phase === 'backfill') {
      let after = cp.after;
      const since = cp.since;
      // Properties that would push the list URL past the budget are read by batch read (POST body) per page.
      const { inUrl, inBody } = splitForUrl(properties, ['hs_object_id', modified]);
      do {
        // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/get-crm-v3-objects-contacts
        const res = await call(ctx, `${stream}.list`, async () =>
          withHeaders(
            await (await client()).crm.objects.basicApi.getPageWithHttpInfo(
              stream,
              LIST_LIMIT,
              after ?? undefined,
              inUrl,
              undefined,
              stream === 'contacts' ? undefined : ['contacts'],
              false,
            ),
          ),
        );
        after = res.paging?.next?.after ?? null;
        const objects = res.results as VendorObject[];
        if (inBody.length > 0 && objects.length > 0) {
          const rest = new Map(
            (
              await batchRead(
                stream,
                objects.map((o) => o.id),
                ctx,
                undefined,
                inBody,
              )
            ).map((o) => [o.id, o.properties]),
          );
          // A record archived between the two calls keeps what the list gave; the next run marks it archived.
          for (const o of objects) o.properties = { ...o.properties, ...rest.get(o.id) };
        }
        const records = await mapPage(stream, objects, ctx, true);
        yield {
          records,
          checkpoint: after ? { phase: 'backfill', after, since } : { phase: 'incremental', since, seen: [] },
        };
      } while (after);
      return;
    }

    if (cp.phase === 'incremental') {
      const upper = ctx.now().getTime() - options.searchLagSeconds * 1000;
      let since = cp.since;
      let seen = new Set(cp.seen);
      let tieAfterId = cp.tieAfterId;
      const search = (filterGroups: unknown[], sortBy: string) =>
        // https://developers.hubspot.com/docs/api-reference/search/guide (5 requests/s per token, 10,000 results per query)
        call(
          ctx,
          `${stream}.search`,
          async () =>
            withHeaders(
              await (await client()).crm.objects.searchApi.doSearchWithHttpInfo(stream, {
                filterGroups: filterGroups as never,
                sorts: [`${sortBy}` as never],
                properties,
                limit: SEARCH_LIMIT,
              }),
            ),
          { group: 'search' },
        );
      for (;;) {
        if (tieAfterId !== undefined) {
          // More than a page shares one timestamp: walk that instant by object id (the composite watermark).
          const res = await search(
            [
              {
                filters: [
                  { propertyName: modified, operator: 'EQ', value: String(since) },
                  { propertyName: 'hs_object_id', operator: 'GT', value: tieAfterId },
                ],
              },
            ],
            'hs_object_id',
          );
          const objs = res.results as VendorObject[];
          const records = await mapPage(stream, objs, ctx, false);
          const lastId = objs.at(-1)?.id;
          if (objs.length === SEARCH_LIMIT && lastId) {
            tieAfterId = lastId;
            yield { records, checkpoint: { phase: 'incremental', since, seen: [], tieAfterId } };
            continue;
          }
          tieAfterId = undefined;
          since += 1;
          seen = new Set();
          yield { records, checkpoint: { phase: 'incremental', since, seen: [] } };
          continue;
        }
        if (since > upper) break;
        const res = await search(
          [
            {
              filters: [
                { propertyName: modified, operator: 'GTE', value: String(since) },
                { propertyName: modified, operator: 'LTE', value: String(upper) },
              ],
            },
          ],
          modified,
        );
        const objs = res.results as VendorObject[];
        const fresh = objs.filter((o) => !(time(o.properties[modified]) === since && seen.has(o.id)));
        const records = await mapPage(stream, fresh, ctx, false);
        if (objs.length < SEARCH_LIMIT) {
          const last = objs.at(-1);
          const lastT = last ? time(last.properties[modified]) : since;
          const atLast = objs.filter((o) => time(o.properties[modified]) === lastT).map((o) => o.id);
          const nextSeen = lastT === since ? [...seen, ...atLast] : atLast;
          since = lastT;
          seen = new Set(nextSeen);
          // Search may lag writes: the next run starts `lookbackMinutes` earlier, so late arrivals are found.
          yield {
            records,
            checkpoint: { phase: 'archived', after: null, since: Math.max(0, since - lookbackMs), seen: [] },
          };
          break;
        }
        const lastT = time(objs.at(-1)?.properties[modified]);
        if (lastT === since && fresh.length === 0) {
          tieAfterId = '0';
          yield { records, checkpoint: { phase: 'incremental', since, seen: [], tieAfterId } };
          continue;
        }
        const atLast = objs.filter((o) => time(o.properties[modified]) === lastT).map((o) => o.id);
        seen = new Set(lastT === since ? [...seen, ...atLast] : atLast);
        since = lastT;
        yield { records, checkpoint: { phase: 'incremental', since, seen: [...seen] } };
      }
      cp = { phase: 'archived', after: null, since: Math.max(0, since - lookbackMs), seen: [] };
      if (since > upper) yield { records: [], checkpoint: cp };
    }

    if (cp.phase === 'archived') {
      // Archived records only show up in a list with archived=true; each run lists them to mark the index.
      let after = cp.after;
      const since = cp.since;
      do {
        // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/get-crm-v3-objects-contacts (archived=true)
        const res = await call(ctx, `${stream}.listArchived`, async () =>
          withHeaders(
            await (await client()).crm.objects.basicApi.getPageWithHttpInfo(
              stream,
              LIST_LIMIT,
              after ?? undefined,
              ['hs_object_id'],
              undefined,
              undefined,
              true,
            ),
          ),
        );
        after = res.paging?.next?.after ?? null;
        const deleted: DeletedRecord[] = (res.results as VendorObject[]).map((o) => ({
          ref: { system, object: stream, id: o.id },
          deletedAt: iso(o.archivedAt),
          state: 'archived',
        }));
        yield {
          records: [],
          deleted,
          checkpoint: after ? { phase: 'archived', after, since, seen: [] } : { phase: 'incremental', since, seen: [] },
        };
      } while (after);
    }
  }

  async function batchRead(
    object: string,
    ids: string[],
    ctx: OperationContext,
    idProperty?: string,
    properties: string[] = propsOf(object),
  ): Promise<VendorObject[]> {
    const parts = await mapSettled(chunk(ids, BATCH_LIMIT), async (part) => {
      // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/batch/post-crm-v3-objects-contacts-batch-read (207 lists missing ids)
      const res = await call(ctx, `${object}.batchRead`, async () =>
        withHeaders(
          await (await client()).crm.objects.batchApi.readWithHttpInfo(
            object,
            {
              inputs: part.map((id) => ({ id })),
              properties,
              propertiesWithHistory: [],
              ...(idProperty ? { idProperty } : {}),
            },
            false,
          ),
        ),
      );
      return res.results as VendorObject[];
    });
    return parts.flat();
  }

  async function find(identities: Identity[], ctx: OperationContext): Promise<CrmRecord[]> {
    const byId = new Map<string, CrmRecord>();
    const emails = identities.filter((i) => i.kind === 'email').map((i) => i.value);
    for (const o of await batchRead('contacts', emails, ctx, 'email')) byId.set(o.id, mapContact(system, o));
    for (const phone of identities.filter((i) => i.kind === 'phone').map((i) => i.value)) {
      // https://developers.hubspot.com/docs/api-reference/search/guide : phone values are matched as stored.
      const res = await call(
        ctx,
        'contacts.search',
        async () =>
          withHeaders(
            await (await client()).crm.objects.searchApi.doSearchWithHttpInfo('contacts', {
              filterGroups: ['phone', 'mobilephone'].map((propertyName) => ({
                filters: [{ propertyName, operator: 'EQ' as never, value: phone }],
              })),
              properties: propsOf('contacts'),
              limit: SEARCH_LIMIT,
            }),
          ),
        { group: 'search' },
      );
      for (const o of res.results as VendorObject[]) byId.set(o.id, mapContact(system, o));
    }
    for (const id of identities.filter((i) => i.kind === 'vendor_id').map((i) => i.value.split(':').at(-1) ?? '')) {
      for (const o of await batchRead('contacts', [id], ctx)) byId.set(o.id, mapContact(system, o));
    }
    return [...byId.values()];
  }

  async function get(refs: RecordRef[], ctx: OperationContext): Promise<(CrmRecord | null)[]> {
    const found = new Map<string, CrmRecord>();
    await mapSettled(STREAM_NAMES, async (object) => {
      const ids = refs.filter((r) => r.object === object).map((r) => r.id);
      if (ids.length === 0) return;
      const objs = await batchRead(object, ids, ctx);
      const records = await mapPage(object, objs, ctx, false);
      for (const r of records) found.set(`${object}:${r.ref.id}`, r);
    });
    return refs.map((r) => found.get(`${r.object}:${r.id}`) ?? null);
  }

  async function related(persons: RecordRef[], ctx: OperationContext): Promise<CrmRecord[]> {
    const noteIds = new Set<string>();
    await mapSettled(
      chunk(
        persons.filter((p) => p.object === 'contacts').map((p) => p.id),
        BATCH_LIMIT,
      ),
      async (ids) => {
        // https://developers.hubspot.com/docs/api-reference/crm-associations-v4/batch/post-crm-v4-associations-fromObjectType-toObjectType-batch-read
        const res = await call(ctx, 'associations.batchRead', async () =>
          withHeaders(
            await (await client()).crm.associations.v4.batchApi.getPageWithHttpInfo('contacts', 'notes', {
              inputs: ids.map((id) => ({ id })),
            }),
          ),
        );
        for (const r of res.results) for (const t of r.to) noteIds.add(String(t.toObjectId));
      },
    );
    const notes = await get(
      [...noteIds].map((id) => ({ system, object: 'notes', id })),
      ctx,
    );
    return notes.filter((n): n is CrmRecord => n !== null);
  }

  async function erase(refs: RecordRef[], opts: { permanent: boolean }, ctx: OperationContext): Promise<RefResult[]> {
    const results: RefResult[] = [];
    const notes = refs.filter((r) => r.object === 'notes');
    const contacts = refs.filter((r) => r.object === 'contacts');
    if (options.eraseNotes === 'redact') {
      results.push(
        ...(await update(
          notes.map((ref) => ({ ref, set: { hs_note_body: '[redacted]' } })),
          ctx,
        )),
      );
    } else {
      results.push(...(await archive('notes', notes, ctx)));
    }
    // Companies and deals have no GDPR delete: archiving is what HubSpot offers for them.
    for (const object of ['companies', 'deals'])
      results.push(
        ...(await archive(
          object,
          refs.filter((r) => r.object === object),
          ctx,
        )),
      );
    if (!opts.permanent) {
      results.push(...(await archive('contacts', contacts, ctx)));
      return results;
    }
    const deleted = await mapSettled(contacts, async (ref): Promise<RefResult> => {
      try {
        // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/gdpr/post-crm-v3-objects-contacts-gdpr-delete (one contact per call; blocklists the email)
        // The SDK's discovery layer has no GDPR API; sendRaw goes through the same client and auth.
        await call(
          ctx,
          'contacts.gdprDelete',
          async () =>
            sendRaw(
              await client(),
              'POST',
              '/crm/v3/objects/contacts/gdpr-delete',
              'POST /crm/v3/objects/contacts/gdpr-delete',
              observe,
              { objectId: ref.id },
            ),
          { idempotent: true },
        );
        return { ref, outcome: 'done' };
      } catch (err) {
        if (err instanceof ConnectorError && err.kind === 'not_found') return { ref, outcome: 'already_gone' };
        throw err;
      }
    });
    return [...results, ...deleted];
  }

  async function archive(object: string, refs: RecordRef[], ctx: OperationContext): Promise<RefResult[]> {
    await mapSettled(chunk(refs, BATCH_LIMIT), async (part) => {
      // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/batch/post-crm-v3-objects-contacts-batch-archive (204; already archived ids are no error)
      await call(ctx, `${object}.batchArchive`, async () =>
        withHeaders(
          await (await client()).crm.objects.batchApi.archiveWithHttpInfo(object, {
            inputs: part.map((r) => ({ id: r.id })),
          }),
        ),
      );
    });
    return refs.map((ref) => ({ ref, outcome: 'done' }));
  }

  async function update(changes: FieldChange[], ctx: OperationContext): Promise<RefResult[]> {
    const results: RefResult[] = [];
    for (const object of STREAM_NAMES) {
      const mine = changes.filter((c) => c.ref.object === object);
      for (const part of chunk(mine, BATCH_LIMIT)) {
        const withExpect = part.filter((c) => c.expected && Object.keys(c.expected).length > 0);
        const current = new Map(
          (
            await batchRead(
              object,
              withExpect.map((c) => c.ref.id),
              ctx,
            )
          ).map((o) => [o.id, o.properties]),
        );
        const ready: FieldChange[] = [];
        for (const c of part) {
          const now = current.get(c.ref.id);
          const conflict =
            c.expected && Object.entries(c.expected).some(([k, v]) => (now?.[k] ?? null) !== (v ?? null));
          if (c.expected && !now) results.push({ ref: c.ref, outcome: 'already_gone' });
          else if (conflict) results.push({ ref: c.ref, outcome: 'failed', reason: 'conflict' });
          else ready.push(c);
        }
        if (ready.length === 0) continue;
        // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/batch/post-crm-v3-objects-contacts-batch-update
        const res = await call(ctx, `${object}.batchUpdate`, async () =>
          withHeaders(
            await (await client()).crm.objects.batchApi.updateWithHttpInfo(object, {
              inputs: ready.map((c) => ({
                id: c.ref.id,
                properties: Object.fromEntries(Object.entries(c.set).map(([k, v]) => [k, v == null ? '' : String(v)])),
              })),
            }),
          ),
        );
        const missing = new Set(errorsOf(res).flatMap((e) => e.context?.ids ?? []));
        for (const c of ready)
          results.push(
            missing.has(c.ref.id)
              ? { ref: c.ref, outcome: 'already_gone', reason: 'OBJECT_NOT_FOUND' }
              : { ref: c.ref, outcome: 'done' },
          );
      }
    }
    return results;
  }

  async function verifyErased(refs: RecordRef[], identities: Identity[], ctx: OperationContext): Promise<RefResult[]> {
    const live = await get(refs, ctx);
    // Contacts by email (batch read) and by phone (search), as `find` looks people up; vendor ids are refs.
    const leftovers = leftoverResults(
      refs,
      await find(
        identities.filter((i) => i.kind !== 'vendor_id'),
        ctx,
      ),
    );
    const perRef = refs.map((ref, i): RefResult => {
      const rec = live[i];
      if (
        rec &&
        !(ref.object === 'notes' && options.eraseNotes === 'redact' && rec.fields.hs_note_body === '[redacted]')
      )
        return { ref, outcome: 'failed', reason: 'record still readable' };
      if (ref.object === 'contacts' && leftovers.length > 0)
        return { ref, outcome: 'failed', reason: 'a contact with the identity remains' };
      return { ref, outcome: 'done' };
    });
    return [...perRef, ...leftovers];
  }

  async function setMarketingOptOut(refs: RecordRef[], ctx: OperationContext): Promise<RefResult[]> {
    const records = await get(refs, ctx);
    const results: RefResult[] = [];
    for (const [i, ref] of refs.entries()) {
      const email = records[i]?.canonical.email;
      if (!email) {
        results.push({
          ref,
          outcome: records[i] ? 'skipped' : 'already_gone',
          reason: records[i] ? 'no email' : undefined,
        });
        continue;
      }
      const confirmed = await optOut(email, ctx);
      results.push(
        confirmed
          ? { ref, outcome: 'done' }
          : { ref, outcome: 'failed', reason: 'HubSpot does not report the portal-wide unsubscribe on read-back' },
      );
    }
    return results;
  }

  /** One cheap call per scope group, for `custodian doctor`: a 403 names the missing scope. */
  async function check(ctx: OperationContext): Promise<CheckResult[]> {
    const probes: [string, string, () => Promise<unknown>][] = [
      [
        'contacts read (crm.objects.contacts.read)',
        'check.contacts',
        // https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/get-crm-v3-objects-contacts
        async () =>
          withHeaders(
            await (await client()).crm.objects.basicApi.getPageWithHttpInfo('contacts', 1, undefined, ['hs_object_id']),
          ),
      ],
      [
        'notes read (crm.objects.contacts.read)',
        'check.notes',
        async () =>
          withHeaders(
            await (await client()).crm.objects.basicApi.getPageWithHttpInfo('notes', 1, undefined, ['hs_object_id']),
          ),
      ],
      [
        'companies read (crm.objects.companies.read)',
        'check.companies',
        // https://developers.hubspot.com/docs/api-reference/crm-companies-v3/basic/get-crm-v3-objects-companies
        async () =>
          withHeaders(
            await (await client()).crm.objects.basicApi.getPageWithHttpInfo('companies', 1, undefined, [
              'hs_object_id',
            ]),
          ),
      ],
      [
        'deals read (crm.objects.deals.read)',
        'check.deals',
        // https://developers.hubspot.com/docs/api-reference/crm-deals-v3/basic/get-crm-v3-objects-deals
        async () =>
          withHeaders(
            await (await client()).crm.objects.basicApi.getPageWithHttpInfo('deals', 1, undefined, ['hs_object_id']),
          ),
      ],
      [
        'opt-out (communication_preferences.read_write)',
        'check.subscriptions',
        // https://developers.hubspot.com/docs/reference/api/marketing/subscriptions-preferences/v3 (GET /communication-preferences/v3/definitions)
        async () => withHeaders(await (await client()).communicationPreferences.definitionApi.getPageWithHttpInfo()),
      ],
    ];
    const out: CheckResult[] = [];
    for (const [name, op, fn] of probes) {
      try {
        await call(ctx, op, fn);
        out.push({ check: name, ok: true, message: 'ok' });
      } catch (err) {
        out.push({ check: name, ok: false, message: err instanceof Error ? err.message : String(err) });
      }
    }
    out.push(await checkTimeZone(ctx));
    return out;
  }

  /** The daily limit resets at the portal's midnight: the configured time zone must be the portal's. */
  async function checkTimeZone(ctx: OperationContext): Promise<CheckResult> {
    const name = 'portal time zone (daily limit reset)';
    try {
      // https://developers.hubspot.com/docs/api-reference/account-account-information-v3/guide (GET /account-info/v3/details)
      const details = accountDetails.safeParse(
        await call(ctx, 'check.accountDetails', async () =>
          sendRaw(await client(), 'GET', '/account-info/v3/details', 'GET /account-info/v3/details', observe),
        ),
      );
      if (!details.success) return { check: name, ok: false, message: 'account details have no timeZone' };
      const portal = details.data.timeZone;
      return sameTimeZone(portal, options.portalTimeZone)
        ? { check: name, ok: true, message: `ok (${portal})` }
        : {
            check: name,
            ok: false,
            message: `the portal's time zone is ${portal} but portalTimeZone is ${options.portalTimeZone}; set portalTimeZone: ${portal} so daily-limit pauses end at the portal's midnight`,
          };
    } catch (err) {
      return { check: name, ok: false, message: err instanceof Error ? err.message : String(err) };
    }
  }

  return { read, find, get, related, erase, verifyErased, update, setMarketingOptOut, check };
}
