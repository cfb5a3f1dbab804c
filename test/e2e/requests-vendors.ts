/**
 * The CRMs the request tests and the request benchmark run against, and what each vendor's delete calls
 * look like in the sandbox request log with the ids one call may carry (vendor-facts.md).
 */
import type { RequestLog, VendorName } from '@custodian/sandbox';

export const REQUEST_VENDORS: VendorName[] = ['hubspot', 'zoho', 'salesforce'];

export interface VendorDeleteCase {
  /** Endpoint keys of calls that delete (erase) records. */
  deletes: RegExp;
  /** Successful delete calls the vendor's batch sizes allow for these refs per object (the minimum). */
  deleteCalls(refsPerObject: Record<string, number>): number;
  /** The vendor's 5xx status in the sandbox (errorBurst). */
  serverError: number;
  /** The vendor's rate-limit status (rateLimitBurst): 429, or Salesforce's 403 for concurrent requests. */
  rateLimited: number;
}

export const VENDOR_DELETES: Record<VendorName, VendorDeleteCase> = {
  hubspot: {
    // GDPR delete takes one contact per call; batch archive (notes, and the companies and deals a synced
    // ledger links to the person) takes 100 ids.
    deletes: /^POST \/crm\/v3\/objects\/(contacts\/gdpr-delete|(notes|companies|deals)\/batch\/archive)$/,
    deleteCalls: (n) =>
      (n.contacts ?? 0) + ['notes', 'companies', 'deals'].reduce((sum, o) => sum + Math.ceil((n[o] ?? 0) / 100), 0),
    serverError: 502,
    rateLimited: 429,
  },
  zoho: {
    // Delete Records takes 100 ids per module and call.
    deletes: /^DELETE \/crm\/v8\/(Contacts|Leads|Notes|Tasks|Calls)$/,
    deleteCalls: (n) => Object.values(n).reduce((sum, k) => sum + Math.ceil(k / 100), 0),
    serverError: 500,
    rateLimited: 429,
  },
  salesforce: {
    // sObject Collections delete takes 200 ids (of any type; the request engine sends one object per chunk).
    deletes: /^DELETE .*\/composite\/sobjects$/,
    deleteCalls: (n) => Object.values(n).reduce((sum, k) => sum + Math.ceil(k / 200), 0),
    serverError: 500,
    rateLimited: 403,
  },
};

/** Successful (2xx) calls to the vendor's delete endpoints in a request log. */
export function successfulDeleteCalls(log: RequestLog, vendor: VendorName): number {
  let sum = 0;
  for (const endpoint of Object.keys(log.byEndpoint(vendor)))
    if (VENDOR_DELETES[vendor].deletes.test(endpoint))
      for (const status of [200, 204, 207]) sum += log.count({ vendor, endpoint, status });
  return sum;
}
