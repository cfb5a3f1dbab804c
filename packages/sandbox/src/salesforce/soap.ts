/**
 * The one SOAP call the connector makes: Partner API `emptyRecycleBin` (there is no REST resource for it),
 * as jsforce sends it (`conn.soap.emptyRecycleBin(ids)`: POST /services/Soap/u/{version}, session id in the
 * SessionHeader, one `<ids>` element per id) and answers it (`<emptyRecycleBinResponse><result>...`).
 * https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_emptyrecyclebin.htm
 */

export interface SoapCall {
  method: string;
  sessionId: string | null;
  ids: string[];
}

const xmlText = (s: string): string =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');

const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Read method, session id and `<ids>` from an envelope; null when it is not a SOAP envelope at all. */
export function parseSoapCall(raw: string): SoapCall | null {
  const body = /<(?:\w+:)?Body\b[^>]*>([\s\S]*)<\/(?:\w+:)?Body>/.exec(raw)?.[1];
  if (body === undefined) return null;
  const method = /<(?:\w+:)?(\w+)\b[^>]*>/.exec(body)?.[1];
  if (!method) return null;
  const session = /<(?:\w+:)?sessionId>([^<]*)<\/(?:\w+:)?sessionId>/.exec(raw)?.[1];
  const ids = [...body.matchAll(/<(?:\w+:)?ids>([^<]*)<\/(?:\w+:)?ids>/g)].map((m) => xmlText(m[1] as string).trim());
  return { method, sessionId: session ? xmlText(session) : null, ids };
}

const ENVELOPE_OPEN =
  '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">';
const ENVELOPE_CLOSE = '</soapenv:Envelope>';
export const SOAP_CONTENT_TYPE = 'text/xml;charset=UTF-8';

export interface EmptyRecycleBinResult {
  id: string;
  success: boolean;
  error?: { statusCode: string; message: string };
}

/** `emptyRecycleBinResponse` with one `<result>` per id, in request order, and the LimitInfoHeader. */
export function emptyRecycleBinResponse(results: EmptyRecycleBinResult[], usage: { used: number; limit: number }) {
  const items = results
    .map(
      (r) =>
        `<result>${r.error ? `<errors><message>${escapeXml(r.error.message)}</message><statusCode>${r.error.statusCode}</statusCode></errors>` : ''}<id>${escapeXml(r.id)}</id><success>${r.success}</success></result>`,
    )
    .join('');
  return `${ENVELOPE_OPEN}<soapenv:Header><LimitInfoHeader><limitInfo><current>${usage.used}</current><limit>${usage.limit}</limit><type>API REQUESTS</type></limitInfo></LimitInfoHeader></soapenv:Header><soapenv:Body><emptyRecycleBinResponse>${items}</emptyRecycleBinResponse></soapenv:Body>${ENVELOPE_CLOSE}`;
}

/** A SOAP fault: HTTP 500, `faultcode` `sf:CODE` (jsforce reads `faultcode` as the error code). */
export function soapFault(code: string, message: string) {
  return {
    status: 500,
    headers: { 'content-type': SOAP_CONTENT_TYPE },
    body: `${ENVELOPE_OPEN}<soapenv:Body><soapenv:Fault><faultcode>sf:${code}</faultcode><faultstring>${escapeXml(`${code}: ${message}`)}</faultstring></soapenv:Fault></soapenv:Body>${ENVELOPE_CLOSE}`,
  };
}
