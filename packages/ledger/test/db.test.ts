import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it } from 'vitest';
import { arrayLiteral } from '../src/db.js';

describe('arrayLiteral (how arrays reach PGlite)', () => {
  it('round-trips quotes, backslashes, braces, commas, blanks, NULL and non-ASCII through a text[] cast', async () => {
    const db = await PGlite.create();
    const values = ['a"b', 'c\\d', '{x,y}', ' sp ', null, 'ü 名前', '', 'NULL'];
    const [row] = (await db.query<{ a: unknown[] }>('SELECT $1::text[] AS a', [arrayLiteral(values)])).rows;
    expect(row?.a).toEqual(values);
    const [typed] = (
      await db.query<{ n: number[]; b: boolean[] }>('SELECT $1::int[] AS n, $2::boolean[] AS b', [
        arrayLiteral([1, -2, null]),
        arrayLiteral([true, false, null]),
      ])
    ).rows;
    expect(typed).toEqual({ n: [1, -2, null], b: [true, false, null] });
    await db.close();
  });
});
