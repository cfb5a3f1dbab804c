/**
 * HubSpot's rate-limit headers, read off every answer, fed to the runtime's quota guard.
 * https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines
 * `X-HubSpot-RateLimit-Daily` / `-Daily-Remaining` (absent on some OAuth calls), `-Max`, `-Remaining`,
 * `-Interval-Milliseconds` (the burst window). The daily limit resets at midnight in the portal's time zone.
 */
import { type OperationContext, timeZoneOffsetMs } from '@custodian/core';

export interface RateLimitSnapshot {
  daily?: number;
  dailyRemaining?: number;
  /** Burst window: at most `max` calls per `intervalMs`, `remaining` left in it. */
  max?: number;
  remaining?: number;
  intervalMs?: number;
}

const HEADERS = {
  daily: 'x-hubspot-ratelimit-daily',
  dailyRemaining: 'x-hubspot-ratelimit-daily-remaining',
  max: 'x-hubspot-ratelimit-max',
  remaining: 'x-hubspot-ratelimit-remaining',
  intervalMs: 'x-hubspot-ratelimit-interval-milliseconds',
} as const;

/** The rate-limit headers present on one answer (`header` looks a name up case-insensitively). */
export function readRateLimitHeaders(header: (name: string) => string | null | undefined): RateLimitSnapshot {
  const out: RateLimitSnapshot = {};
  for (const [key, name] of Object.entries(HEADERS) as [keyof RateLimitSnapshot, string][]) {
    const value = Number(header(name) ?? Number.NaN);
    if (Number.isFinite(value) && value >= 0) out[key] = value;
  }
  return out;
}

/** Is `zone` an IANA time zone this runtime knows? */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Two names of one zone (HubSpot answers `US/Eastern` for `America/New_York`) compare equal. */
export function sameTimeZone(a: string, b: string): boolean {
  const canonical = (zone: string) =>
    isTimeZone(zone) ? new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone : zone;
  return canonical(a) === canonical(b);
}

/** Case-insensitive lookup in a plain header record (the SDK's HttpInfo and ApiException headers). */
export const headerIn =
  (headers: Record<string, string> | undefined) =>
  (name: string): string | undefined => {
    const key = Object.keys(headers ?? {}).find((k) => k.toLowerCase() === name);
    return key === undefined ? undefined : headers?.[key];
  };

/** The next midnight on the wall clock of `timeZone` after `now` (daylight-saving changes included). */
export function nextMidnightIn(timeZone: string, now: Date): Date {
  const local = new Date(now.getTime() + timeZoneOffsetMs(timeZone, now.getTime()));
  const midnightWall = Date.UTC(local.getUTCFullYear(), local.getUTCMonth(), local.getUTCDate() + 1);
  // The offset at midnight may differ from now's (DST); a second pass settles it.
  const guess = midnightWall - timeZoneOffsetMs(timeZone, midnightWall);
  return new Date(midnightWall - timeZoneOffsetMs(timeZone, guess));
}

/** What the classifier needs to describe a daily-limit 429: the usage last seen and when the portal resets. */
export interface DailyLimitContext {
  resumeAt: Date;
  timeZone: string;
  used?: number;
  limit?: number;
}
const dailyContext = new WeakMap<object, DailyLimitContext>();
export const dailyLimitContextOf = (err: unknown): DailyLimitContext | undefined =>
  typeof err === 'object' && err !== null ? dailyContext.get(err) : undefined;

/** Per connector: the last snapshot, reported to the runtime after every call. */
export function createQuotaTracker(timeZone: string, declaredBurst: number) {
  let last: RateLimitSnapshot = {};
  let warnedBurst = false;
  const usage = () =>
    last.daily !== undefined && last.dailyRemaining !== undefined
      ? { used: Math.max(0, last.daily - last.dailyRemaining), limit: last.daily }
      : undefined;
  return {
    observe(snapshot: RateLimitSnapshot): void {
      if (Object.keys(snapshot).length > 0) last = { ...last, ...snapshot };
    },
    last: (): RateLimitSnapshot => last,
    /** Feed the runtime's stop-share guard with the daily usage HubSpot reported. */
    report(ctx: OperationContext): void {
      // A marketplace app gets 110 per 10 s whatever the tier: the declared limits would then draw 429s.
      if (!warnedBurst && last.max !== undefined && last.intervalMs === 10_000 && last.max < declaredBurst) {
        warnedBurst = true;
        ctx.log.warn(
          { reportedMax: last.max, declaredMax: declaredBurst },
          'HubSpot reports a lower burst limit than the configured tier declares; set `tier` to match',
        );
      }
      const u = usage();
      if (u && u.limit > 0) ctx.reportQuota({ ...u, resetAt: nextMidnightIn(timeZone, ctx.now()) });
    },
    /** Attach the usage and the portal's reset time to a failure, for the classifier. */
    annotate(err: unknown, now: Date): void {
      if (typeof err !== 'object' || err === null) return;
      dailyContext.set(err, { resumeAt: nextMidnightIn(timeZone, now), timeZone, ...usage() });
    },
  };
}
export type QuotaTracker = ReturnType<typeof createQuotaTracker>;
