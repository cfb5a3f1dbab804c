/**
 * Erasing one person must not delete other people's data: a HubSpot company, deal and note linked to two
 * colleagues are kept when only one of them is erased, with that person's identity redacted from them, and
 * deleted when both are erased in one batch. Against the HubSpot look-alike, from a synced ledger.
 */
import { rmSync } from 'node:fs';
import { openContext } from '@custodian/cli';
import { type Certificate, type CrmRecord, type RecordRef, refKey } from '@custodian/core';
import { SANDBOX_SYSTEM_NAMES, type Sandbox, type SeedPerson, startSandbox } from '@custodian/sandbox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, quickstartWorkspace, type Workspace, withLedger, writeSandboxConfig } from './helpers.js';

const HUBSPOT = SANDBOX_SYSTEM_NAMES.hubspot;
/** People per company in the HubSpot seed; its first two share the first one's first note and deal. */
const COMPANY_SIZE = 4;
// Seed ids (packages/sandbox/src/hubspot/seed.ts).
const ref = (object: string, id: number): RecordRef => ({ system: HUBSPOT, object, id: String(id) });
const contactRef = (index: number) => ref('contacts', 100_000 + 2 * index);
const noteRef = (index: number) => ref('notes', 500_000_000 + 10 * index);
const dealRef = (index: number) => ref('deals', 700_000_000 + index);
const companyRef = (n: number) => ref('companies', 300_000_000 + n);

interface Pair {
  company: number;
  lead: SeedPerson;
  partner: SeedPerson;
}

let sandbox: Sandbox;
let pairs: Pair[];
let ws: Workspace;

const json = <T>(s: string): T => JSON.parse(s) as T;
type Row = { id: string; state: string; error: string | null; result: { certificate: Certificate } };

async function read(refs: RecordRef[]): Promise<(CrmRecord | null)[]> {
  const ctx = await openContext({ configPath: ws.config, env: ws.env });
  try {
    return await (await ctx.connector(HUBSPOT)).get(refs);
  } finally {
    await ctx.close();
  }
}

async function liveWhere(identity: string): Promise<string[]> {
  const res = await cli(ws, ['where', identity, '--json']);
  expect(res.code, res.stderr).toBe(0);
  return json<{ records: { system: string; object: string; id: string; deletedAt: string | null }[] }>(res.stdout)
    .records.filter((r) => r.deletedAt === null)
    .map((r) => `${r.object}:${r.id}`);
}

const fullName = (p: SeedPerson) => `${p.firstName} ${p.lastName}`;

beforeAll(async () => {
  sandbox = await startSandbox({ people: 120, seed: 8, vendors: ['hubspot'] });
  const members = [...sandbox.world.indexesIn('hubspot')];
  pairs = [];
  for (let n = 0; (n + 1) * COMPANY_SIZE <= members.length; n++) {
    const [lead, partner] = [members[n * COMPANY_SIZE]!, members[n * COMPANY_SIZE + 1]!].map((i) =>
      sandbox.world.person(i),
    ) as [SeedPerson, SeedPerson];
    const dealt = lead.lifecycleStage === 'opportunity' || lead.lifecycleStage === 'customer';
    const single = lead.duplicatedIn.length === 0 && partner.duplicatedIn.length === 0;
    if (dealt && single && (lead.notes.hubspot ?? []).length > 0 && lead.phone !== partner.phone)
      pairs.push({ company: n, lead, partner });
  }
  expect(pairs.length).toBeGreaterThanOrEqual(2);
  ws = quickstartWorkspace();
  writeSandboxConfig(ws, sandbox);
  const synced = await cli(ws, ['sync']);
  expect(synced.code, synced.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await sandbox?.stop();
  if (ws) rmSync(ws.dir, { recursive: true, force: true });
});

describe('erasure of a person whose records are shared with other people', () => {
  it('keeps the shared company, deal and note, redacts the person from them, and certifies them as kept', async () => {
    const { company, lead, partner } = pairs[0]!;
    const shared = [companyRef(company), dealRef(lead.index), noteRef(lead.index)];
    const [before] = await read([companyRef(company)]);
    expect(before?.fields.phone).toBe(lead.phone);
    expect(await liveWhere(lead.phone)).toEqual(expect.arrayContaining(shared.map((r) => `${r.object}:${r.id}`)));

    const res = await cli(ws, ['erase', lead.email, '--json']);
    expect(res.code, res.stderr + res.stdout).toBe(0);
    const row = json<Row>(res.stdout);
    expect([row.state, row.error]).toEqual(['completed', null]);

    // Kept, with the person's identity out of them; the colleague's link and data stay.
    const [co, deal, note, partnerContact, leadContact] = await read([
      ...shared,
      contactRef(partner.index),
      contactRef(lead.index),
    ]);
    expect(leadContact).toBeNull();
    for (const r of [co, deal, note]) expect(r).not.toBeNull();
    expect(co!.fields.phone ?? '').toBe('');
    expect(co!.fields.name).toBe(lead.company);
    expect(String(co!.fields.description)).not.toContain(lead.email);
    expect(String(co!.fields.description)).not.toContain(fullName(lead));
    expect(String(deal!.fields.dealname)).not.toContain(fullName(lead));
    expect(String(deal!.fields.description)).not.toContain(lead.phone);
    expect(deal!.fields.amount).not.toBeNull();
    for (const r of [co, deal, note]) expect(r!.links?.map(refKey)).toContain(refKey(contactRef(partner.index)));
    expect(partnerContact?.canonical.email).toBe(partner.email);
    expect(partnerContact?.canonical.phone).toBe(partner.phone);

    const cert = row.result.certificate;
    const hub = cert.systems.find((s) => s.system === HUBSPOT)!;
    expect(hub.shared).toBeGreaterThanOrEqual(3);
    expect([hub.failed, hub.verified]).toEqual([0, hub.found]);
    const kept = Object.fromEntries(cert.kept.map((k) => [k.object, k]));
    for (const object of ['companies', 'deals', 'notes']) {
      expect(kept[object]?.system).toBe(HUBSPOT);
      expect(kept[object]?.reason).toBe("shared with other people; the person's identity redacted");
    }

    // `where` finds no live record of the person; the colleague still owns the shared records.
    expect(await liveWhere(lead.email)).toEqual([]);
    expect(await liveWhere(lead.phone)).toEqual([]);
    expect(await liveWhere(partner.email)).toEqual(expect.arrayContaining(shared.map((r) => `${r.object}:${r.id}`)));
    // A later sync does not attach the person to the kept records again.
    expect((await cli(ws, ['sync'])).code).toBe(0);
    expect(await liveWhere(lead.email)).toEqual([]);
    expect(await liveWhere(lead.phone)).toEqual([]);

    // Nothing of the person in clear text in the ledger, the certificate or the output.
    const text = await withLedger(ws, async (l) =>
      JSON.stringify({
        requests: await l.listRequests({}),
        tasks: await l.listTasks(row.id),
        audit: await l.listAudit({ limit: 100_000 }),
      }),
    );
    for (const value of [lead.email, lead.phone, fullName(lead), lead.lastName]) {
      expect(text).not.toContain(value);
      expect(res.stdout).not.toContain(value);
      expect(res.stderr).not.toContain(value);
    }
  });

  it('erasing both people of a pair in one batch deletes their shared note and deal', async () => {
    const { company, lead, partner } = pairs[1]!;
    const res = await cli(ws, ['erase', lead.email, partner.email, '--each', '--json']);
    expect(res.code, res.stderr).toBe(0);
    const { requests } = json<{ requests: Row[] }>(res.stdout);
    expect(requests.map((r) => r.state)).toEqual(['completed', 'completed']);
    const [note, deal, co] = await read([noteRef(lead.index), dealRef(lead.index), companyRef(company)]);
    expect(note === null || note.archived).toBe(true);
    expect(deal === null || deal.archived).toBe(true);
    // The company has two more people, so it stays, without either person's phone.
    expect(co).not.toBeNull();
    expect(co!.fields.phone ?? '').toBe('');
    for (const p of [lead, partner]) expect(await liveWhere(p.email)).toEqual([]);
  });
});
