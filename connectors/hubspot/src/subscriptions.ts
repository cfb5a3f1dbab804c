/**
 * Marketing opt-out through HubSpot's communication preferences: each subscription the person holds is
 * unsubscribed with the configured legal basis (v3, the SDK's status API), then the person is
 * unsubscribed from all email portal-wide (v4 `unsubscribe-all`, which the SDK 13.5 does not wrap), and
 * the portal-wide status is read back: the opt-out counts as done only when HubSpot reports it.
 */
import { HttpError, type OperationContext } from '@custodian/core';
import type { Client } from '@hubspot/api-client';
import { z } from 'zod';

export interface OptOutOptions {
  subscriptionIds?: string[];
  legalBasis: string;
  legalBasisExplanation: string;
}

/** The part of a fetch answer the quota tracker reads (the SDK's node-fetch Response or the global one). */
export interface AnswerWithHeaders {
  headers: { get(name: string): string | null };
}

/** How the operations reach HubSpot: the guarded call, and the rate-limit header readers for both kinds of answer. */
export interface VendorIo {
  call<T>(ctx: OperationContext, operation: string, fn: () => Promise<T>): Promise<T>;
  observe(res: AnswerWithHeaders): void;
  withHeaders<T>(info: { headers: Record<string, string>; data: T }): T;
}

const wideStatuses = z.looseObject({
  results: z.array(z.looseObject({ status: z.string(), wideStatusType: z.string().optional() })),
});

/** Send a request the SDK has no method for through the same client (auth, base path); non-2xx throws HttpError. */
export async function sendRaw(
  client: Client,
  method: 'GET' | 'POST',
  path: string,
  label: string,
  observe: (res: AnswerWithHeaders) => void,
  body?: unknown,
): Promise<unknown> {
  const res = await client.apiRequest({ method, path, ...(body === undefined ? {} : { body }) });
  observe(res);
  const parsed = await res.json().catch(() => null);
  // The label, not the path: the path carries the email address.
  if (!res.ok) throw new HttpError(res.status, label, new Headers(Object.fromEntries(res.headers.entries())), parsed);
  return parsed;
}

export function createOptOut(client: () => Promise<Client>, options: OptOutOptions, io: VendorIo) {
  const { call, observe, withHeaders } = io;
  /** Unsubscribe one email address; true when HubSpot reads back a portal-wide UNSUBSCRIBED status. */
  return async function optOut(email: string, ctx: OperationContext): Promise<boolean> {
    // https://developers.hubspot.com/docs/reference/api/marketing/subscriptions-preferences/v3 (GET /communication-preferences/v3/status/email/{emailAddress})
    const status = await call(ctx, 'communicationPreferences.status', async () =>
      withHeaders(await (await client()).communicationPreferences.statusApi.getEmailStatusWithHttpInfo(email)),
    );
    const wanted = options.subscriptionIds?.length
      ? options.subscriptionIds
      : status.subscriptionStatuses.filter((s) => String(s.status).toUpperCase() === 'SUBSCRIBED').map((s) => s.id);
    for (const subscriptionId of wanted) {
      // https://developers.hubspot.com/docs/reference/api/marketing/subscriptions-preferences/v3 (POST /communication-preferences/v3/unsubscribe)
      await call(ctx, 'communicationPreferences.unsubscribe', async () =>
        withHeaders(
          await (await client()).communicationPreferences.statusApi.unsubscribeWithHttpInfo({
            emailAddress: email,
            subscriptionId,
            legalBasis: options.legalBasis as never,
            legalBasisExplanation: options.legalBasisExplanation,
          }),
        ),
      );
    }
    const wide = `/communication-preferences/v4/statuses/${encodeURIComponent(email)}/unsubscribe-all?channel=EMAIL`;
    // https://developers.hubspot.com/docs/api-reference/communication-preferences-subscriptions-v4 (POST /communication-preferences/v4/statuses/{subscriberIdString}/unsubscribe-all)
    await call(ctx, 'communicationPreferences.unsubscribeAll', async () =>
      sendRaw(
        await client(),
        'POST',
        wide,
        'POST /communication-preferences/v4/statuses/{email}/unsubscribe-all',
        observe,
      ),
    );
    // https://developers.hubspot.com/docs/api-reference/communication-preferences-subscriptions-v4 (GET …/unsubscribe-all: empty results unless opted out of everything)
    const readBack = await call(ctx, 'communicationPreferences.readUnsubscribeAll', async () =>
      sendRaw(
        await client(),
        'GET',
        wide,
        'GET /communication-preferences/v4/statuses/{email}/unsubscribe-all',
        observe,
      ),
    );
    const parsed = wideStatuses.safeParse(readBack);
    return parsed.success && parsed.data.results.some((r) => r.status === 'UNSUBSCRIBED');
  };
}
