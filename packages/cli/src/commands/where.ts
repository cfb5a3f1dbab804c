/** `custodian where <email|phone|system:object:id>`: every system and record holding this person, from the ledger. */
import { type Identity, type IndexedRecord, parseIdentity } from '@custodian/core';
import type { AppContext } from '../context.js';
import { heading, printJson, say, table } from '../output.js';

export interface WhereResult {
  subjectKeys: string[];
  records: {
    system: string;
    object: string;
    id: string;
    kind: string;
    fields: string[];
    lastSeen: string;
    deletedAt: string | null;
  }[];
  duplications: {
    source: string;
    copy: string;
    fields: string[];
    purpose: string | null;
    legalBasis: string | null;
    origin: string;
    status: string;
    firstSeen: string;
    lastSeen: string;
  }[];
}

const refText = (r: { system: string; object: string; id: string }) => `${r.system}:${r.object}:${r.id}`;

export async function locateInLedger(
  ctx: AppContext,
  identities: Identity[],
): Promise<{ keys: string[]; records: IndexedRecord[] }> {
  const ledger = await ctx.ledger();
  const keys = new Set<string>();
  for (const id of identities) {
    if (id.kind === 'vendor_id') {
      const [system, object, ...rest] = id.value.split(':');
      const rows = await ledger.recordsByRef([{ system: system!, object: object!, id: rest.join(':') }]);
      for (const row of rows) for (const s of row.subjects) keys.add(s.key);
    } else {
      keys.add(ctx.keyer().key(id));
    }
  }
  const records = keys.size > 0 ? await ledger.recordsBySubject([...keys]) : [];
  return { keys: [...keys], records };
}

export async function whereCommand(ctx: AppContext, inputs: string[], options: { json?: boolean }): Promise<number> {
  const identities = inputs.map((i) => parseIdentity(i, ctx.config.defaultCountry as never));
  const { keys, records } = await locateInLedger(ctx, identities);
  const duplications = keys.length > 0 ? await (await ctx.ledger()).duplicationsBySubject(keys) : [];
  const result: WhereResult = {
    subjectKeys: keys,
    records: records.map((r) => ({
      system: r.ref.system,
      object: r.ref.object,
      id: r.ref.id,
      kind: r.kind,
      fields: r.fieldNames,
      lastSeen: r.lastSeen,
      deletedAt: r.deletedAt,
    })),
    duplications: duplications.map((d) => ({
      source: refText(d.source),
      copy: refText(d.copy),
      fields: d.fields,
      purpose: d.purpose,
      legalBasis: d.legalBasis,
      origin: d.origin,
      status: d.status,
      firstSeen: d.firstSeen,
      lastSeen: d.lastSeen,
    })),
  };
  if (options.json) {
    printJson(result);
    return 0;
  }
  const live = result.records.filter((r) => !r.deletedAt);
  if (live.length === 0) {
    say('Not found in any synced system (the ledger knows no live record for this person).');
  } else {
    say(heading(`Found in ${new Set(live.map((r) => r.system)).size} system(s), ${live.length} record(s)`));
    say(
      table(
        ['system', 'object', 'record id', 'kind', 'fields held', 'last seen'],
        live.map((r) => [r.system, r.object, r.id, r.kind, r.fields.join(', '), r.lastSeen]),
      ),
    );
  }
  if (result.duplications.length > 0) {
    say(heading('Duplication register'));
    say(
      table(
        ['copy', 'of (source)', 'purpose', 'legal basis', 'origin', 'status', 'since'],
        result.duplications.map((d) => [d.copy, d.source, d.purpose, d.legalBasis, d.origin, d.status, d.firstSeen]),
      ),
    );
  }
  return 0;
}
