/**
 * The OAuth 2.0 token endpoint (`POST /services/oauth2/token`, form-encoded) with the three server grants:
 * refresh token, client credentials and JWT bearer. Answers carry `access_token`, `instance_url`, `id`,
 * `token_type`, `issued_at`, `scope` and (when a client secret is involved) `signature`, the Base64
 * HMAC-SHA256 of `id + issued_at` keyed by the client secret; failures are 400 `{ error, error_description }`.
 * https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
 * https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_client_credentials_flow.htm
 * https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm
 */
import { createHmac, createVerify, randomBytes } from 'node:crypto';
import type { SandboxRequest, SandboxResponse } from '../kit/types.js';

export interface OAuthClient {
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  /** PEM public key of the connected app's certificate; when set, JWT assertions must be signed with it. */
  jwtPublicKey?: string;
}

export const ORG_ID = '00D000000000001EAA';
export const USER_ID = '005000000000001AAA';

const fail = (error: string, description: string): SandboxResponse => ({
  status: 400,
  body: { error, error_description: description },
});

/** Check a JWT bearer assertion (iss = client id, a subject, a Salesforce audience, not expired). */
function checkAssertion(assertion: string, client: OAuthClient, nowMs: number): SandboxResponse | null {
  const parts = assertion.split('.');
  if (parts.length !== 3) return fail('invalid_grant', 'invalid assertion');
  let claims: { iss?: string; sub?: string; aud?: string; exp?: number };
  try {
    claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8'));
  } catch {
    return fail('invalid_grant', 'invalid assertion');
  }
  if (client.clientId && claims.iss !== client.clientId) return fail('invalid_client_id', 'client identifier invalid');
  if (!claims.sub) return fail('invalid_grant', 'invalid assertion');
  if (typeof claims.aud !== 'string' || !/^https?:\/\//.test(claims.aud))
    return fail('invalid_grant', 'audience is invalid');
  if (typeof claims.exp !== 'number' || claims.exp * 1000 < nowMs) return fail('invalid_grant', 'expired assertion');
  if (client.jwtPublicKey) {
    const ok = createVerify('RSA-SHA256')
      .update(`${parts[0]}.${parts[1]}`)
      .verify(client.jwtPublicKey, Buffer.from(parts[2] as string, 'base64url'));
    if (!ok) return fail('invalid_grant', 'invalid signature');
  }
  return null;
}

/** Handle a token request; `issue` records a new access token and returns it. */
export function tokenEndpoint(
  req: SandboxRequest,
  client: OAuthClient,
  issue: () => string,
  nowMs: number,
): SandboxResponse {
  const form = (typeof req.body === 'object' && req.body !== null ? req.body : {}) as Record<string, string>;
  const param = (k: string): string | undefined => form[k] ?? req.query.get(k) ?? undefined;
  const grant = param('grant_type');
  let signed = false;
  if (grant === 'refresh_token' || grant === 'client_credentials') {
    if (client.clientId && param('client_id') !== client.clientId)
      return fail('invalid_client_id', 'client identifier invalid');
    if (client.clientSecret && param('client_secret') !== client.clientSecret)
      return fail('invalid_client', 'invalid client credentials');
    if (
      grant === 'refresh_token' &&
      (!param('refresh_token') || (client.refreshToken && param('refresh_token') !== client.refreshToken))
    )
      return fail('invalid_grant', 'expired access/refresh token');
    signed = Boolean(client.clientSecret);
  } else if (grant === 'urn:ietf:params:oauth:grant-type:jwt-bearer') {
    const problem = checkAssertion(param('assertion') ?? '', client, nowMs);
    if (problem) return problem;
  } else {
    return fail('unsupported_grant_type', 'grant type not supported');
  }
  // Behind a reverse proxy (the testkit's fault proxy) the org's URL is the proxy's.
  const forwarded = req.headers['x-forwarded-host'];
  const instanceUrl = `http://${(Array.isArray(forwarded) ? forwarded[0] : forwarded) ?? req.headers.host ?? '127.0.0.1'}`;
  const id = `${instanceUrl}/id/${ORG_ID}/${USER_ID}`;
  const issuedAt = String(nowMs);
  const body: Record<string, string> = {
    access_token: issue(),
    instance_url: instanceUrl,
    id,
    token_type: 'Bearer',
    issued_at: issuedAt,
    scope: 'api refresh_token',
  };
  if (signed && client.clientSecret)
    body.signature = createHmac('sha256', client.clientSecret)
      .update(id + issuedAt)
      .digest('base64');
  return { status: 200, body };
}

/** Salesforce access tokens look like `{org id}!{opaque}`. */
export function newAccessToken(): string {
  return `${ORG_ID.slice(0, 15)}!${randomBytes(30).toString('base64url')}`;
}
