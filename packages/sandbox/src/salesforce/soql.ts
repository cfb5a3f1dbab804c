/**
 * The SOQL subset the look-alike understands (what the connector sends, plus the usual operators):
 * `SELECT f1, f2 FROM Object [WHERE cond] [ORDER BY f [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET m]`
 * with `AND`, `OR`, `NOT`, parentheses, `=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`, `LIKE`, `IN (...)`, `NOT IN (...)`,
 * and string (backslash escapes), number, boolean, `null`, date and datetime literals.
 * https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select.htm
 */

export type Literal =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'date'; value: string }
  | { kind: 'datetime'; value: number };

export type Condition =
  | { op: 'and'; left: Condition; right: Condition }
  | { op: 'or'; left: Condition; right: Condition }
  | { op: 'not'; cond: Condition }
  | { op: 'cmp'; field: string; cmp: '=' | '!=' | '<' | '<=' | '>' | '>=' | 'like'; value: Literal }
  | { op: 'in'; field: string; negate: boolean; values: Literal[] };

export interface OrderBy {
  field: string;
  desc: boolean;
  nullsLast: boolean;
}

export interface SoqlQuery {
  fields: string[];
  object: string;
  where: Condition | null;
  orderBy: OrderBy[];
  limit: number | null;
  offset: number;
}

/** Salesforce answers bad SOQL with 400 MALFORMED_QUERY and a message naming the token. */
export class SoqlSyntaxError extends Error {}

const TOKEN =
  /\s*('(?:\\.|[^'\\])*'|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})|\d{4}-\d{2}-\d{2}|>=|<=|!=|<>|[(),=<>]|-?\d+(?:\.\d+)?|[A-Za-z_][\w.]*)/y;

function tokenize(q: string): string[] {
  const tokens: string[] = [];
  let pos = 0;
  while (pos < q.length) {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(q);
    if (!m) {
      if (/^\s*$/.test(q.slice(pos))) break;
      throw new SoqlSyntaxError(`unexpected token: '${q.slice(pos).trim().split(/\s+/)[0]?.slice(0, 20) ?? ''}'`);
    }
    tokens.push(m[1] as string);
    pos = TOKEN.lastIndex;
  }
  return tokens;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', '"': '"', "'": "'", '\\': '\\' };

/** Unquote a SOQL string literal; `\%` and `\_` stay escaped for LIKE. */
function unquote(token: string): string {
  return token.slice(1, -1).replace(/\\(.)/g, (_, c: string) => {
    if (c === '%' || c === '_') return `\\${c}`;
    const v = ESCAPES[c];
    if (v === undefined)
      throw new SoqlSyntaxError(`Invalid string literal '${token.slice(0, 20)}'. Illegal escape sequence`);
    return v;
  });
}

const KEYWORDS = new Set([
  'select',
  'from',
  'where',
  'and',
  'or',
  'not',
  'in',
  'like',
  'order',
  'by',
  'limit',
  'offset',
]);

export function parseSoql(query: string): SoqlQuery {
  const t = tokenize(query);
  let i = 0;
  const peek = () => t[i]?.toLowerCase();
  const next = (): string => {
    const v = t[i++];
    if (v === undefined) throw new SoqlSyntaxError('unexpected token: <EOF>');
    return v;
  };
  const expect = (word: string) => {
    const v = next();
    if (v.toLowerCase() !== word) throw new SoqlSyntaxError(`unexpected token: '${v}'`);
  };
  const identifier = (): string => {
    const v = next();
    if (!/^[A-Za-z_][\w.]*$/.test(v) || KEYWORDS.has(v.toLowerCase()))
      throw new SoqlSyntaxError(`unexpected token: '${v}'`);
    return v;
  };
  const literal = (): Literal => {
    const v = next();
    const lower = v.toLowerCase();
    if (v.startsWith("'")) return { kind: 'string', value: unquote(v) };
    if (lower === 'null') return { kind: 'null' };
    if (lower === 'true' || lower === 'false') return { kind: 'boolean', value: lower === 'true' };
    if (/^\d{4}-\d{2}-\d{2}T/.test(v)) {
      const ms = Date.parse(v);
      if (Number.isNaN(ms)) throw new SoqlSyntaxError(`line 1: invalid datetime literal ${v}`);
      return { kind: 'datetime', value: ms };
    }
    if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return { kind: 'date', value: v };
    if (/^-?\d/.test(v)) return { kind: 'number', value: Number(v) };
    throw new SoqlSyntaxError(`unexpected token: '${v}'`);
  };

  expect('select');
  const fields: string[] = [identifier()];
  while (peek() === ',') {
    i++;
    fields.push(identifier());
  }
  expect('from');
  const object = identifier();

  const primary = (): Condition => {
    if (peek() === 'not') {
      i++;
      return { op: 'not', cond: primary() };
    }
    if (peek() === '(') {
      i++;
      const c = orExpr();
      expect(')');
      return c;
    }
    const field = identifier();
    let op = next().toLowerCase();
    let negate = false;
    if (op === 'not') {
      negate = true;
      op = next().toLowerCase();
      if (op !== 'in') throw new SoqlSyntaxError(`unexpected token: '${op}'`);
    }
    if (op === 'in') {
      expect('(');
      const values = [literal()];
      while (peek() === ',') {
        i++;
        values.push(literal());
      }
      expect(')');
      return { op: 'in', field, negate, values };
    }
    const cmp = op === '<>' ? '!=' : op;
    if (!['=', '!=', '<', '<=', '>', '>=', 'like'].includes(cmp))
      throw new SoqlSyntaxError(`unexpected token: '${op}'`);
    return { op: 'cmp', field, cmp: cmp as '=', value: literal() };
  };
  const andExpr = (): Condition => {
    let left = primary();
    while (peek() === 'and') {
      i++;
      left = { op: 'and', left, right: primary() };
    }
    return left;
  };
  function orExpr(): Condition {
    let left = andExpr();
    while (peek() === 'or') {
      i++;
      left = { op: 'or', left, right: andExpr() };
    }
    return left;
  }

  let where: Condition | null = null;
  if (peek() === 'where') {
    i++;
    where = orExpr();
  }
  const orderBy: OrderBy[] = [];
  if (peek() === 'order') {
    i++;
    expect('by');
    for (;;) {
      const field = identifier();
      let desc = false;
      if (peek() === 'asc' || peek() === 'desc') desc = next().toLowerCase() === 'desc';
      let nullsLast = desc;
      if (peek() === 'nulls') {
        i++;
        const w = next().toLowerCase();
        if (w !== 'first' && w !== 'last') throw new SoqlSyntaxError(`unexpected token: '${w}'`);
        nullsLast = w === 'last';
      }
      orderBy.push({ field, desc, nullsLast });
      if (peek() !== ',') break;
      i++;
    }
  }
  let limit: number | null = null;
  let offset = 0;
  if (peek() === 'limit') {
    i++;
    const v = next();
    if (!/^\d+$/.test(v)) throw new SoqlSyntaxError(`unexpected token: '${v}'`);
    limit = Number(v);
  }
  if (peek() === 'offset') {
    i++;
    const v = next();
    if (!/^\d+$/.test(v)) throw new SoqlSyntaxError(`unexpected token: '${v}'`);
    offset = Number(v);
  }
  if (i < t.length) throw new SoqlSyntaxError(`unexpected token: '${t[i]}'`);
  return { fields, object, where, orderBy, limit, offset };
}

/** Every field a condition names (for INVALID_FIELD checks and deciding whether a full record is needed). */
export function fieldsOf(cond: Condition | null, out: string[] = []): string[] {
  if (!cond) return out;
  if (cond.op === 'and' || cond.op === 'or') {
    fieldsOf(cond.left, out);
    fieldsOf(cond.right, out);
  } else if (cond.op === 'not') fieldsOf(cond.cond, out);
  else out.push(cond.field);
  return out;
}

/** Values of `field = x` / `field IN (...)` that every match must have, or null when the condition does not pin it. */
export function pinnedValues(cond: Condition | null, fields: string[]): string[] | null {
  if (!cond) return null;
  const wanted = fields.map((f) => f.toLowerCase());
  if (cond.op === 'or') {
    const l = pinnedValues(cond.left, fields);
    const r = pinnedValues(cond.right, fields);
    return l && r ? [...l, ...r] : null;
  }
  if (cond.op === 'and') return pinnedValues(cond.left, fields) ?? pinnedValues(cond.right, fields);
  if (cond.op === 'not' || !wanted.includes(cond.field.toLowerCase())) return null;
  if (cond.op === 'in') return cond.negate ? null : cond.values.flatMap((v) => (v.kind === 'string' ? [v.value] : []));
  return cond.cmp === '=' && cond.value.kind === 'string' ? [cond.value.value] : null;
}

/** Record ids and references compare as they are (case-sensitive); other strings ignore case. */
const isIdField = (field: string): boolean => /Id$/.test(field) || field.toLowerCase() === 'id';

/** A field value as the evaluator sees it: datetimes may be ISO strings or epoch ms. */
export type FieldValue = string | number | boolean | null | undefined;

function likeToRegExp(pattern: string): RegExp {
  let re = '';
  for (let k = 0; k < pattern.length; k++) {
    const c = pattern[k] as string;
    if (c === '\\' && k + 1 < pattern.length) re += (pattern[++k] as string).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else if (c === '%') re += '.*';
    else if (c === '_') re += '.';
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'is');
}

/** Compare a field value with a literal: <0, 0, >0, or null when they cannot be compared (null involved). */
function compare(value: FieldValue, lit: Literal, ordinal: boolean): number | null {
  if (value === null || value === undefined || lit.kind === 'null') return null;
  switch (lit.kind) {
    case 'datetime': {
      const ms = typeof value === 'number' ? value : Date.parse(String(value));
      return Number.isNaN(ms) ? null : ms - lit.value;
    }
    case 'number':
      return Number(value) - lit.value;
    case 'boolean':
      return Number(value === true || value === 'true') - Number(lit.value);
    default: {
      // SOQL string comparison is case-insensitive; record ids compare as they are.
      const a = ordinal ? String(value) : String(value).toLowerCase();
      const b = ordinal ? lit.value : lit.value.toLowerCase();
      return a < b ? -1 : a > b ? 1 : 0;
    }
  }
}

/** Evaluate a condition; `get` returns the value of a field (by its name as written in the query). */
export function matches(cond: Condition | null, get: (field: string) => FieldValue): boolean {
  if (!cond) return true;
  switch (cond.op) {
    case 'and':
      return matches(cond.left, get) && matches(cond.right, get);
    case 'or':
      return matches(cond.left, get) || matches(cond.right, get);
    case 'not':
      return !matches(cond.cond, get);
    case 'in': {
      const value = get(cond.field);
      const hit = cond.values.some((v) => compare(value, v, isIdField(cond.field)) === 0);
      return cond.negate ? !hit && value !== null && value !== undefined : hit;
    }
    default: {
      const value = get(cond.field);
      if (cond.value.kind === 'null') {
        const isNull = value === null || value === undefined;
        return cond.cmp === '=' ? isNull : cond.cmp === '!=' ? !isNull : false;
      }
      if (cond.cmp === 'like')
        return cond.value.kind === 'string' && typeof value === 'string' && likeToRegExp(cond.value.value).test(value);
      const c = compare(value, cond.value, isIdField(cond.field));
      if (c === null) return cond.cmp === '!=';
      switch (cond.cmp) {
        case '=':
          return c === 0;
        case '!=':
          return c !== 0;
        case '<':
          return c < 0;
        case '<=':
          return c <= 0;
        case '>':
          return c > 0;
        default:
          return c >= 0;
      }
    }
  }
}
