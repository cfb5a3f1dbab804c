/**
 * OAuth access tokens with one refresh at a time: concurrent callers share one token request, tokens are
 * refreshed ahead of expiry, and metadata a vendor returns only sometimes (Salesforce `instance_url`,
 * Zoho `api_domain`) is kept when a later refresh omits it.
 */
export interface FetchedToken {
  accessToken: string;
  expiresInSeconds?: number;
  extras?: Record<string, string>;
}

export interface TokenManager {
  token(signal?: AbortSignal): Promise<string>;
  extras(): Record<string, string>;
  /** Drop the cached token: the next token() refreshes (the runtime calls this on a 401). */
  invalidate(): void;
}

export function createTokenManager(input: {
  fetchToken: (signal?: AbortSignal) => Promise<FetchedToken>;
  refreshAheadMs?: number;
  now?: () => Date;
  /** A token known up front (private-app tokens, tests). */
  initial?: FetchedToken;
}): TokenManager {
  const now = input.now ?? (() => new Date());
  const ahead = input.refreshAheadMs ?? 60_000;
  let current: { token: string; expiresAt: number | null } | null = null;
  let extras: Record<string, string> = {};
  let inflight: Promise<string> | null = null;

  const store = (t: FetchedToken) => {
    current = {
      token: t.accessToken,
      expiresAt: t.expiresInSeconds ? now().getTime() + t.expiresInSeconds * 1000 : null,
    };
    extras = {
      ...extras,
      ...Object.fromEntries(Object.entries(t.extras ?? {}).filter(([, v]) => v !== undefined && v !== '')),
    };
    return t.accessToken;
  };
  if (input.initial) store(input.initial);

  return {
    token(signal) {
      if (current && (current.expiresAt === null || current.expiresAt - ahead > now().getTime()))
        return Promise.resolve(current.token);
      inflight ??= input
        .fetchToken(signal)
        .then(store)
        .finally(() => {
          inflight = null;
        });
      return inflight;
    },
    extras: () => ({ ...extras }),
    invalidate() {
      current = null;
    },
  };
}
