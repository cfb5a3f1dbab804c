import { describe, expect, it } from 'vitest';
import { Attribution, ConnectorError, createSubjectKeyer, patiently } from '../src/index.js';

const limited = () => new ConnectorError('429', { system: 'zoho-crm', operation: 'find.search', kind: 'rate_limited' });

describe('patience with rate-limit storms', () => {
  it('waits out a storm that outlasts the runtime retries, then returns the answer', async () => {
    let calls = 0;
    const answer = await patiently(async () => {
      calls++;
      if (calls < 3) throw limited();
      return 'found';
    }, [1, 1, 1]);
    expect([answer, calls]).toEqual(['found', 3]);
  });

  it('gives up after its waits (the request then parks) and never retries other failures', async () => {
    let calls = 0;
    await expect(
      patiently(async () => {
        calls++;
        throw limited();
      }, [1, 1]),
    ).rejects.toMatchObject({ code: 'CUSTODIAN_ERR_CONNECTOR_RATE_LIMITED' });
    expect(calls).toBe(3);
    calls = 0;
    const quota = new ConnectorError('daily', { system: 'hubspot', operation: 'erase', kind: 'quota_exhausted' });
    await expect(
      patiently(async () => {
        calls++;
        throw quota;
      }, [1, 1]),
    ).rejects.toBe(quota);
    expect(calls).toBe(1);
  });
});

describe('attribution of batched results to requests', () => {
  const keyer = createSubjectKeyer('attribution-test-secret-0123456789');
  const ana = { id: 'req_a', subjectKeys: [keyer.key({ kind: 'email', value: 'ana@example.test' })] };
  const ben = {
    id: 'req_b',
    subjectKeys: [
      keyer.key({ kind: 'email', value: 'ben@example.test' }),
      keyer.key({ kind: 'phone', value: '+493012345678' }),
    ],
  };

  it('gives a record to the requests whose identities it holds, by email or phone, and to no other', () => {
    const batch = new Attribution([ana, ben], keyer, 'DE');
    expect(batch.ofRecord({ canonical: { email: 'ANA@example.test' } }).map((o) => o.id)).toEqual(['req_a']);
    expect(batch.ofRecord({ canonical: { phone: '030 12345678' } }).map((o) => o.id)).toEqual(['req_b']);
    expect(batch.ofRecord({ canonical: { email: 'someone.else@example.test' } })).toEqual([]);
  });

  it('a batch of one owns everything the call returned, as an unbatched request would', () => {
    expect(new Attribution([ana], keyer).ofRecord({ canonical: { email: 'other@example.test' } })).toEqual([ana]);
  });
});
