/**
 * Zoho data centres: the accounts server issues tokens that are valid only on the same centre's API domain.
 * Source: https://www.zoho.com/crm/developer/docs/api/v8/multi-dc.html and
 * https://www.bigin.com/developer/docs/apis/multi-dc.html (CA, SA).
 */
export const DATA_CENTRES = {
  us: { accountsUrl: 'https://accounts.zoho.com', apiDomain: 'https://www.zohoapis.com' },
  eu: { accountsUrl: 'https://accounts.zoho.eu', apiDomain: 'https://www.zohoapis.eu' },
  in: { accountsUrl: 'https://accounts.zoho.in', apiDomain: 'https://www.zohoapis.in' },
  au: { accountsUrl: 'https://accounts.zoho.com.au', apiDomain: 'https://www.zohoapis.com.au' },
  cn: { accountsUrl: 'https://accounts.zoho.com.cn', apiDomain: 'https://www.zohoapis.com.cn' },
  jp: { accountsUrl: 'https://accounts.zoho.jp', apiDomain: 'https://www.zohoapis.jp' },
  ca: { accountsUrl: 'https://accounts.zohocloud.ca', apiDomain: 'https://www.zohoapis.ca' },
  sa: { accountsUrl: 'https://accounts.zoho.sa', apiDomain: 'https://www.zohoapis.sa' },
} as const satisfies Record<string, { accountsUrl: string; apiDomain: string }>;

export type DataCentre = keyof typeof DATA_CENTRES;
export const DATA_CENTRE_IDS = Object.keys(DATA_CENTRES) as [DataCentre, ...DataCentre[]];

/**
 * Concurrent calls per org and app by edition (v8 API limits page, quoted via secondary sources):
 * https://www.zoho.com/crm/developer/docs/api/v8/api-limits.html
 */
export const EDITION_CONCURRENCY = {
  free: 5,
  standard: 10,
  professional: 15,
  enterprise: 20,
  ultimate: 25,
} as const;
export type Edition = keyof typeof EDITION_CONCURRENCY;
/** "Heavy" calls (COQL, sorted Get Records, bulk writes) share a sub-concurrency of 10. */
export const HEAVY_SUB_CONCURRENCY = 10;
