/** The `requests:` section of the config: exemptions, permanent erasure, approval, deletion propagation. */
import { z } from 'zod';

export const ExemptionSchema = z
  .object({
    /** Only records of this system (default: every system). */
    system: z.string().optional(),
    /** Only records of this object / stream, e.g. `Case`, `invoices`. */
    object: z.string().optional(),
    /** `keep`: the record stays whole; `redact`: the listed fields are cleared, the record stays. */
    action: z.enum(['keep', 'redact']),
    fields: z.array(z.string().min(1)).optional(),
    /** The legal reason, printed on the certificate, e.g. "tax law: invoices kept 10 years (HGB §257)". */
    reason: z.string().min(3),
  })
  .strict()
  .refine((e) => e.action !== 'redact' || (e.fields?.length ?? 0) > 0, {
    message: 'redact exemptions must list fields',
    path: ['fields'],
  });

export const RequestsConfigSchema = z
  .object({
    /** Erase for good: empty recycle bins / use the vendor's permanent delete. */
    permanent: z.boolean().default(true),
    /** Requests opened by Custodian itself (propagated deletions) wait for `requests approve`. */
    approval: z.enum(['never', 'propagated', 'always']).default('propagated'),
    jurisdiction: z.enum(['gdpr', 'ccpa', 'pipl']).default('gdpr'),
    exemptions: z.array(ExemptionSchema).default([]),
    /** Refs handed to one connector call; progress is stored between chunks. */
    chunkSize: z.number().int().min(1).max(10_000).default(500),
    /**
     * Chunks of one system executed at once. The runtime's rate limiter still paces every vendor call;
     * this only keeps a one-record-per-call endpoint (HubSpot GDPR delete) from waiting on round trips
     * instead of on the rate limit.
     */
    concurrency: z.number().int().min(1).max(32).default(4),
  })
  .strict();

export type RequestsConfig = z.output<typeof RequestsConfigSchema>;
export type Exemption = z.output<typeof ExemptionSchema>;
