/**
 * `testConnector({...})`: one call generates the conformance suite for a connector (unstorage's
 * testDriver, made stricter). Groups the connector cannot do are skipped by capability; any other skip
 * needs a written reason, and an empty reason is an error.
 */
import { describe, expect, it } from 'vitest';
import { type ConformanceInput, GROUPS, runCheck } from './conformance.js';

export function testConnector(input: ConformanceInput): void {
  for (const [group, reason] of Object.entries(input.skip ?? {})) {
    if (!reason || reason.trim().length < 10)
      throw new Error(`testConnector: skipping "${group}" needs a written reason (at least a sentence)`);
  }
  describe(`conformance: ${input.connector.id}`, () => {
    for (const group of GROUPS) {
      const reason = input.skip?.[group];
      if (reason) {
        it(`${group} (skipped: ${reason})`, () => {
          expect(reason.length).toBeGreaterThan(0);
        });
        continue;
      }
      it(group, async () => {
        const problems = await runCheck(input, group);
        expect(problems.map((p) => p.message)).toEqual([]);
      });
    }
  });
}
