/**
 * One pino logger for the whole process. Redaction paths are fixed here at start-up and never built from
 * user input (pino's advice). A log line carrying an email, a phone or a token is a bug; a test feeds
 * such values through every level and checks the output.
 */
import { pino } from 'pino';

export type Logger = pino.Logger;

/** Keys whose values are never written, wherever they appear (two levels deep plus common containers). */
const SECRET_KEYS = [
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'clientSecret',
  'client_secret',
  'password',
  'token',
  'secret',
  'apiKey',
  'authorization',
  'Authorization',
  'privateKey',
  'email',
  'phone',
  'mobilePhone',
  'firstName',
  'lastName',
  'address',
  'text',
  'body',
  'identity',
  'identities',
  'value',
  'fields',
  'canonical',
];

export const REDACT_PATHS: string[] = [
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
  ...SECRET_KEYS.map((k) => `*.*.${k}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'options.*.password',
];

const EMAIL_RE = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;
const BEARER_RE = /\b(Bearer|Zoho-oauthtoken|OAuth)\s+[A-Za-z0-9._~+/=-]{8,}/g;
const LONG_DIGITS_RE = /\+?\d[\d -]{7,}\d/g;

/** Last line of defence for free-form strings (error messages from vendors echo request values). */
export function scrubText(text: string): string {
  return text.replace(BEARER_RE, '$1 [REDACTED]').replace(EMAIL_RE, '[email]').replace(LONG_DIGITS_RE, '[number]');
}

export interface LoggerOptions {
  level?: string;
  /** Destination stream; defaults to stderr so stdout stays clean for `--json`. */
  destination?: pino.DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? process.env.CUSTODIAN_LOG_LEVEL ?? 'warn',
      base: options.base ?? {},
      redact: { paths: REDACT_PATHS, censor: '[REDACTED]' },
      serializers: {
        err: (err: unknown) => {
          const e = err as { name?: string; code?: string; message?: string; kind?: string; status?: number };
          return {
            type: e?.name,
            code: e?.code,
            kind: e?.kind,
            status: e?.status,
            message: typeof e?.message === 'string' ? scrubText(e.message) : undefined,
          };
        },
      },
      hooks: {
        // Messages are free-form: scrub them too.
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubText(a) : a)) as Parameters<typeof method>;
          return method.apply(this, scrubbed);
        },
      },
    },
    // Synchronous: the ledger's embedded database can keep the event loop busy for long stretches.
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
