// Parses WWW-Authenticate headers (RFC 7235): several challenges per header and several headers, quoted strings
// with escapes and commas, token68 credentials. Total: any input gives a (possibly empty) list, never a throw.

export interface Challenge {
  /** Lower-cased auth scheme: `basic`, `bearer`, … */
  scheme: string;
  /** Lower-cased parameter names; the first occurrence wins. */
  params: Record<string, string>;
  token68?: string;
}

/** Headers longer than this are cut: no legitimate challenge is anywhere near it. */
const MAX_HEADER_CHARS = 16 * 1024;
const MAX_CHALLENGES = 16;
const TCHAR = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;
const TOKEN68 = /^[A-Za-z0-9\-._~+/]+=*/;

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t';
}

export function parseChallenges(header: string | readonly string[] | undefined | null): Challenge[] {
  if (header === undefined || header === null) return [];
  const headers = typeof header === 'string' ? [header] : header;
  const out: Challenge[] = [];
  for (const h of headers) {
    if (typeof h !== 'string') continue;
    for (const c of parseHeader(h.slice(0, MAX_HEADER_CHARS))) {
      if (out.length >= MAX_CHALLENGES) return out;
      out.push(c);
    }
  }
  return out;
}

function parseHeader(s: string): Challenge[] {
  const out: Challenge[] = [];
  let current: Challenge | undefined;
  let i = 0;
  const n = s.length;

  const readToken = (): string => {
    const start = i;
    while (i < n && TCHAR.test(s[i] as string)) i++;
    return s.slice(start, i);
  };
  const skipSpace = (): void => {
    while (i < n && isSpace(s[i])) i++;
  };
  // Skip to just after the next comma that is outside a quoted string (error recovery).
  const skipToComma = (): void => {
    let quoted = false;
    while (i < n) {
      const c = s[i];
      if (quoted && c === '\\') i++;
      else if (c === '"') quoted = !quoted;
      else if (!quoted && c === ',') break;
      i++;
    }
  };
  const readValue = (): string => {
    if (s[i] === '"') {
      i++;
      let v = '';
      while (i < n && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < n) i++;
        v += s[i];
        i++;
      }
      i++; // closing quote (or past the end when unterminated)
      return v;
    }
    const start = i;
    while (i < n && s[i] !== ',' && !isSpace(s[i])) i++;
    return s.slice(start, i);
  };

  while (i < n) {
    while (i < n && (isSpace(s[i]) || s[i] === ',')) i++;
    if (i >= n) break;
    const token = readToken();
    if (!token) {
      skipToComma();
      continue;
    }
    skipSpace();
    if (s[i] === '=' && current) {
      i++;
      skipSpace();
      const value = readValue();
      const name = token.toLowerCase();
      if (!(name in current.params)) current.params[name] = value;
      skipSpace();
      if (i < n && s[i] !== ',') skipToComma();
      continue;
    }
    if (s[i] === '=') {
      // A parameter before any scheme: garbage.
      skipToComma();
      continue;
    }
    current = { scheme: token.toLowerCase(), params: Object.create(null) as Record<string, string> };
    out.push(current);
    // token68 form: `Basic dXNlcg==`, a single opaque value filling the whole item; `realm=x` is a parameter.
    const m = TOKEN68.exec(s.slice(i));
    if (m) {
      const after = s.slice(i + m[0].length).replace(/^[ \t]*/, '');
      if (after === '' || after.startsWith(',')) {
        current.token68 = m[0];
        i += m[0].length;
      }
    }
  }
  return out;
}

/** The first challenge with the given scheme. */
export function findChallenge(challenges: readonly Challenge[], scheme: string): Challenge | undefined {
  return challenges.find((c) => c.scheme === scheme);
}
