/**
 * Records kept because other people share them (a company or deal linked to several contacts, a note on
 * two people): erasing one person must not delete the others' data, so the person's identity leaves the
 * record instead. Values are compared in memory only: fields holding the person's email, phone or name are
 * cleared, and the person's values are cut out of free text. Nothing here is stored.
 */
import type { CountryCode } from 'libphonenumber-js';
import type { FieldClassification, RefResult } from '../contract.js';
import { identitiesOf, normaliseEmail, normalisePhone, type SubjectKeyer } from '../identity.js';
import { refKey } from '../sync/index-entry.js';
import type { CrmRecord, Identity, IdentityKind, RecordRef } from '../types.js';
import type { Item, RequestConnector, RequestEngineDeps } from './batch.js';
import { writeAfterRead } from './rectify.js';

/** The execute action for a related record kept because others share it. */
export const REDACT_SHARED = 'redact-shared';
export const SHARED_REASON = "shared with other people; the person's identity redacted";
export const REDACTED = '[redacted]';
/** Shorter values are too likely to be part of other words to cut out of free text. */
const MIN_PHRASE = 5;

/** What identifies one person while a lane runs. */
export interface PersonProfile {
  /** Subject keys of the person's emails and phones: the request's, and their records' in the ledger and live. */
  keys: Set<string>;
  /** First, last and full names as their records spell them, lower-cased. */
  names: Set<string>;
  /** Cut out of free text: emails, phones as written and in E.164, full names. */
  phrases: string[];
}

export interface ProfileInput {
  keyer: SubjectKeyer;
  identities: Identity[];
  keys: string[];
  /** The person's own records, read live before they are deleted (none once they are gone). */
  records: CrmRecord[];
  defaultCountry?: CountryCode;
}

export function personProfile(input: ProfileInput): PersonProfile {
  const keys = new Set(input.keys);
  const names = new Set<string>();
  const phrases = new Set<string>();
  const add = (id: Identity) => {
    keys.add(input.keyer.key(id));
    phrases.add(id.value);
  };
  for (const id of input.identities) if (id.kind !== 'vendor_id') add(id);
  for (const r of input.records) {
    for (const id of identitiesOf(r.canonical, input.defaultCountry)) add(id);
    for (const v of [r.canonical.email, r.canonical.phone, r.canonical.mobilePhone]) if (v) phrases.add(v.trim());
    const first = r.canonical.firstName?.trim();
    const last = r.canonical.lastName?.trim();
    for (const n of [first, last]) if (n) names.add(n.toLowerCase());
    if (first && last) {
      names.add(`${first} ${last}`.toLowerCase());
      phrases.add(`${first} ${last}`);
    }
  }
  return { keys, names, phrases: [...phrases].filter((p) => p.length >= MIN_PHRASE) };
}

type FieldKind = IdentityKind | 'name' | 'text';

function kindOf(f: FieldClassification): FieldKind | null {
  if (f.canonical === 'email' || f.canonical === 'secondaryEmail' || f.category === 'contact.email') return 'email';
  if (f.canonical === 'phone' || f.canonical === 'mobilePhone' || f.category === 'contact.phone') return 'phone';
  if (f.canonical === 'firstName' || f.canonical === 'lastName' || f.category === 'name') return 'name';
  return f.category === 'free_text' ? 'text' : null;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export interface RedactionContext {
  profile: PersonProfile;
  keyer: SubjectKeyer;
  defaultCountry?: CountryCode;
  /** Keys of the other people the record is linked to: a value they hold too stays. */
  others: Set<string>;
}

/** The fields of a record that carry the person's identity, with the values that take them out. */
export function redaction(
  record: CrmRecord,
  fields: FieldClassification[],
  ctx: RedactionContext,
): Record<string, string | null> {
  const mine = (kind: 'email' | 'phone', raw: string) => {
    const value = kind === 'email' ? normaliseEmail(raw) : normalisePhone(raw, ctx.defaultCountry);
    if (!value) return false;
    const key = ctx.keyer.key({ kind, value });
    return ctx.profile.keys.has(key) && !ctx.others.has(key);
  };
  const out: Record<string, string | null> = {};
  for (const f of fields) {
    const value = record.fields[f.name];
    const kind = kindOf(f);
    if (typeof value !== 'string' || value.trim() === '' || !kind) continue;
    if (kind === 'email' || kind === 'phone') {
      if (mine(kind, value)) out[f.name] = null;
    } else if (kind === 'name') {
      if (ctx.profile.names.has(value.trim().toLowerCase())) out[f.name] = null;
    } else {
      let text = value;
      for (const p of ctx.profile.phrases) text = text.replace(new RegExp(escapeRegExp(p), 'gi'), REDACTED);
      if (text !== value) out[f.name] = text;
    }
  }
  return out;
}

/** Keys of the people each record links to, apart from the person being erased. */
export type OthersOf = (record: CrmRecord) => Set<string>;

/** Take the person's identity out of one chunk of shared records (a retry finds nothing left to change). */
export async function redactSharedChunk(
  deps: RequestEngineDeps,
  connector: RequestConnector,
  scope: SharedScope,
  item: Item,
  refs: RecordRef[],
): Promise<RefResult[]> {
  if (!connector.has('get'))
    return refs.map((ref) => ({
      ref,
      outcome: 'failed',
      reason: 'manual step: the record cannot be read to redact it',
    }));
  return writeAfterRead(connector, refs, async (current) => {
    const others = await scope.othersOf(current);
    return (ref, record) => {
      const set = redaction(record, fieldsOf(connector, ref), contextFor(deps, scope, item, others(record)));
      if (Object.keys(set).length === 0) return { ref, outcome: 'done' };
      return { ref, set, expected: Object.fromEntries(Object.keys(set).map((f) => [f, record.fields[f]])) };
    };
  });
}

const fieldsOf = (connector: RequestConnector, ref: RecordRef) =>
  connector.streams.find((s) => s.name === ref.object)?.fields ?? [];

function contextFor(deps: RequestEngineDeps, scope: SharedScope, item: Item, others: Set<string>): RedactionContext {
  return {
    profile: scope.profiles.get(item)!,
    keyer: deps.keyer,
    others,
    ...(deps.defaultCountry ? { defaultCountry: deps.defaultCountry } : {}),
  };
}

/** Person refs a shared record links to that are not the erased person's own. */
export function otherLinks(records: (Pick<CrmRecord, 'links'> | null | undefined)[], own: Set<string>): RecordRef[] {
  const out = new Map<string, RecordRef>();
  for (const r of records) for (const l of r?.links ?? []) if (!own.has(refKey(l))) out.set(refKey(l), l);
  return [...out.values()];
}

/** The subject keys of those of `refs` the ledger holds as live (not erased), by ref. */
export async function liveKeysByRef(deps: RequestEngineDeps, refs: RecordRef[]): Promise<Map<string, string[]>> {
  const rows = refs.length > 0 ? await deps.ledger.recordsByRef(refs) : [];
  return new Map(rows.filter((r) => !r.deletedAt).map((r) => [refKey(r.ref), r.subjects.map((s) => s.key)]));
}

/** What the lanes need to redact and read back one system's shared records for the requests of a batch. */
export interface SharedScope {
  profiles: Map<Item, PersonProfile>;
  othersOf: (records: (CrmRecord | null)[]) => Promise<OthersOf>;
}

/**
 * Profiles of these requests' people in one system, read in one call before their records are deleted (a
 * lane redacts before it deletes; on a resume after the deletes only the identities and the ledger's keys
 * are left). People erased in the same batch are no one to protect: `own` holds all of their refs.
 */
export async function sharedScope(
  deps: RequestEngineDeps,
  connector: RequestConnector,
  items: Item[],
  persons: Map<Item, RecordRef[]>,
  system: string,
): Promise<SharedScope> {
  const refsOf = (item: Item) => (persons.get(item) ?? []).filter((r) => r.system === system);
  const all = [...new Map(items.flatMap(refsOf).map((r) => [refKey(r), r])).values()];
  const own = new Set(all.map(refKey));
  const [indexed, live] = await Promise.all([
    deps.ledger.recordsByRef(all),
    all.length > 0 && connector.has('get') ? connector.get(all) : Promise.resolve([]),
  ]);
  const byRef = new Map(indexed.map((r) => [refKey(r.ref), r.subjects.map((s) => s.key)]));
  const liveByRef = new Map(
    live.filter((r): r is CrmRecord => r !== null && !r.archived).map((r) => [refKey(r.ref), r]),
  );
  const profiles = new Map<Item, PersonProfile>();
  for (const item of items) {
    const refs = refsOf(item);
    profiles.set(
      item,
      personProfile({
        keyer: deps.keyer,
        identities: item.sealed.identities,
        keys: [...item.row.subjectKeys, ...refs.flatMap((r) => byRef.get(refKey(r)) ?? [])],
        records: refs.flatMap((r) => liveByRef.get(refKey(r)) ?? []),
        ...(deps.defaultCountry ? { defaultCountry: deps.defaultCountry } : {}),
      }),
    );
  }
  const othersOf = async (records: (CrmRecord | null)[]): Promise<OthersOf> => {
    const keys = await liveKeysByRef(deps, otherLinks(records, own));
    return (record) =>
      new Set((record.links ?? []).flatMap((l) => (own.has(refKey(l)) ? [] : (keys.get(refKey(l)) ?? []))));
  };
  return { profiles, othersOf };
}

/** Read shared records back: a record still holding the person's identity fails the request. */
export async function verifyShared(
  deps: RequestEngineDeps,
  connector: RequestConnector,
  scope: SharedScope,
  tasks: { item: Item; ref: RecordRef }[],
): Promise<{ item: Item; result: RefResult }[]> {
  if (tasks.length === 0 || !connector.has('get')) return [];
  const refs = [...new Map(tasks.map((t) => [refKey(t.ref), t.ref])).values()];
  const records = await connector.get(refs);
  const others = await scope.othersOf(records);
  const byRef = new Map(refs.map((r, i) => [refKey(r), records[i] ?? null]));
  return tasks.map(({ item, ref }) => {
    const record = byRef.get(refKey(ref));
    if (!record) return { item, result: { ref, outcome: 'already_gone' } };
    const left = redaction(record, fieldsOf(connector, ref), contextFor(deps, scope, item, others(record)));
    return {
      item,
      result:
        Object.keys(left).length > 0
          ? { ref, outcome: 'failed', reason: "the person's identity is still on a shared record" }
          : { ref, outcome: 'done' },
    };
  });
}

/** One entry per related record, with the links the vendor and the ledger know of together. */
export function mergeLinks(records: Pick<CrmRecord, 'ref' | 'links'>[]): { ref: RecordRef; links: RecordRef[] }[] {
  const out = new Map<string, { ref: RecordRef; links: Map<string, RecordRef> }>();
  for (const r of records) {
    const entry = out.get(refKey(r.ref)) ?? { ref: r.ref, links: new Map<string, RecordRef>() };
    for (const l of r.links ?? []) entry.links.set(refKey(l), l);
    out.set(refKey(r.ref), entry);
  }
  return [...out.values()].map((e) => ({ ref: e.ref, links: [...e.links.values()] }));
}

/**
 * Tells whether a related record is also linked to a person this batch does not erase (`own` holds the
 * batch's person refs). Links to objects that are not people (a Zoho task's account) do not count, and
 * neither does a person the ledger knows as erased: there is no one left whose data the record keeps.
 */
export async function sharedWithOthers(
  deps: RequestEngineDeps,
  connector: RequestConnector,
  records: Pick<CrmRecord, 'links'>[],
  own: Set<string>,
): Promise<(record: Pick<CrmRecord, 'links'>) => boolean> {
  const people = new Set(connector.streams.filter((s) => s.kind === 'person').map((s) => s.name));
  const othersIn = (r: Pick<CrmRecord, 'links'>) =>
    (r.links ?? []).filter((l) => people.has(l.object) && !own.has(refKey(l)));
  const others = new Map(records.flatMap(othersIn).map((l) => [refKey(l), l]));
  if (others.size === 0) return () => false;
  const gone = new Set(
    (await deps.ledger.recordsByRef([...others.values()])).filter((r) => r.deletedAt).map((r) => refKey(r.ref)),
  );
  return (r) => othersIn(r).some((l) => !gone.has(refKey(l)));
}
