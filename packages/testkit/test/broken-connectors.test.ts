/**
 * The testkit's own tests: deliberately broken connectors must fail the named check with a message that
 * names the problem, and a sound one must pass.
 */
import { type CrmRecord, defineConnector, type OperationContext, type Page } from '@custodian/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { runCheck } from '../src/index.js';

const TOTAL = 30;
const person = (i: number, system: string): CrmRecord => ({
  ref: { system, object: 'people', id: String(i) },
  kind: 'person',
  canonical: { email: `p${i}@example.test`, lastName: `Doe${i}` },
  fields: { email: `p${i}@example.test`, last: `Doe${i}` },
  consent: { marketingOptOut: false },
});

interface Flaws {
  losePage?: boolean;
  checkpointPastObserved?: boolean;
  callPerRecord?: boolean;
  logToken?: boolean;
}

function connector(flaws: Flaws = {}) {
  return defineConnector({
    id: 'memory',
    title: 'In-memory store',
    core: '^0.1.0',
    options: z.object({ token: z.string() }).strict(),
    streams: [
      {
        name: 'people',
        kind: 'person',
        cursor: 'opaque',
        deletes: { kind: 'none', reason: 'in-memory test store' },
        fields: [
          { name: 'email', category: 'contact.email', canonical: 'email' },
          { name: 'last', category: 'name', canonical: 'lastName' },
        ],
      },
    ],
    limits: { groups: { default: { intervalMs: 1000, intervalCap: 10_000, concurrency: 10 } } },
    capabilities: ['find'],
    setup: (options) => ({
      async *read(_stream, checkpoint, ctx: OperationContext): AsyncIterable<Page> {
        // Flaw "lose page": resuming starts one page after the checkpoint (an off-by-one on resume).
        let offset = typeof checkpoint?.offset === 'number' ? checkpoint.offset + (flaws.losePage ? 10 : 0) : 0;
        while (offset < TOTAL) {
          const records: CrmRecord[] = [];
          if (flaws.callPerRecord) {
            for (let i = offset; i < Math.min(TOTAL, offset + 10); i++)
              records.push(await ctx.call('get', async () => person(i, ctx.system)));
          } else {
            records.push(
              ...(await ctx.call('list', async () =>
                Array.from({ length: Math.min(10, TOTAL - offset) }, (_, k) => person(offset + k, ctx.system)),
              )),
            );
          }
          if (flaws.logToken) ctx.log.info(`listing with token ${options.token}`);
          offset += records.length;
          const next = flaws.checkpointPastObserved ? offset + 5 : offset;
          yield { records, checkpoint: { offset: next } };
        }
      },
      async find(identities, ctx) {
        const wanted = new Set(identities.map((i) => i.value));
        return Array.from({ length: TOTAL }, (_, i) => person(i, ctx.system)).filter((p) =>
          wanted.has(p.canonical.email!),
        );
      },
    }),
  });
}

const input = (flaws: Flaws = {}) => ({
  connector: connector(flaws),
  fixture: async () => ({ options: { token: 'tok_live_AbCdEfGhIjKlMnOp' }, secrets: ['tok_live_AbCdEfGhIjKlMnOp'] }),
});

describe('the conformance checks catch broken connectors', () => {
  it('a sound connector passes read, incremental, find, budget and logging', async () => {
    for (const group of ['definition', 'read', 'incremental', 'find', 'budget', 'logging'] as const) {
      expect(await runCheck(input(), group), group).toEqual([]);
    }
  });

  it('a lost page', async () => {
    const problems = await runCheck(input({ losePage: true }), 'incremental');
    expect(problems[0]?.message).toMatch(/resuming after page 1 loses 10 record\(s\)/);
  });

  it('a checkpoint past the observed data', async () => {
    const problems = await runCheck(input({ checkpointPastObserved: true }), 'incremental');
    expect(problems[0]?.message).toMatch(/checkpoint moved past what was observed/);
  });

  it('one call per record', async () => {
    const problems = await runCheck(input({ callPerRecord: true }), 'budget');
    expect(problems[0]?.message).toMatch(
      /10\.0 vendor calls per page \(budget 3\): is something called once per record\?/,
    );
  });

  it('a token in a log line', async () => {
    const problems = await runCheck(input({ logToken: true }), 'logging');
    expect(problems[0]?.message).toMatch(/a log line contains a secret or personal value \(tok…\)/);
  });
});
