/**
 * The fixture recorder: a loopback proxy in front of a real system (the vendor's API, a sandbox org)
 * that writes every exchange as a nock definition, with personal data and secrets redacted at record
 * time, so nothing personal ever reaches the fixture file or git. Emails and phones are found by the
 * core's detector in every string; names, addresses and free text by the connector's own field
 * classification (plus the usual name keys); tokens and secrets by key; Authorization, cookies and
 * request bodies are not recorded at all. Pseudonyms are consistent within one recording (the same
 * email becomes the same placeholder everywhere) and unlinkable across recordings (a random salt).
 *
 * Why a proxy and not `nock.recorder`: the proxy records any process (the CLI, a worker, a script against
 * a sandbox account), whatever its HTTP stack, and it is the fault proxy the conformance suite already uses.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import { detect, type FieldCategory, type FieldClassification } from '@custodian/core';
import type nock from 'nock';
import { type Exchange, startFaultProxy } from './fault-proxy.js';

export interface RecordOptions {
  /** The real base URL to record from. */
  upstream: string;
  /** Where the fixture (a JSON array of nock definitions) is written on stop(). */
  file: string;
  /** The connector's field classification: values of personal fields are replaced. */
  fields?: FieldClassification[];
}

export interface Recorder {
  /** Give the connector this base URL while recording. */
  url: string;
  /** Write the fixture; returns the definitions written. */
  stop(): Promise<nock.Definition[]>;
}

const PERSONAL: ReadonlySet<FieldCategory> = new Set([
  'contact.email',
  'contact.phone',
  'contact.address',
  'name',
  'identifier.government',
  'financial',
  'health',
  'special_category',
  'free_text',
]);
// Keys ending in these hold credentials (`access_token`, `client_secret`, `X-Api-Key`); `token_type` does not.
const SECRET_KEY =
  /(token|secret|password|passwd|api[-_]?key|authorization|cookie|signature|session[-_]?id|code_verifier)$/i;
const NAME_KEY = /^(first|last|middle|given|family|full|sur|display)?[-_ ]?name$|^(firstname|lastname|fullname)$/i;
// Response headers worth replaying (content type, rate-limit and quota headers); the rest is noise or identifying.
const KEPT_HEADER =
  /^(content-type|retry-after|location|x-.*rate.*limit.*|x-.*quota.*|x-.*credits.*|x-.*remaining.*|sforce-limit-info)$/i;

export function createRedactor(fields: FieldClassification[] = [], salt: Buffer = randomBytes(16)) {
  const personalKeys = new Map(
    fields.filter((f) => PERSONAL.has(f.category)).map((f) => [f.name.toLowerCase(), f.category] as const),
  );
  const tag = (kind: string, value: string) => createHmac('sha256', salt).update(`${kind}:${value}`).digest('hex');

  const redactText = (text: string): string => {
    const findings = detect(text, { types: ['email', 'phone', 'credential'] });
    let out = text;
    for (const f of [...findings].sort((a, b) => b.start - a.start)) {
      const value = text.slice(f.start, f.end);
      const h = tag(f.type, value);
      const placeholder =
        f.type === 'email'
          ? `user-${h.slice(0, 10)}@example.invalid`
          : f.type === 'phone'
            ? `+1555${String(Number.parseInt(h.slice(0, 8), 16))
                .padStart(7, '0')
                .slice(0, 7)}`
            : '[REDACTED:credential]';
      out = `${out.slice(0, f.start)}${placeholder}${out.slice(f.end)}`;
    }
    return out;
  };

  const redactValue = (value: unknown, key = ''): unknown => {
    if (typeof value === 'string') {
      if (SECRET_KEY.test(key)) return '[REDACTED:secret]';
      const category = personalKeys.get(key.toLowerCase()) ?? (NAME_KEY.test(key) ? 'name' : undefined);
      const text = redactText(value);
      // Emails and phones keep their shape (connectors validate them); any other personal value goes whole.
      if (!category || ((category === 'contact.email' || category === 'contact.phone') && text !== value)) return text;
      return value === '' ? value : `redacted-${tag('field', value).slice(0, 8)}`;
    }
    if (Array.isArray(value)) return value.map((v) => redactValue(v, key));
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, k)]));
    return value;
  };

  const redactPath = (path: string): string => {
    const [base, query] = path.split('?', 2) as [string, string | undefined];
    if (query === undefined) return redactText(base);
    const params = new URLSearchParams(query);
    const out = new URLSearchParams();
    for (const [k, v] of params) out.append(k, redactValue(v, k) as string);
    return `${redactText(base)}?${out}`;
  };

  return { redactValue, redactText, redactPath };
}

function keptHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && KEPT_HEADER.test(k)) out[k] = String(v);
  return out;
}

export async function recordHttp(options: RecordOptions): Promise<Recorder> {
  const redactor = createRedactor(options.fields);
  const definitions: nock.Definition[] = [];
  const toDefinition = (x: Exchange): nock.Definition => {
    const text = x.body.toString('utf8');
    let response: unknown = text;
    try {
      response = text ? JSON.parse(text) : '';
    } catch {
      // Not JSON: kept as text, still redacted.
    }
    return {
      scope: x.request.upstream,
      method: x.request.method,
      path: redactor.redactPath(x.request.path),
      status: x.status,
      response: redactor.redactValue(response) as nock.ReplyBody,
      rawHeaders: keptHeaders(x.headers),
    };
  };
  const proxy = await startFaultProxy(options.upstream, { onExchange: (x) => definitions.push(toDefinition(x)) });
  return {
    url: proxy.url,
    async stop() {
      await proxy.close();
      writeFileSync(options.file, `${JSON.stringify(definitions, null, 2)}\n`);
      return definitions;
    },
  };
}
