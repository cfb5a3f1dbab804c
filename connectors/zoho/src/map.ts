/** Zoho records -> Custodian CrmRecord (canonical fields, consent, activity links). */
import type { CanonicalFields, CrmRecord, RecordRef } from '@custodian/core';
import type { ZohoRecord } from './client.js';
import { isPersonModule, MODULE_FIELDS, type ZohoModule } from './streams.js';

/** Zoho GDPR basis labels (v1 GDPR changes page; v8 strings beyond "Obtained" unverified) -> normalised. */
const BASIS: [RegExp, string][] = [
  [/^consent\s*[-–]\s*obtained$/i, 'consent'],
  [/^contract/i, 'contract'],
  [/^legal obligation/i, 'legal_obligation'],
  [/^vital interest/i, 'vital_interest'],
  [/^public interest/i, 'public_task'],
  [/^legitimate interest/i, 'legitimate_interest'],
];

export function normaliseBasis(label: unknown): string | null {
  if (typeof label !== 'string') return null;
  for (const [re, basis] of BASIS) if (re.test(label.trim())) return basis;
  return null;
}

function text(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  // Lookups (Account_Name) come as {name, id}.
  if (typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string') return (v as { name: string }).name;
  return null;
}

function lookupId(v: unknown): string | null {
  if (v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string') return (v as { id: string }).id;
  return null;
}

function lookupModule(v: unknown, fallback: string | null): string | null {
  if (!v || typeof v !== 'object') return fallback;
  const o = v as { module?: { api_name?: unknown }; $se_module?: unknown };
  if (typeof o.module?.api_name === 'string') return o.module.api_name;
  return fallback;
}

export function toCrmRecord(system: string, module: ZohoModule, raw: ZohoRecord): CrmRecord {
  const canonical: CanonicalFields = {};
  for (const field of MODULE_FIELDS[module]) if (field.canonical) canonical[field.canonical] = text(raw[field.name]);
  const ref: RecordRef = { system, object: module, id: raw.id };
  const record: CrmRecord = {
    ref,
    kind: isPersonModule(module) ? 'person' : 'activity',
    createdAt: text(raw.Created_Time),
    updatedAt: text(raw.Modified_Time),
    canonical,
    fields: raw,
  };
  if (isPersonModule(module)) {
    record.lastActivityAt = text(raw.Last_Activity_Time);
    record.lifecycleStage = text(raw.Lead_Status);
    const details = raw.Data_Processing_Basis_Details as { Data_Processing_Basis?: unknown } | null | undefined;
    record.consent = {
      marketingOptOut: raw.Email_Opt_Out === true,
      legalBasis: normaliseBasis(details?.Data_Processing_Basis),
    };
  } else {
    const links: RecordRef[] = [];
    if (module === 'Notes') {
      const id = lookupId(raw.Parent_Id);
      const mod = lookupModule(raw.Parent_Id, typeof raw.$se_module === 'string' ? raw.$se_module : null);
      if (id && mod) links.push({ system, object: mod, id });
    } else {
      const who = lookupId(raw.Who_Id);
      if (who) links.push({ system, object: 'Contacts', id: who });
      const what = lookupId(raw.What_Id);
      const whatModule = typeof raw.$se_module === 'string' ? raw.$se_module : null;
      if (what && whatModule) links.push({ system, object: whatModule, id: what });
    }
    record.links = links;
  }
  return record;
}
