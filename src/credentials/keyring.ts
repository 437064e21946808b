// The kubelet's keyring (pkg/credentialprovider/keyring.go): from credential entries and an image to the ordered
// list of credentials the kubelet would try. Replicates BasicDockerKeyring.Add/Lookup, URLsMatchStr and
// UnionDockerKeyring exactly, including their quirks, because "would this pull work" depends on them.
import type { PullCredential } from '../registry/index.ts';
import type { CredentialEntry } from './dockerconfig.ts';

/** One kubelet BasicDockerKeyring: normalised keys in reverse byte order, each with its entries in order. */
export interface KeyringGroup {
  readonly index: readonly string[];
  readonly creds: ReadonlyMap<string, readonly CredentialEntry[]>;
}

export interface Keyring {
  /** Every entry given, in the order given. */
  readonly entries: readonly CredentialEntry[];
  /** One group per kubelet keyring, in priority order (pod secrets, then node credentials). */
  readonly groups: readonly KeyringGroup[];
  /** Entries the kubelet would skip because their key is not a URL it can parse. */
  readonly problems: readonly string[];
}

export interface LookupOptions {
  /**
   * Keep `identityToken`/`registryToken` on the returned credentials. Off by default because the kubelet never
   * reads them from docker configs: it sends only username and password to the container runtime.
   */
  keepTokens?: boolean;
}

/** The key under which the kubelet keeps Docker Hub credentials (`https://index.docker.io/v1/` normalises to it). */
export const DEFAULT_REGISTRY_KEY = 'index.docker.io';

/**
 * Build a keyring. Each group becomes one kubelet BasicDockerKeyring: pass ALL the pod's pull secrets' entries as
 * the first group (the kubelet merges every pod secret into one keyring, ordered by key, not by secret), then the
 * node's credentials; lookups return every match of the first group, then of the next (UnionDockerKeyring).
 */
export function buildKeyring(...groups: CredentialEntry[][]): Keyring {
  const entries: CredentialEntry[] = [];
  const built: KeyringGroup[] = [];
  const problems: string[] = [];
  for (const group of groups) {
    const one = groupOf(group);
    entries.push(...one.entries);
    problems.push(...one.problems);
    built.push(one.group);
  }
  return { entries, groups: built, problems };
}

interface BuiltGroup {
  entries: CredentialEntry[];
  problems: string[];
  group: KeyringGroup;
}

/**
 * Groups already built, by the array they were built from: the node's static credentials are one array per
 * configuration, so every review reuses their sorted index instead of sorting and normalising them again. Callers
 * never mutate an array once passed (a new secret or configuration version is a new array).
 */
const builtGroups = new WeakMap<readonly CredentialEntry[], BuiltGroup>();

/** No entries (no pull secrets, no node credentials): one shared empty group, never modified. */
const EMPTY_GROUP: BuiltGroup = { entries: [], problems: [], group: { index: [], creds: new Map() } };

function groupOf(group: CredentialEntry[]): BuiltGroup {
  const list = Array.isArray(group) ? group : [];
  if (list.length === 0) return EMPTY_GROUP;
  const known = builtGroups.get(list);
  if (known) return known;
  const entries: CredentialEntry[] = [];
  const problems: string[] = [];
  const creds = new Map<string, CredentialEntry[]>();
  for (const entry of list) {
    if (!isEntry(entry)) continue;
    entries.push(entry);
    const key = normalizeKey(entry.key);
    if (key === undefined) {
      problems.push(`${entry.source}: the registry key ${JSON.stringify(entry.key)} is not a valid URL; the kubelet ignores this entry.`);
      continue;
    }
    const same = creds.get(key);
    if (same) same.push(entry);
    else creds.set(key, [entry]);
  }
  // Reverse byte order (Go's sort.Reverse(sort.StringSlice)): `quay.io/coreos` before `quay.io`.
  const index = [...creds.keys()].sort((a, b) => Buffer.compare(Buffer.from(b), Buffer.from(a)));
  const out = { entries, problems, group: { index, creds } };
  builtGroups.set(list, out);
  return out;
}

/**
 * The credentials the kubelet would try for an image, in its order, identical ones removed (first kept).
 * `image` is the parsed reference: registry `docker.io` for Hub, repository `library/nginx`. Empty: anonymous pull.
 */
export function lookup(keyring: Keyring, image: { registry: string; repository: string }, options: LookupOptions = {}): PullCredential[] {
  const target = imageTarget(image);
  if (target === undefined) return [];
  const found: PullCredential[] = [];
  for (const group of keyring.groups) {
    for (const [key, entry] of lookupGroup(group, target)) found.push(toCredential(key, entry, options.keepTokens === true));
  }
  return dedupe(found);
}

/** Lookup in one BasicDockerKeyring: all matching keys, most specific first; else Hub credentials for Hub images. */
function lookupGroup(group: KeyringGroup, target: string): [string, CredentialEntry][] {
  const out: [string, CredentialEntry][] = [];
  for (const key of group.index) {
    if (!urlsMatch(key, target)) continue;
    for (const entry of group.creds.get(key) ?? []) out.push([key, entry]);
  }
  if (out.length > 0) return out;
  const hub = group.creds.get(DEFAULT_REGISTRY_KEY);
  if (hub && isDefaultRegistryMatch(target)) for (const entry of hub) out.push([DEFAULT_REGISTRY_KEY, entry]);
  return out;
}

/** `registry/repository`: what the kubelet looks up (parsers.ParseImageName's repoToPull, e.g. `docker.io/library/nginx`). */
function imageTarget(image: { registry: string; repository: string } | undefined): string | undefined {
  if (typeof image !== 'object' || image === null) return undefined;
  const { registry, repository } = image;
  if (typeof registry !== 'string' || typeof repository !== 'string' || registry === '') return undefined;
  return repository === '' ? registry : `${registry}/${repository}`;
}

/**
 * One credential object per entry, key and token choice, made once: a static keyring hands every review the same
 * objects, so identities derived from them (credentialIdentity's hash) are computed once per configuration.
 */
const credentialsOf = new WeakMap<CredentialEntry, Map<string, PullCredential>>();

function toCredential(key: string, entry: CredentialEntry, keepTokens: boolean): PullCredential {
  let made = credentialsOf.get(entry);
  if (!made) credentialsOf.set(entry, (made = new Map()));
  const id = `${keepTokens ? 't' : '-'}${key}`;
  const known = made.get(id);
  if (known) return known;
  const c: PullCredential = { source: entry.source, key };
  if (entry.username !== undefined && entry.username !== '') c.username = entry.username;
  if (entry.password !== undefined && entry.password !== '') c.password = entry.password;
  if (keepTokens) {
    if (entry.identityToken) c.identityToken = entry.identityToken;
    if (entry.registryToken) c.registryToken = entry.registryToken;
  }
  // Shared between reviews: frozen so no caller can change what another review sends.
  made.set(id, Object.freeze(c));
  return c;
}

function dedupe(credentials: PullCredential[]): PullCredential[] {
  const seen = new Set<string>();
  return credentials.filter((c) => {
    const id = JSON.stringify([c.username ?? '', c.password ?? '', c.identityToken ?? '', c.registryToken ?? '']);
    if (seen.has(id)) return false;
    seen.add(id);
    return true;
  });
}

function isEntry(e: unknown): e is CredentialEntry {
  return typeof e === 'object' && e !== null && typeof (e as CredentialEntry).key === 'string' && typeof (e as CredentialEntry).source === 'string';
}

/**
 * The kubelet's key for a config entry (BasicDockerKeyring.Add): scheme dropped, a leading `/v1/` or `/v2/` path
 * dropped, `host` or `host/path` kept. undefined when Go's url.Parse would fail (the kubelet skips the entry).
 */
export function normalizeKey(key: string): string | undefined {
  if (typeof key !== 'string') return undefined;
  const value = key.startsWith('https://') || key.startsWith('http://') ? key : `https://${key}`;
  const parsed = parseGoURL(value);
  if (parsed === undefined) return undefined;
  let path = parsed.path;
  if (path.startsWith('/v2/') || path.startsWith('/v1/')) path = path.slice(3);
  return path.length > 0 && path !== '/' ? parsed.host + path : parsed.host;
}

/**
 * The kubelet's URLsMatchStr: does a schemeless glob (`*.example.com:5000/team`) match a schemeless target
 * (`a.example.com:5000/team/app`)? Same number of host labels, each matched by a shell glob (`*`, `?`, `[a-z]`,
 * also inside a label: `*-docker.pkg.dev`); equal ports (both absent counts as equal); the glob's path a plain
 * string prefix of the target's path (so `registry.io/team` also matches `registry.io/teamx/app`, as in the kubelet).
 */
export function urlsMatch(glob: string, target: string): boolean {
  if (typeof glob !== 'string' || typeof target !== 'string') return false;
  const g = compiledUrlGlob(glob);
  const t = g === undefined ? undefined : parsedTarget(target);
  if (g === undefined || t === undefined) return false;
  if (g.port !== t.port) return false;
  if (g.labels.length !== t.labels.length) return false;
  if (!t.path.startsWith(g.path)) return false;
  return g.labels.every((tokens, i) => tokens !== undefined && globMatchTokens(tokens, t.labels[i] ?? ''));
}

/** A glob of urlsMatch taken apart once: its host labels compiled (undefined: malformed, matches nothing), port, path. */
interface CompiledUrlGlob {
  labels: (GlobToken[] | undefined)[];
  port: string;
  path: string;
}

interface ParsedTarget {
  labels: string[];
  port: string;
  path: string;
}

/**
 * Globs come back on every lookup (a keyring's keys, the node credential patterns): each is parsed once. Bounded in
 * count and in each key's length, as keys come from secrets (a longer one is parsed every time, as before); a glob Go
 * cannot parse is remembered too (as null).
 */
const compiledGlobs = new Map<string, CompiledUrlGlob | null>();
const COMPILED_GLOBS_MAX = 1_000;
const COMPILED_GLOB_MAX_LENGTH = 512;

function compiledUrlGlob(glob: string): CompiledUrlGlob | undefined {
  const known = compiledGlobs.get(glob);
  if (known !== undefined) return known ?? undefined;
  const u = parseGoURL(`https://${glob}`);
  let out: CompiledUrlGlob | null = null;
  if (u !== undefined) {
    const [labels, port] = splitURL(u.host);
    out = { labels: labels.map(compileGlob), port, path: u.path };
  }
  if (glob.length > COMPILED_GLOB_MAX_LENGTH) return out ?? undefined;
  if (compiledGlobs.size >= COMPILED_GLOBS_MAX) compiledGlobs.clear();
  compiledGlobs.set(glob, out);
  return out ?? undefined;
}

/** The last target parsed: a lookup matches one target against every glob in turn. */
let lastTarget: { raw: string; parsed: ParsedTarget | undefined } | undefined;

function parsedTarget(target: string): ParsedTarget | undefined {
  if (lastTarget?.raw === target) return lastTarget.parsed;
  const u = parseGoURL(`https://${target}`);
  let parsed: ParsedTarget | undefined;
  if (u !== undefined) {
    const [labels, port] = splitURL(u.host);
    parsed = { labels, port, path: u.path };
  }
  lastTarget = { raw: target, parsed };
  return parsed;
}

/**
 * Does a registry (and optionally its repository) fall under a pattern written like a kubelet credential
 * provider's `matchImages` (`*.dkr.ecr.*.amazonaws.com`, `*.azurecr.io`, `*-docker.pkg.dev`)? Same rules as
 * the keyring: the kubelet checks matchImages with URLsMatchStr.
 */
export function matchesRegistryGlob(pattern: string, registry: string, repository?: string): boolean {
  if (typeof registry !== 'string' || registry === '') return false;
  const target = typeof repository === 'string' && repository !== '' ? `${registry}/${repository}` : registry;
  return urlsMatch(pattern, target);
}

/**
 * The kubelet's isDefaultRegistryMatch: would this lookup string pull from Docker Hub? A first path component
 * without `.` or `:` counts as Hub, so `localhost/app` does too — a kubelet quirk kept on purpose.
 */
export function isDefaultRegistryMatch(image: string): boolean {
  if (typeof image !== 'string') return false;
  const slash = image.indexOf('/');
  const first = slash < 0 ? image : image.slice(0, slash);
  if (first.length === 0) return false;
  if (slash < 0) return true;
  if (first === 'docker.io' || first === 'index.docker.io') return true;
  return !/[.:]/.test(first);
}

// ---- Go's net/url.Parse, reduced to what the keyring reads: host (with port) and decoded path.

interface GoURL {
  host: string;
  path: string;
}

/** Go's url.Parse for `http(s)://…` strings; undefined exactly where Go returns an error (as far as Host/Path go). */
function parseGoURL(raw: string): GoURL | undefined {
  const hash = raw.indexOf('#');
  const beforeFragment = hash < 0 ? raw : raw.slice(0, hash);
  if (hash >= 0 && percentDecode(raw.slice(hash + 1), 'other') === undefined) return undefined;
  if (/[\x00-\x1f\x7f]/.test(beforeFragment)) return undefined;
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:/.exec(beforeFragment);
  if (!scheme) return undefined;
  let rest = beforeFragment.slice(scheme[0].length);
  const q = rest.indexOf('?');
  if (q >= 0) rest = rest.slice(0, q);
  if (!rest.startsWith('//')) return undefined; // not produced by our callers; keeps the model simple
  rest = rest.slice(2);
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const rawPath = slash < 0 ? '' : rest.slice(slash);
  const at = authority.lastIndexOf('@');
  const host = parseHost(at < 0 ? authority : authority.slice(at + 1));
  if (host === undefined) return undefined;
  const path = percentDecode(rawPath, 'other');
  if (path === undefined) return undefined;
  return { host, path };
}

function parseHost(host: string): string | undefined {
  if (host.startsWith('[')) {
    const close = host.lastIndexOf(']');
    if (close < 0) return undefined;
    if (!validOptionalPort(host.slice(close + 1))) return undefined;
  } else {
    const colon = host.lastIndexOf(':');
    if (colon >= 0 && !validOptionalPort(host.slice(colon))) return undefined;
  }
  return percentDecode(host, 'host');
}

function validOptionalPort(port: string): boolean {
  if (port === '') return true;
  return /^:[0-9]*$/.test(port);
}

// ASCII characters Go's url accepts unescaped in a host.
const HOST_ASCII = /^[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]$/;

// Plain ASCII without `%`: nothing to decode (the common case, on every lookup).
const PLAIN_HOST = /^[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]*$/;
const PLAIN_OTHER = /^[\x20-\x24\x26-\x7e]*$/;

function percentDecode(s: string, mode: 'host' | 'other'): string | undefined {
  if ((mode === 'host' ? PLAIN_HOST : PLAIN_OTHER).test(s)) return s;
  const bytes: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      // In a host, %-encoding is only for non-ASCII bytes, or %25 (RFC 6874 zone identifiers).
      if (mode === 'host' && parseInt(hex[0] ?? '0', 16) < 8 && hex !== '25') return undefined;
      bytes.push(parseInt(hex, 16));
      i += 3;
      continue;
    }
    const cp = s.codePointAt(i) ?? 0;
    const ch = String.fromCodePoint(cp);
    if (mode === 'host' && cp < 0x80 && !HOST_ASCII.test(ch)) return undefined;
    bytes.push(...Buffer.from(ch, 'utf8'));
    i += ch.length;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The kubelet's SplitURL: host labels split on `.`, and the port from Go's net.SplitHostPort ('' when it fails). */
function splitURL(hostport: string): [string[], string] {
  const split = splitHostPort(hostport);
  const [host, port] = split ?? [hostport, ''];
  return [host.split('.'), port];
}

function splitHostPort(hostport: string): [string, string] | undefined {
  const i = hostport.lastIndexOf(':');
  if (i < 0) return undefined;
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport.startsWith('[')) {
    const end = hostport.indexOf(']');
    if (end < 0 || end + 1 !== i) return undefined;
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(':')) return undefined;
  }
  if (hostport.slice(j).includes('[') || hostport.slice(k).includes(']')) return undefined;
  return [host, hostport.slice(i + 1)];
}

// ---- Go's path/filepath.Match for one host label (no separators inside a label).

type GlobToken =
  | { kind: 'star' }
  | { kind: 'any' }
  | { kind: 'char'; cp: number }
  | { kind: 'class'; negated: boolean; ranges: [number, number][] };

/** Shell glob match of one label, with Go's syntax; a malformed pattern matches nothing (Go returns ErrBadPattern). */
export function globMatch(pattern: string, name: string): boolean {
  const tokens = compileGlob(pattern);
  return tokens !== undefined && globMatchTokens(tokens, name);
}

function globMatchTokens(tokens: readonly GlobToken[], name: string): boolean {
  const s = Array.from(name, (ch) => ch.codePointAt(0) ?? 0);
  // Classic wildcard matching with backtracking to the last star: linear in practice, exact for single-char tokens.
  let t = 0;
  let i = 0;
  let starT = -1;
  let starI = 0;
  while (i < s.length) {
    const tok = tokens[t];
    if (tok !== undefined && tok.kind === 'star') {
      starT = t++;
      starI = i;
    } else if (tok !== undefined && matchOne(tok, s[i] ?? 0)) {
      t++;
      i++;
    } else if (starT >= 0) {
      t = starT + 1;
      i = ++starI;
    } else {
      return false;
    }
  }
  while (tokens[t]?.kind === 'star') t++;
  return t === tokens.length;
}

function matchOne(tok: GlobToken, cp: number): boolean {
  switch (tok.kind) {
    case 'any':
      return cp !== 0x2f;
    case 'char':
      return cp === tok.cp;
    case 'class': {
      const inside = tok.ranges.some(([lo, hi]) => lo <= cp && cp <= hi);
      return inside !== tok.negated;
    }
    default:
      return false;
  }
}

function compileGlob(pattern: string): GlobToken[] | undefined {
  const p = Array.from(pattern, (ch) => ch.codePointAt(0) ?? 0);
  const tokens: GlobToken[] = [];
  let i = 0;
  const BACKSLASH = 0x5c;
  while (i < p.length) {
    const c = p[i];
    if (c === 0x2a /* * */) {
      if (tokens.at(-1)?.kind !== 'star') tokens.push({ kind: 'star' });
      i++;
    } else if (c === 0x3f /* ? */) {
      tokens.push({ kind: 'any' });
      i++;
    } else if (c === BACKSLASH) {
      const next = p[i + 1];
      if (next === undefined) return undefined;
      tokens.push({ kind: 'char', cp: next });
      i += 2;
    } else if (c === 0x5b /* [ */) {
      i++;
      let negated = false;
      if (p[i] === 0x5e /* ^ */) {
        negated = true;
        i++;
      }
      const ranges: [number, number][] = [];
      for (;;) {
        if (p[i] === 0x5d /* ] */ && ranges.length > 0) {
          i++;
          break;
        }
        const lo = classChar(p, i);
        if (lo === undefined) return undefined;
        i = lo.next;
        let hi = lo.cp;
        if (p[i] === 0x2d /* - */) {
          const h = classChar(p, i + 1);
          if (h === undefined) return undefined;
          hi = h.cp;
          i = h.next;
        }
        ranges.push([lo.cp, hi]);
      }
      tokens.push({ kind: 'class', negated, ranges });
    } else {
      tokens.push({ kind: 'char', cp: c ?? 0 });
      i++;
    }
  }
  return tokens;
}

/** Go's getEsc: one (possibly escaped) character of a class; `-` and `]` are not allowed unescaped here. */
function classChar(p: number[], i: number): { cp: number; next: number } | undefined {
  let c = p[i];
  if (c === undefined || c === 0x2d || c === 0x5d) return undefined;
  if (c === 0x5c) {
    i++;
    c = p[i];
    if (c === undefined) return undefined;
  }
  i++;
  if (i >= p.length) return undefined; // a class must still close
  return { cp: c, next: i };
}
