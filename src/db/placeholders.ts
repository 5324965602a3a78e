// `?` placeholders work on both site databases. PostgreSQL wants `$1`, `$2`…, so each `?` outside
// string literals ('…', E'…', $tag$…$tag$), quoted identifiers ("…") and comments (--, /* */) is
// renumbered. Statements without `?` pass unchanged, so native `$1` placeholders work there too.

/** Rewrite `?` placeholders as `$n`; returns the SQL and how many placeholders it found. */
export function toPgPlaceholders(sql: string): { sql: string; count: number } {
  if (!sql.includes('?')) return { sql, count: 0 };
  let out = '';
  let count = 0;
  let i = 0;
  while (i < sql.length) {
    const ch = sql[i] as string;
    const next = sql[i + 1];
    if (ch === "'") {
      const escapes = i > 0 && /[eE]/.test(sql[i - 1] as string) && !/[A-Za-z0-9_]/.test(sql[i - 2] ?? ' ');
      const end = endOfQuoted(sql, i, "'", escapes);
      out += sql.slice(i, end);
      i = end;
    } else if (ch === '"') {
      const end = endOfQuoted(sql, i, '"', false);
      out += sql.slice(i, end);
      i = end;
    } else if (ch === '-' && next === '-') {
      const newline = sql.indexOf('\n', i);
      const end = newline === -1 ? sql.length : newline;
      out += sql.slice(i, end);
      i = end;
    } else if (ch === '/' && next === '*') {
      const end = endOfBlockComment(sql, i);
      out += sql.slice(i, end);
      i = end;
    } else if (ch === '$' && dollarTag(sql, i) !== undefined) {
      const tag = dollarTag(sql, i) as string;
      const close = sql.indexOf(tag, i + tag.length);
      const end = close === -1 ? sql.length : close + tag.length;
      out += sql.slice(i, end);
      i = end;
    } else if (ch === '?') {
      count++;
      out += `$${count}`;
      i++;
    } else {
      out += ch;
      i++;
    }
  }
  return { sql: out, count };
}

/** Index just past the quoted run starting at `start` ('' or "" inside it is an escaped quote). */
function endOfQuoted(sql: string, start: number, quote: string, backslashEscapes: boolean): number {
  let i = start + 1;
  while (i < sql.length) {
    const ch = sql[i];
    if (backslashEscapes && ch === '\\') {
      i += 2;
      continue;
    }
    if (ch === quote) {
      if (sql[i + 1] === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return sql.length;
}

/** PostgreSQL block comments nest. */
function endOfBlockComment(sql: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < sql.length) {
    if (sql[i] === '/' && sql[i + 1] === '*') {
      depth++;
      i += 2;
    } else if (sql[i] === '*' && sql[i + 1] === '/') {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else i++;
  }
  return sql.length;
}

/** The `$tag$` opening a dollar-quoted string at `start`, if there is one (`$1` is not one). */
function dollarTag(sql: string, start: number): string | undefined {
  if (start > 0 && /[A-Za-z0-9_$]/.test(sql[start - 1] as string)) return undefined;
  const match = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(start, start + 64));
  return match ? match[0] : undefined;
}
