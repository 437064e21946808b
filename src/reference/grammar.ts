// The pieces of the distribution reference grammar (distribution/reference regexp.go, go-digest), each checked by
// a linear scanner that says what is wrong. Scanners instead of regexes: no backtracking on hostile input, and
// the error can name the offending part. Each check returns null when the piece is valid, else a reason.

/** Longest tag: `[\w][\w.-]{0,127}`. */
export const MAX_TAG_LENGTH = 128;

/** Hex length of each digest algorithm we accept; the OCI image spec registers exactly these two. */
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = { sha256: 64, sha512: 128 };

/** Below this the reference grammar does not even call it a digest (`[[:xdigit:]]{32,}`). */
const MIN_DIGEST_HEX_LENGTH = 32;

export type DigestProblem = { code: 'InvalidDigest' | 'UnsupportedDigestAlgorithm'; reason: string };

/** Quote a piece of user input for a message: escaped, and shortened (saying its length) when long. */
export function quote(text: string, options: { max?: number; sayLength?: boolean } = {}): string {
  const { max = 80, sayLength = true } = options;
  if (text.length <= max) return JSON.stringify(text);
  const shortened = JSON.stringify(`${text.slice(0, max - 16)}…${text.slice(-8)}`);
  return sayLength ? `${shortened} (${text.length} characters)` : shortened;
}

const UNPRINTABLE = /[\p{C}\p{Z}]/u;

/** Name a single character for a message: `":"`, `a space`, `a newline`, `U+0000`, `U+00E9 "é"`. */
export function describeChar(ch: string): string {
  const named: Record<string, string> = { ' ': 'a space', '\t': 'a tab', '\n': 'a newline', '\r': 'a carriage return' };
  const name = named[ch];
  if (name !== undefined) return name;
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20 || cp === 0x7f || cp > 0x7e) {
    const hex = `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
    return cp > 0x9f && !UNPRINTABLE.test(ch) ? `${hex} ${JSON.stringify(ch)}` : hex;
  }
  return JSON.stringify(ch);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isLower(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}

function isUpper(c: number): boolean {
  return c >= 0x41 && c <= 0x5a;
}

function isLowerAlnum(c: number): boolean {
  return isLower(c) || isDigit(c);
}

function isAlnum(c: number): boolean {
  return isLower(c) || isUpper(c) || isDigit(c);
}

function isHex(c: number): boolean {
  return isDigit(c) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** `\w` in RE2 is ASCII only. */
function isWord(c: number): boolean {
  return isAlnum(c) || c === 0x5f;
}

function isPathSeparatorChar(c: number): boolean {
  return c === 0x2e || c === 0x5f || c === 0x2d; // . _ -
}

export function hasUppercase(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (isUpper(text.charCodeAt(i))) return true;
  return false;
}

/**
 * One path component: `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`. Runs of separator characters between
 * alphanumeric runs are unambiguous, so each run is checked whole.
 */
function checkPathComponent(component: string): string | null {
  const n = component.length;
  let i = 0;
  for (;;) {
    const runStart = i;
    while (i < n && isLowerAlnum(component.charCodeAt(i))) i++;
    if (i === runStart) {
      const c = component.charCodeAt(i);
      if (i === 0 && isPathSeparatorChar(c)) {
        return `path component ${quote(component)} must start with a lowercase letter or digit, not ${describeChar(component[0] ?? '')}`;
      }
      return invalidPathChar(component, i);
    }
    if (i === n) return null;
    const sepStart = i;
    while (i < n && isPathSeparatorChar(component.charCodeAt(i))) i++;
    if (i === sepStart) return invalidPathChar(component, i);
    const sep = component.slice(sepStart, i);
    if (i === n) {
      return `path component ${quote(component)} must end with a lowercase letter or digit, not ${describeChar(sep.slice(-1))}`;
    }
    if (!isAllowedSeparator(sep)) {
      return `path component ${quote(component)} has the separator ${quote(sep)}; between letters and digits only one ".", one or two "_", or any number of "-" are allowed`;
    }
  }
}

function isAllowedSeparator(sep: string): boolean {
  if (sep === '.' || sep === '_' || sep === '__') return true;
  for (let i = 0; i < sep.length; i++) if (sep.charCodeAt(i) !== 0x2d) return false;
  return true;
}

function invalidPathChar(component: string, at: number): string {
  const ch = component[at] ?? '';
  if (isUpper(ch.charCodeAt(0))) return `path component ${quote(component)} contains uppercase letters; repository names must be lowercase`;
  return `path component ${quote(component)} contains ${describeChar(ch)}, which is not allowed (use lowercase letters, digits, ".", "_" and "-")`;
}

/** The remote name: one or more path components separated by "/". */
export function checkPath(path: string): string | null {
  if (path === '') return 'the repository path is empty';
  if (path.startsWith('/')) return `repository path ${quote(path)} starts with "/"`;
  if (path.endsWith('/')) return `repository path ${quote(path)} ends with "/"`;
  let start = 0;
  for (;;) {
    const slash = path.indexOf('/', start);
    const component = slash < 0 ? path.slice(start) : path.slice(start, slash);
    if (component === '') return `repository path ${quote(path)} has an empty component ("//")`;
    const problem = checkPathComponent(component);
    if (problem !== null) return problem;
    if (slash < 0) return null;
    start = slash + 1;
  }
}

/**
 * A registry host with optional port: `domain-name | "[" IPv6 "]"`, then `(:[0-9]+)?`. As in the grammar, the
 * IPv6 form is loose (hex digits and colons) and zone identifiers are refused.
 */
export function checkHost(host: string): string | null {
  if (host === '') return 'the registry host is empty';
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close < 0) return `registry host ${quote(host)} opens an IPv6 address with "[" but never closes it with "]"`;
    const address = host.slice(1, close);
    if (address === '') return `registry host ${quote(host)} has nothing between "[" and "]"`;
    if (address.includes('%')) {
      return `registry host ${quote(host)} has an IPv6 zone identifier (${quote(address.slice(address.indexOf('%')))}); zones are not allowed in image references`;
    }
    for (let i = 0; i < address.length; i++) {
      const c = address.charCodeAt(i);
      if (!isHex(c) && c !== 0x3a) {
        return `IPv6 address ${quote(address)} contains ${describeChar(address[i] ?? '')}; only hex digits and ":" are allowed`;
      }
    }
    return checkPort(host, host.slice(close + 1));
  }
  const colon = host.indexOf(':');
  const name = colon < 0 ? host : host.slice(0, colon);
  const port = colon < 0 ? '' : host.slice(colon);
  if (colon >= 0 && host.indexOf(':', colon + 1) >= 0) {
    return `registry host ${quote(host)} has more than one ":"; write an IPv6 address in brackets, like "[::1]:5000"`;
  }
  if (name === '') return `registry host ${quote(host)} has a port but no host name`;
  let labelStart = 0;
  for (;;) {
    const dot = name.indexOf('.', labelStart);
    const label = dot < 0 ? name.slice(labelStart) : name.slice(labelStart, dot);
    const problem = checkHostLabel(name, label);
    if (problem !== null) return problem;
    if (dot < 0) break;
    labelStart = dot + 1;
  }
  return checkPort(host, port);
}

function checkHostLabel(name: string, label: string): string | null {
  if (label === '') return `registry host name ${quote(name)} has an empty label (a leading, trailing or doubled ".")`;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    if (!isAlnum(c) && c !== 0x2d) {
      return `registry host name ${quote(name)} contains ${describeChar(label[i] ?? '')}; host names use letters, digits, "-" and "."`;
    }
  }
  if (label.startsWith('-') || label.endsWith('-')) {
    return `registry host name ${quote(name)} has the label ${quote(label)}, which starts or ends with "-"`;
  }
  return null;
}

/** `rest` is what follows the host name or the closing "]": nothing, or ":" and digits. */
function checkPort(host: string, rest: string): string | null {
  if (rest === '') return null;
  if (!rest.startsWith(':')) return `registry host ${quote(host)} has ${quote(rest)} after the IPv6 address; only ":port" may follow "]"`;
  const digits = rest.slice(1);
  if (digits === '') return `registry host ${quote(host)} ends with ":" but has no port number`;
  for (let i = 0; i < digits.length; i++) {
    if (!isDigit(digits.charCodeAt(i))) return `registry port ${quote(digits)} in ${quote(host)} is not a number`;
  }
  return null;
}

/** A tag: `[\w][\w.-]{0,127}`. */
export function checkTag(tag: string): string | null {
  if (tag === '') return 'the tag after ":" is empty';
  if (tag.length > MAX_TAG_LENGTH) return `tag ${quote(tag, { sayLength: false })} is ${tag.length} characters long; the limit is ${MAX_TAG_LENGTH}`;
  if (!isWord(tag.charCodeAt(0))) {
    return `tag ${quote(tag)} must start with a letter, digit or "_", not ${describeChar(tag[0] ?? '')}`;
  }
  for (let i = 1; i < tag.length; i++) {
    const c = tag.charCodeAt(i);
    if (!isWord(c) && c !== 0x2e && c !== 0x2d) {
      return `tag ${quote(tag)} contains ${describeChar(tag[i] ?? '')}; tags use letters, digits, "_", "." and "-"`;
    }
  }
  return null;
}

/**
 * A digest: well-formed per the reference grammar (`algorithm:hex`, at least 32 hex digits), then validated by
 * algorithm as go-digest does: exact length and lowercase hex. Only sha256 and sha512 are accepted.
 */
export function checkDigest(digest: string): DigestProblem | null {
  const invalid = (reason: string): DigestProblem => ({ code: 'InvalidDigest', reason });
  if (digest === '') return invalid('the digest after "@" is empty');
  const colon = digest.indexOf(':');
  if (colon < 0) return invalid(`digest ${quote(digest)} has no algorithm; write it as algorithm:hex, like "sha256:" and 64 hex digits`);
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const algorithmProblem = checkAlgorithm(algorithm);
  if (algorithmProblem !== null) return invalid(algorithmProblem);
  const expected = Object.hasOwn(DIGEST_HEX_LENGTH, algorithm) ? DIGEST_HEX_LENGTH[algorithm] : undefined;
  for (let i = 0; i < hex.length; i++) {
    if (!isHex(hex.charCodeAt(i))) {
      const want = expected === undefined ? 'hexadecimal' : `${expected} lowercase hex digits`;
      return invalid(`digest ${quote(digest)} contains ${describeChar(hex[i] ?? '')} after "${algorithm}:"; the value must be ${want}`);
    }
  }
  if (hex.length < MIN_DIGEST_HEX_LENGTH) {
    return invalid(`digest ${quote(digest)} is too short: ${hex.length} hex digits after "${algorithm}:" (at least ${MIN_DIGEST_HEX_LENGTH}, and ${DIGEST_HEX_LENGTH.sha256} for sha256)`);
  }
  if (expected === undefined) {
    const hint = hasUppercase(algorithm) && Object.hasOwn(DIGEST_HEX_LENGTH, algorithm.toLowerCase()) ? ' (algorithm names are lowercase)' : '';
    return { code: 'UnsupportedDigestAlgorithm', reason: `digest algorithm ${quote(algorithm)} is not supported${hint}; use sha256 or sha512` };
  }
  if (hex.length !== expected) {
    return invalid(`${algorithm} digest ${quote(digest)} has ${hex.length} hex digits; ${algorithm} needs exactly ${expected}`);
  }
  if (hasUppercase(hex)) return invalid(`digest ${quote(digest)} has uppercase hex digits; digests must be lowercase`);
  return null;
}

/** `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*` */
function checkAlgorithm(algorithm: string): string | null {
  if (algorithm === '') return 'the digest has no algorithm before ":"';
  let componentStart = true;
  for (let i = 0; i < algorithm.length; i++) {
    const c = algorithm.charCodeAt(i);
    if (componentStart) {
      if (!isLower(c) && !isUpper(c)) return `digest algorithm ${quote(algorithm)} is malformed: ${describeChar(algorithm[i] ?? '')} where a letter is expected`;
      componentStart = false;
    } else if (c === 0x2d || c === 0x5f || c === 0x2b || c === 0x2e) {
      componentStart = true;
    } else if (!isAlnum(c)) {
      return `digest algorithm ${quote(algorithm)} is malformed: it contains ${describeChar(algorithm[i] ?? '')}`;
    }
  }
  if (componentStart) return `digest algorithm ${quote(algorithm)} is malformed: it ends with a separator`;
  return null;
}
