/**
 * The slice of Drive's search language (`files.list` `q`) and partial-response
 * `fields` masks the emulator understands: `name`, `mimeType` with `=`, `!=`,
 * `contains`; `trashed = true|false`; `'<id>' in parents`; `and`, `or`, `not`
 * and parentheses. Anything else is refused the way Drive refuses a bad query.
 */

export interface Searchable {
  name: string;
  mimeType: string;
  trashed: boolean;
  parents: string[];
}

export type Predicate = (file: Searchable) => boolean;

type Token = { t: 'str'; v: string } | { t: 'word'; v: string } | { t: 'op'; v: string } | { t: 'paren'; v: '(' | ')' };

function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= q.length) throw new QueryError('Unterminated string');
        const d = q[i]!;
        if (d === '\\') {
          const next = q[i + 1];
          if (next === undefined) throw new QueryError('Dangling escape');
          v += next;
          i += 2;
        } else if (d === "'") {
          i++;
          break;
        } else {
          v += d;
          i++;
        }
      }
      out.push({ t: 'str', v });
    } else if (c === '(' || c === ')') {
      out.push({ t: 'paren', v: c });
      i++;
    } else if (c === '!' && q[i + 1] === '=') {
      out.push({ t: 'op', v: '!=' });
      i += 2;
    } else if (c === '=') {
      out.push({ t: 'op', v: '=' });
      i++;
    } else if (/[A-Za-z]/.test(c)) {
      let v = '';
      while (i < q.length && /[A-Za-z0-9_]/.test(q[i]!)) v += q[i++];
      out.push({ t: 'word', v });
    } else {
      throw new QueryError(`Unexpected character ${c}`);
    }
  }
  return out;
}

export class QueryError extends Error {}

/** Compiles a `q` string into a predicate; throws QueryError when it is outside the supported slice. */
export function compileQuery(q: string, resolveId: (id: string) => string = (id) => id): Predicate {
  const tokens = tokenize(q);
  let pos = 0;
  const peek = () => tokens[pos];
  const next = () => {
    const tok = tokens[pos++];
    if (tok === undefined) throw new QueryError('Unexpected end of query');
    return tok;
  };
  const isWord = (tok: Token | undefined, word: string) => tok?.t === 'word' && tok.v.toLowerCase() === word;

  function orExpr(): Predicate {
    let left = andExpr();
    while (isWord(peek(), 'or')) {
      next();
      const l = left;
      const r = andExpr();
      left = (f) => l(f) || r(f);
    }
    return left;
  }
  function andExpr(): Predicate {
    let left = unary();
    while (isWord(peek(), 'and')) {
      next();
      const l = left;
      const r = unary();
      left = (f) => l(f) && r(f);
    }
    return left;
  }
  function unary(): Predicate {
    if (isWord(peek(), 'not')) {
      next();
      const inner = unary();
      return (f) => !inner(f);
    }
    const tok = peek();
    if (tok?.t === 'paren' && tok.v === '(') {
      next();
      const inner = orExpr();
      const close = next();
      if (close.t !== 'paren' || close.v !== ')') throw new QueryError('Expected )');
      return inner;
    }
    return term();
  }
  function term(): Predicate {
    const first = next();
    if (first.t === 'str') {
      if (!isWord(next(), 'in')) throw new QueryError('Expected in');
      if (!isWord(next(), 'parents')) throw new QueryError('Only "in parents" is supported');
      const id = resolveId(first.v);
      return (f) => f.parents.includes(id);
    }
    if (first.t !== 'word') throw new QueryError('Expected a field');
    const field = first.v;
    const op = next();
    const opText = op.t === 'op' ? op.v : op.t === 'word' && op.v === 'contains' ? 'contains' : undefined;
    if (opText === undefined) throw new QueryError('Expected an operator');
    const value = next();
    if (field === 'trashed') {
      if (value.t !== 'word' || (value.v !== 'true' && value.v !== 'false') || opText === 'contains') throw new QueryError('trashed takes = or != and a boolean');
      const want = value.v === 'true';
      return opText === '=' ? (f) => f.trashed === want : (f) => f.trashed !== want;
    }
    if (field !== 'name' && field !== 'mimeType') throw new QueryError(`Unsupported field ${field}`);
    if (value.t !== 'str') throw new QueryError('Expected a string');
    const get = (f: Searchable) => (field === 'name' ? f.name : f.mimeType);
    if (opText === '=') return (f) => get(f) === value.v;
    if (opText === '!=') return (f) => get(f) !== value.v;
    // Drive's `name contains` is a prefix match on words; a substring match is close enough here.
    return (f) => get(f).includes(value.v);
  }

  const predicate = orExpr();
  if (pos !== tokens.length) throw new QueryError('Trailing tokens');
  return predicate;
}

/** A parsed `fields` mask: each key maps to a sub-mask, or `true` for the whole value. */
export type FieldMask = Map<string, FieldMask | true>;

/** Parses `files(id,name),nextPageToken` or `storageQuota/limit`; `*` selects everything (returns undefined). */
export function parseFieldMask(fields: string): FieldMask | undefined {
  const text = fields.replace(/\s+/g, '');
  if (text === '' || text === '*') return undefined;
  let i = 0;
  function list(): FieldMask {
    const mask: FieldMask = new Map();
    for (;;) {
      item(mask);
      if (text[i] === ',') {
        i++;
        continue;
      }
      return mask;
    }
  }
  function ident(): string {
    const m = /^[A-Za-z0-9_*]+/.exec(text.slice(i));
    if (!m) throw new QueryError(`Invalid field selection at ${i}`);
    i += m[0].length;
    return m[0];
  }
  function item(into: FieldMask): void {
    const path = [ident()];
    while (text[i] === '/') {
      i++;
      path.push(ident());
    }
    let leaf: FieldMask | true = true;
    if (text[i] === '(') {
      i++;
      leaf = list();
      if (text[i] !== ')') throw new QueryError('Expected )');
      i++;
    }
    let cursor = into;
    path.forEach((key, index) => {
      if (index === path.length - 1) {
        cursor.set(key, leaf);
        return;
      }
      const existing = cursor.get(key);
      const child: FieldMask = existing instanceof Map ? existing : new Map();
      cursor.set(key, child);
      cursor = child;
    });
  }
  const mask = list();
  if (i !== text.length) throw new QueryError(`Invalid field selection at ${i}`);
  return mask;
}

/** Keeps only the masked fields of `value` (arrays are masked element by element). */
export function project(value: unknown, mask: FieldMask | true | undefined): unknown {
  if (mask === undefined || mask === true || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => project(v, mask));
  if (mask.has('*')) return value;
  const out: Record<string, unknown> = {};
  for (const [key, sub] of mask) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = project(v, sub);
  }
  return out;
}
