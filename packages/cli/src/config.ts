/**
 * `custodian.config.yaml`: YAML validated by zod, `${ENV_VAR}` references for secrets, and errors that
 * name every problem with its path and line. Paths in the file resolve from the file's folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { CustodianError } from '@custodian/core';
import { type Document, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';

export const LEGAL_BASES = [
  'consent',
  'contract',
  'legal_obligation',
  'vital_interest',
  'public_task',
  'legitimate_interest',
] as const;

const SystemSchema = z
  .object({
    /** The user's name for the system, used in refs and commands. */
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, - and _ only'),
    /** Installed connector id (`csv`, `hubspot`, `salesforce`, `zoho`) or any id when `module` is given. */
    connector: z.string().min(1),
    /** A custom connector: path to a module whose default export is a `defineConnector({...})`. */
    module: z.string().optional(),
    purposes: z.array(z.string().min(1)).default([]),
    legalBasis: z.enum(LEGAL_BASES).nullable().default(null),
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const ConfigSchema = z
  .object({
    version: z.literal(1).default(1),
    /** Isolates this config's data in a shared ledger (its own PostgreSQL schema). */
    tenant: z
      .string()
      .regex(/^[a-z0-9_]{1,40}$/, 'lower-case letters, digits and _ only')
      .default('default'),
    /** 0600 file holding the HMAC secret for subject keys; CUSTODIAN_SECRET overrides it. */
    secretFile: z.string().default('.custodian/secret'),
    ledger: z
      .object({
        dir: z.string().default('.custodian/ledger'),
        /** PostgreSQL instead of the embedded ledger; DATABASE_URL overrides it. */
        databaseUrl: z.string().optional(),
      })
      .strict()
      .default({ dir: '.custodian/ledger' }),
    /** Country assumed for phone numbers written without a country code. */
    defaultCountry: z
      .string()
      .regex(/^[A-Z]{2}$/, 'an ISO 3166 country code such as DE')
      .optional(),
    systems: z.array(SystemSchema).min(1, 'declare at least one system'),
    policies: z.array(z.unknown()).default([]),
    requests: z.record(z.string(), z.unknown()).default({}),
    schedules: z.array(z.unknown()).default([]),
  })
  .strict()
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.systems.forEach((s, i) => {
      if (seen.has(s.name))
        ctx.addIssue({ code: 'custom', path: ['systems', i, 'name'], message: `duplicate system name "${s.name}"` });
      seen.add(s.name);
    });
  });

export type CustodianConfig = z.output<typeof ConfigSchema>;
export type SystemConfig = CustodianConfig['systems'][number];

export interface LoadedConfig {
  path: string;
  dir: string;
  config: CustodianConfig;
  /** Line of a config path, for error messages from later stages (policies, schedules). */
  lineOf(path: (string | number)[]): number | null;
}

export interface ConfigProblem {
  path: string;
  line: number | null;
  message: string;
}

export function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === 'number' ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    '',
  );
}

export function configInvalid(file: string, problems: ConfigProblem[]): CustodianError {
  const lines = problems.map((p) => `  ${p.path || '(root)'}${p.line ? ` (line ${p.line})` : ''}: ${p.message}`);
  return new CustodianError(
    'CUSTODIAN_ERR_CONFIG_INVALID',
    `${file} has ${problems.length} problem(s):\n${lines.join('\n')}`,
    {
      details: { file, problems },
    },
  );
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replace `${VAR}` in every string; a missing variable is a problem at that path. */
function substituteEnv(
  value: unknown,
  path: (string | number)[],
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
  lineOf: LoadedConfig['lineOf'],
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_, name: string) => {
      const v = env[name];
      if (v === undefined) {
        problems.push({
          path: formatPath(path),
          line: lineOf(path),
          message: `environment variable ${name} is not set`,
        });
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, [...path, i], env, problems, lineOf));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, [...path, k], env, problems, lineOf)]),
    );
  }
  return value;
}

function lineFinder(doc: Document, counter: LineCounter): LoadedConfig['lineOf'] {
  return (path) => {
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
      if (node?.range) return counter.linePos(node.range[0]).line;
    }
    return null;
  };
}

/** Connector option keys that hold paths; relative ones resolve from the config file's folder. */
const PATH_OPTION_KEYS = new Set(['dir', 'path', 'file', 'folder']);

export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const path = resolve(file);
  if (!existsSync(path)) {
    throw new CustodianError('CUSTODIAN_ERR_CONFIG_NOT_FOUND', `No config file at ${path}`);
  }
  const counter = new LineCounter();
  const doc = parseDocument(readFileSync(path, 'utf8'), { lineCounter: counter, prettyErrors: false });
  if (doc.errors.length > 0) {
    throw configInvalid(
      path,
      doc.errors.map((e) => ({ path: '', line: e.linePos?.[0]?.line ?? null, message: `YAML syntax: ${e.code}` })),
    );
  }
  const lineOf = lineFinder(doc, counter);
  const problems: ConfigProblem[] = [];
  const raw = substituteEnv(doc.toJS() ?? {}, [], env, problems, lineOf);
  if (problems.length > 0) {
    throw new CustodianError(
      'CUSTODIAN_ERR_CONFIG_ENV_MISSING',
      `${path}: ${problems.map((p) => `${p.path} (line ${p.line ?? '?'}): ${p.message}`).join('; ')}`,
      { details: { file: path, problems } },
    );
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw configInvalid(
      path,
      parsed.error.issues.map((issue) => ({
        path: formatPath(issue.path),
        line: lineOf(issue.path as (string | number)[]),
        message: issue.message,
      })),
    );
  }
  const dir = dirname(path);
  const config = parsed.data;
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  config.secretFile = abs(config.secretFile);
  config.ledger.dir = abs(config.ledger.dir);
  for (const system of config.systems) {
    if (system.module) system.module = abs(system.module);
    for (const [key, value] of Object.entries(system.options)) {
      if (PATH_OPTION_KEYS.has(key) && typeof value === 'string') system.options[key] = abs(value);
    }
  }
  return { path, dir, config, lineOf };
}
