/**
 * The COQL subset the look-alike understands: `select f1, f2 from Module [where cond] [order by f [asc|desc]]
 * [limit n [offset m]]` with `=`, `!=`, `>`, `>=`, `<`, `<=`, `in (...)`, `is null`, `and`, `or` and
 * parentheses. Lookup fields compare by their `id`. https://www.zoho.com/crm/developer/docs/api/v8/COQL-Overview.html
 */
export interface CoqlQuery {
  fields: string[];
  module: string;
  where: Cond | null;
  orderBy: { field: string; desc: boolean } | null;
  limit: number;
  offset: number;
}

export type Cond =
  | { op: 'and'; left: Cond; right: Cond }
  | { op: 'or'; left: Cond; right: Cond }
  | { op: 'cmp'; field: string; cmp: string; value: string | number | null }
  | { op: 'in'; field: string; values: (string | number)[] };

export class CoqlSyntaxError extends Error {}

function tokenize(q: string): string[] {
  const tokens: string[] = [];
  const re = /\s*('(?:\\.|[^'\\])*'|>=|<=|!=|[(),=<>]|[A-Za-z_$][\w.$]*|-?\d+(?:\.\d+)?)/y;
  let m: RegExpExecArray | null;
  let pos = 0;
  while (pos < q.length) {
    re.lastIndex = pos;
    m = re.exec(q);
    if (!m) {
      if (/^\s*$/.test(q.slice(pos))) break;
      throw new CoqlSyntaxError(`unexpected input at ${pos}`);
    }
    tokens.push(m[1] as string);
    pos = re.lastIndex;
  }
  return tokens;
}

export function parseCoql(query: string): CoqlQuery {
  const t = tokenize(query);
  let i = 0;
  const peek = () => t[i]?.toLowerCase();
  const next = () => {
    const v = t[i++];
    if (v === undefined) throw new CoqlSyntaxError('unexpected end of query');
    return v;
  };
  const expect = (word: string) => {
    if (next().toLowerCase() !== word) throw new CoqlSyntaxError(`expected ${word}`);
  };
  const value = (): string | number | null => {
    const v = next();
    if (v.startsWith("'")) return v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (/^-?\d/.test(v)) return Number(v);
    if (v.toLowerCase() === 'null') return null;
    throw new CoqlSyntaxError(`expected a value, got ${v}`);
  };
  expect('select');
  const fields: string[] = [];
  for (;;) {
    fields.push(next());
    if (peek() !== ',') break;
    i++;
  }
  expect('from');
  const module = next();
  const primary = (): Cond => {
    if (peek() === '(') {
      i++;
      const c = orExpr();
      expect(')');
      return c;
    }
    const field = next();
    const op = next().toLowerCase();
    if (op === 'in') {
      expect('(');
      const values: (string | number)[] = [];
      for (;;) {
        const v = value();
        if (v !== null) values.push(v);
        const sep = next();
        if (sep === ')') break;
        if (sep !== ',') throw new CoqlSyntaxError('expected , or )');
      }
      return { op: 'in', field, values };
    }
    if (op === 'is') {
      const not = peek() === 'not';
      if (not) i++;
      expect('null');
      return { op: 'cmp', field, cmp: not ? '!=' : '=', value: null };
    }
    if (!['=', '!=', '>', '>=', '<', '<=', 'like'].includes(op)) throw new CoqlSyntaxError(`unknown operator ${op}`);
    return { op: 'cmp', field, cmp: op, value: value() };
  };
  const andExpr = (): Cond => {
    let left = primary();
    while (peek() === 'and') {
      i++;
      left = { op: 'and', left, right: primary() };
    }
    return left;
  };
  function orExpr(): Cond {
    let left = andExpr();
    while (peek() === 'or') {
      i++;
      left = { op: 'or', left, right: andExpr() };
    }
    return left;
  }
  let where: Cond | null = null;
  if (peek() === 'where') {
    i++;
    where = orExpr();
  }
  let orderBy: CoqlQuery['orderBy'] = null;
  if (peek() === 'order') {
    i++;
    expect('by');
    const field = next();
    let desc = false;
    if (peek() === 'asc' || peek() === 'desc') desc = next().toLowerCase() === 'desc';
    orderBy = { field, desc };
  }
  let limit = 200;
  let offset = 0;
  if (peek() === 'limit') {
    i++;
    limit = Number(value());
    if (peek() === ',') {
      i++;
      offset = limit;
      limit = Number(value());
    }
  }
  if (peek() === 'offset') {
    i++;
    offset = Number(value());
  }
  if (i < t.length) throw new CoqlSyntaxError(`unexpected ${t[i]}`);
  return { fields, module, where, orderBy, limit, offset };
}

function scalar(v: unknown): string | number | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string') return (v as { id: string }).id;
  if (typeof v === 'number') return v;
  return String(v);
}

function compare(a: string | number | null, cmp: string, b: string | number | null): boolean {
  if (cmp === '=') return a === null || b === null ? a === b : String(a).toLowerCase() === String(b).toLowerCase();
  if (cmp === '!=') return a === null || b === null ? a !== b : String(a).toLowerCase() !== String(b).toLowerCase();
  if (a === null || b === null) return false;
  if (cmp === 'like')
    return new RegExp(
      `^${String(b)
        .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
        .replace(/%/g, '.*')}$`,
      'i',
    ).test(String(a));
  const ta = Date.parse(String(a));
  const tb = Date.parse(String(b));
  const [x, y] = Number.isNaN(ta) || Number.isNaN(tb) ? [a, b] : [ta, tb];
  if (cmp === '>') return x > y;
  if (cmp === '>=') return x >= y;
  if (cmp === '<') return x < y;
  return x <= y;
}

export function matches(row: Record<string, unknown>, cond: Cond | null): boolean {
  if (!cond) return true;
  if (cond.op === 'and') return matches(row, cond.left) && matches(row, cond.right);
  if (cond.op === 'or') return matches(row, cond.left) || matches(row, cond.right);
  const v = scalar(row[cond.field.replace(/\.id$/, '')]);
  if (cond.op === 'in')
    return v !== null && cond.values.some((x) => String(x).toLowerCase() === String(v).toLowerCase());
  return compare(v, cond.cmp, cond.value);
}

/** Number of conditions in the WHERE clause (Zoho allows 25). */
export function conditionCount(cond: Cond | null): number {
  if (!cond) return 0;
  if (cond.op === 'and' || cond.op === 'or') return conditionCount(cond.left) + conditionCount(cond.right);
  return 1;
}

/** Equality conditions on a field, for index lookups (`Email = 'x'` or `Email in (...)` anywhere under an `or`). */
export function equalities(cond: Cond | null, fields: string[]): string[] | null {
  if (!cond) return null;
  if (cond.op === 'or') {
    const l = equalities(cond.left, fields);
    const r = equalities(cond.right, fields);
    return l && r ? [...l, ...r] : null;
  }
  if (cond.op === 'and') return null;
  if (cond.op === 'cmp' && cond.cmp === '=' && fields.includes(cond.field) && typeof cond.value === 'string')
    return [cond.value];
  if (cond.op === 'in' && fields.includes(cond.field)) return cond.values.map(String);
  return null;
}

/** Largest value list of an `in` in the WHERE clause (Zoho allows 50). */
export function largestIn(cond: Cond | null): number {
  if (!cond) return 0;
  if (cond.op === 'and' || cond.op === 'or') return Math.max(largestIn(cond.left), largestIn(cond.right));
  return cond.op === 'in' ? cond.values.length : 0;
}
