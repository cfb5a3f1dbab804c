import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConnectorError, CustodianError, ERROR_CODES, formatError } from '../src/errors.js';

const docs = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Set([...docs.matchAll(/^## (CUSTODIAN_ERR_[A-Z_]+)/gm)].map((m) => m[1]));

describe('error registry', () => {
  it('documents every code in docs/errors.md', () => {
    const missing = Object.keys(ERROR_CODES).filter((c) => !documented.has(c));
    expect(missing).toEqual([]);
  });

  it('has no documented code that the registry lacks', () => {
    const stale = [...documented].filter((c) => !(c in ERROR_CODES));
    expect(stale).toEqual([]);
  });

  it('carries code, hint, details and cause', () => {
    const cause = new Error('boom');
    const err = new CustodianError('CUSTODIAN_ERR_CONFIG_INVALID', 'systems.0.connector: required', {
      cause,
      details: { path: 'systems.0.connector' },
    });
    expect(err.code).toBe('CUSTODIAN_ERR_CONFIG_INVALID');
    expect(err.cause).toBe(cause);
    expect(err.hint).toMatch(/config/);
    expect(formatError(err)).toContain('CUSTODIAN_ERR_CONFIG_INVALID: systems.0.connector: required');
  });

  it('maps connector failure kinds to codes and names system and operation', () => {
    const err = new ConnectorError('daily limit', {
      system: 'sf',
      operation: 'read',
      kind: 'quota_exhausted',
      resumeAt: new Date('2026-01-02T00:00:00Z'),
    });
    expect(err.code).toBe('CUSTODIAN_ERR_CONNECTOR_QUOTA_EXHAUSTED');
    expect(err.message).toBe('[sf] read: daily limit');
    expect(err.details).toMatchObject({ system: 'sf', operation: 'read', kind: 'quota_exhausted' });
  });
});
