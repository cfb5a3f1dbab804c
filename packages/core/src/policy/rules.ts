/**
 * The built-in compliance rules. A rule sees one record plus its context (the person's other copies from
 * the ledger, tombstones, the clock) and returns findings with masked evidence; custom rules registered
 * from code have the same shape (`defineRule`).
 */
import { z } from 'zod';
import { DETECTOR_TYPES, type DetectorType, detect, type Finding } from '../detector/detect.js';
import { maskEvidence, redactText } from '../detector/evidence.js';
import type { PolicyRecordContext } from '../sync/engine.js';
import { type CrmRecord, FIELD_CATEGORIES, type FieldCategory, type RecordRef, type StreamKind } from '../types.js';

export interface RuleFinding {
  /** The record the finding is about, when not the evaluated one (a copy elsewhere that must change). */
  ref?: RecordRef;
  field?: string | null;
  /** Masked: never the value itself. */
  evidence: string;
  /** For the redact remediation only: the text to replace and its redacted form (sent to the CRM, never stored). */
  redact?: { expected: string; replacement: string };
}

export type RuleContext = PolicyRecordContext;

export interface RuleImpl<P = unknown> {
  name: string;
  params: z.ZodType<P>;
  /** Which remediations make sense for this rule. */
  actions: readonly ('redact' | 'opt-out' | 'erase')[];
  defaultSeverity: 'low' | 'medium' | 'high' | 'critical';
  appliesTo?: (kind: StreamKind) => boolean;
  evaluate(record: CrmRecord, params: P, ctx: RuleContext): RuleFinding[];
}

export function defineRule<P>(rule: RuleImpl<P>): RuleImpl<P> {
  return rule;
}

const personOnly = (kind: StreamKind) => kind === 'person';
const DAY = 86_400_000;
const fmt = (n: number) => n.toLocaleString('en');

function populated(value: unknown): boolean {
  return value !== null && value !== undefined && !(typeof value === 'string' && value.trim() === '');
}

function categoryMap(ctx: RuleContext): Map<string, FieldCategory> {
  return new Map(ctx.stream.fields.map((f) => [f.name, f.category]));
}

export const consentRule = defineRule({
  name: 'consent',
  params: z
    .object({
      /** Purposes checked (default: the system's declared purposes). */
      purposes: z.array(z.string()).optional(),
      /** Purposes for which only consent is a valid basis (GDPR: direct marketing by e-mail). */
      requireConsentFor: z.array(z.string()).default(['marketing']),
    })
    .strict(),
  actions: [],
  defaultSeverity: 'high',
  appliesTo: personOnly,
  evaluate(record, params, ctx) {
    const purposes = (params.purposes ?? ctx.system.purposes).filter((p) => ctx.system.purposes.includes(p));
    if (purposes.length === 0) return [];
    // A stream with no consent field cannot record a basis per person: the system's declared basis applies.
    const recordsConsent = ctx.stream.fields.some((f) => f.category === 'consent');
    const basis = recordsConsent ? (record.consent?.legalBasis ?? null) : ctx.system.legalBasis;
    const consented = (record.consent?.consentedPurposes?.length ?? 0) > 0 || /consent/i.test(basis ?? '');
    const out: RuleFinding[] = [];
    for (const purpose of purposes) {
      if (params.requireConsentFor.includes(purpose)) {
        if (!consented)
          out.push({ evidence: `no consent recorded for ${purpose}${basis ? ` (basis: ${basis})` : ''}` });
      } else if (!basis && !consented) {
        out.push({ evidence: `no legal basis recorded for ${purpose}` });
      }
    }
    return out;
  },
});

export const retentionRule = defineRule({
  name: 'retention',
  params: z
    .object({
      maxInactiveDays: z.number().int().positive().default(1095),
      /** Only these objects / streams (default: every person stream). */
      objects: z.array(z.string()).optional(),
      /** Limits per lifecycle stage, e.g. { lead: 365, customer: 2555 }. */
      stages: z.record(z.string(), z.number().int().positive()).default({}),
    })
    .strict(),
  actions: ['erase'],
  defaultSeverity: 'medium',
  appliesTo: personOnly,
  evaluate(record, params, ctx) {
    if (params.objects && !params.objects.includes(record.ref.object)) return [];
    const last = record.lastActivityAt ?? record.updatedAt ?? record.createdAt;
    const at = last ? Date.parse(last) : Number.NaN;
    if (Number.isNaN(at)) return [];
    const limit = (record.lifecycleStage && params.stages[record.lifecycleStage]) || params.maxInactiveDays;
    const days = Math.floor((ctx.now.getTime() - at) / DAY);
    return days > limit
      ? [
          {
            evidence: `inactive ${fmt(days)} days (limit ${fmt(limit)}${record.lifecycleStage && params.stages[record.lifecycleStage] ? ` for ${record.lifecycleStage}` : ''})`,
          },
        ]
      : [];
  },
});

const DEFAULT_ALLOWED: Record<string, FieldCategory[]> = {
  marketing: [
    'contact.email',
    'name',
    'consent',
    'system',
    'identifier.vendor',
    'activity',
    'other',
    'contact.address',
  ],
  sales: [
    'contact.email',
    'contact.phone',
    'contact.address',
    'name',
    'consent',
    'system',
    'identifier.vendor',
    'activity',
    'other',
    'free_text',
  ],
  support: [
    'contact.email',
    'contact.phone',
    'name',
    'consent',
    'system',
    'identifier.vendor',
    'activity',
    'other',
    'free_text',
  ],
};
const SENSITIVE: FieldCategory[] = ['health', 'special_category', 'identifier.government', 'financial'];
const DETECTOR_CATEGORY: Partial<Record<DetectorType, FieldCategory>> = {
  card_number: 'financial',
  iban: 'financial',
  national_id: 'identifier.government',
  tax_id: 'identifier.government',
  passport: 'identifier.government',
  health: 'health',
  special_category: 'special_category',
};

export const minimisationRule = defineRule({
  name: 'minimisation',
  params: z
    .object({
      /** Field categories each purpose needs; a populated field outside all of the system's purposes is flagged. */
      allowed: z.record(z.string(), z.array(z.enum(FIELD_CATEGORIES))).default(DEFAULT_ALLOWED),
      sensitiveCategories: z.array(z.enum(FIELD_CATEGORIES)).default(SENSITIVE),
    })
    .strict(),
  actions: [],
  defaultSeverity: 'medium',
  evaluate(record, params, ctx) {
    const known = ctx.system.purposes.filter((p) => params.allowed[p]);
    const allowed = new Set(known.flatMap((p) => params.allowed[p]!));
    const categories = categoryMap(ctx);
    const out: RuleFinding[] = [];
    for (const [field, value] of Object.entries(record.fields)) {
      if (!populated(value)) continue;
      const category = categories.get(field);
      if (!category) continue;
      if (known.length > 0 && !allowed.has(category)) {
        out.push({ field, evidence: `field ${field} (${category}) is not needed for ${known.join(', ')}` });
      } else if (
        typeof value === 'string' &&
        value.length <= 200 &&
        (category === 'name' || category === 'other' || category === 'contact.address')
      ) {
        // A sensitive value in a field not meant for it (an id in a name field, a diagnosis in "other").
        for (const f of detect(value, { types: Object.keys(DETECTOR_CATEGORY) as DetectorType[] })) {
          const sensitive = DETECTOR_CATEGORY[f.type];
          if (sensitive && params.sensitiveCategories.includes(sensitive)) {
            out.push({
              field,
              evidence: `${sensitive} stored in ${category} field ${field}: ${maskEvidence(f, value)}`,
            });
            break;
          }
        }
      }
    }
    return out;
  },
});

const DEFAULT_FREE_TEXT_TYPES: DetectorType[] = [
  'card_number',
  'iban',
  'national_id',
  'tax_id',
  'passport',
  'health',
  'special_category',
  'credential',
  'date_of_birth',
];

export const sensitiveFreeTextRule = defineRule({
  name: 'sensitive-free-text',
  params: z
    .object({
      types: z.array(z.enum(DETECTOR_TYPES)).default(DEFAULT_FREE_TEXT_TYPES),
      minConfidence: z.number().min(0).max(1).default(0.5),
      /** Extra fields to scan besides those classified free_text. */
      fields: z.array(z.string()).default([]),
    })
    .strict(),
  actions: ['redact'],
  defaultSeverity: 'high',
  evaluate(record, params, ctx) {
    const out: RuleFinding[] = [];
    const categories = categoryMap(ctx);
    for (const [field, value] of Object.entries(record.fields)) {
      if (typeof value !== 'string' || value.length === 0) continue;
      if (categories.get(field) !== 'free_text' && !params.fields.includes(field)) continue;
      const found = detect(value, { types: params.types, minConfidence: params.minConfidence });
      if (found.length === 0) continue;
      const byType = new Map<string, Finding[]>();
      for (const f of found) byType.set(f.type, [...(byType.get(f.type) ?? []), f]);
      const replacement = redactText(value, found);
      for (const [, list] of byType) {
        out.push({
          field,
          evidence: `${maskEvidence(list[0]!, value)}${list.length > 1 ? ` (+${list.length - 1} more)` : ''}`,
          redact: { expected: value, replacement },
        });
      }
    }
    return out;
  },
});

export const optOutDriftRule = defineRule({
  name: 'opt-out-drift',
  params: z.object({}).strict(),
  actions: ['opt-out'],
  defaultSeverity: 'high',
  appliesTo: personOnly,
  evaluate(record, _params, ctx) {
    if (record.consent?.marketingOptOut === true) {
      // Whichever system syncs first, the copy that still allows marketing is flagged.
      return ctx.copies
        .filter((c) => c.kind === 'person' && c.marketingOptOut === false && !c.deletedAt)
        .map((c) => ({ ref: c.ref, evidence: `opted out of marketing in ${record.ref.system}, not here` }));
    }
    const optedOut = ctx.copies.filter((c) => c.kind === 'person' && c.marketingOptOut === true && !c.deletedAt);
    if (optedOut.length === 0) return [];
    const where = [...new Set(optedOut.map((c) => c.ref.system))].join(', ');
    return [{ evidence: `opted out of marketing in ${where}, not here` }];
  },
});

const byId = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

export const duplicateRecordRule = defineRule({
  name: 'duplicate-record',
  params: z.object({}).strict(),
  actions: [],
  defaultSeverity: 'low',
  appliesTo: personOnly,
  evaluate(record, _params, ctx) {
    const same = ctx.copies.filter((c) => c.kind === 'person' && c.ref.system === record.ref.system && !c.deletedAt);
    if (same.length === 0) return [];
    // The lowest id is the record to keep; every other one is flagged, so one person yields one violation per extra record.
    if (same.every((c) => byId(record.ref.id, c.ref.id) < 0)) return [];
    return [{ evidence: `${same.length + 1} records of one person in ${record.ref.system}` }];
  },
});

export const resurrectedSubjectRule = defineRule({
  name: 'resurrected-subject',
  params: z.object({}).strict(),
  actions: ['erase'],
  defaultSeverity: 'critical',
  appliesTo: personOnly,
  evaluate(_record, _params, ctx) {
    return ctx.tombstoned ? [{ evidence: 'a person erased earlier is back (tombstone matches)' }] : [];
  },
});

export const undeclaredCopyRule = defineRule({
  name: 'undeclared-copy',
  params: z.object({}).strict(),
  actions: ['erase'],
  defaultSeverity: 'medium',
  appliesTo: personOnly,
  evaluate(record, _params, ctx) {
    const others = ctx.copies.filter((c) => c.kind === 'person' && c.ref.system !== record.ref.system && !c.deletedAt);
    if (others.length === 0) return [];
    // The purposes this person's data serves: those of the systems holding their other copies.
    const served = new Set(others.flatMap((c) => ctx.systems.get(c.ref.system)?.purposes ?? []));
    if (served.size === 0) return [];
    const mine = ctx.system.purposes;
    if (mine.some((p) => served.has(p)) && mine.length > 0) return [];
    return [
      {
        evidence: `copy in ${record.ref.system} (purposes: ${mine.join(', ') || 'none declared'}) serves none of ${[...served].join(', ')}`,
      },
    ];
  },
});

export const BUILT_IN_RULES: RuleImpl<never>[] = [
  consentRule,
  retentionRule,
  minimisationRule,
  sensitiveFreeTextRule,
  optOutDriftRule,
  duplicateRecordRule,
  resurrectedSubjectRule,
  undeclaredCopyRule,
] as unknown as RuleImpl<never>[];
