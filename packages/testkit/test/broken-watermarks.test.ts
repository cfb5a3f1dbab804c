/**
 * The incremental and deletes groups catch broken watermarks and deletes: each flaw below is one line
 * away from the sound example connector, and fails with a message that names it.
 */
import type { Checkpoint, Page } from '@custodian/core';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/index.js';
import { broken, contactStore, storeInput } from './support/contact-store.js';

/** The example connector with every page passed through `change` (page index from 0). */
const pagesChanged = (change: (page: Page, index: number, from: Checkpoint | null) => Page) =>
  broken((ops) => ({
    ...ops,
    async *read(stream, checkpoint, ctx) {
      let i = 0;
      for await (const page of ops.read(stream, checkpoint, ctx)) yield change(page, i++, checkpoint);
    },
  }));

const messagesOf = async (connector: Parameters<typeof storeInput>[0], group: 'incremental' | 'deletes') =>
  (await runCheck(storeInput(connector), group)).map((p) => p.message);

describe('the incremental and deletes groups catch broken watermarks', () => {
  it('the sound example connector passes both', async () => {
    expect(await messagesOf(contactStore, 'incremental')).toEqual([]);
    expect(await messagesOf(contactStore, 'deletes')).toEqual([]);
  });

  it('a checkpoint that moves backwards', async () => {
    // The flaw: the third page reports the lookback start instead of what it observed.
    const backwards = pagesChanged((page, i) =>
      i === 2 ? { ...page, checkpoint: { ...page.checkpoint, updatedAfter: '2025-12-01T00:00:00.000Z' } } : page,
    );
    expect(await messagesOf(backwards, 'incremental')).toContainEqual(
      'stream contacts: the checkpoint moved backwards at page 3 ($.updatedAfter)',
    );
  });

  it('a checkpoint from the future that re-reads everything', async () => {
    // The flaw: a "clock skew guard" that restarts from scratch when the checkpoint is ahead of now.
    const restarts = broken((ops) => ({
      ...ops,
      read: (stream, checkpoint, ctx) =>
        ops.read(stream, String(checkpoint?.updatedAfter) > new Date().toISOString() ? null : checkpoint, ctx),
    }));
    expect(await messagesOf(restarts, 'incremental')).toContainEqual(
      'stream contacts: a checkpoint from the future returned 200 record(s), expected none',
    );
  });

  it('a timestamp-only watermark loses equal timestamps across a page boundary', async () => {
    // The flaw: the id tie-break is dropped, so resuming asks for strictly newer timestamps.
    const timestampOnly = pagesChanged((page) => ({ ...page, checkpoint: { ...page.checkpoint, afterId: '~' } }));
    expect(await messagesOf(timestampOnly, 'incremental')).toContainEqual(
      expect.stringMatching(
        /^stream contacts: equal timestamps across the page 1\/2 boundary lose \d+ record\(s\) on resume: use a \(timestamp, id\) watermark$/,
      ),
    );
  });

  it('tombstones dropped', async () => {
    const dropsDeletes = pagesChanged(({ deleted: _dropped, ...page }) => page);
    expect(await messagesOf(dropsDeletes, 'deletes')).toContainEqual(
      'stream contacts: an erased record was not reported as deleted by the next incremental read',
    );
  });

  it('a full-diff stream that claims a complete snapshot on every page', async () => {
    const eager = broken(
      (ops) => ({
        ...ops,
        async *read(stream, checkpoint, ctx) {
          for await (const page of ops.read(stream, checkpoint, ctx))
            yield { ...page, snapshotComplete: { since: '2026-01-01T00:00:00.000Z' } };
        },
      }),
      (streams) => streams.map((s) => ({ ...s, deletes: { kind: 'full-diff' } })),
    );
    expect(await messagesOf(eager, 'deletes')).toContainEqual(
      'stream contacts: page 1 of 5 claims a complete snapshot, so deletes would be inferred from a partial read',
    );
  });
});
