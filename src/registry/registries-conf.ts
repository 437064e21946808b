// The containers registries.conf(5) of CRI-O nodes (v2 format), with its registries.conf.d drop-ins, read as
// containers/image v5 reads it (pkg/sysregistriesv2/system_registries_v2.go: postProcess, refMatchingPrefix,
// FindRegistry, rewriteReference, PullSourcesFromReference, updateWithConfigurationFrom; pkg/shortnames
// shortnames.go Resolve) into the NodePlan model. Read once at start-up.
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { parseReference, registryEndpoint, type Reference } from '../reference/reference.ts';
import type { NodeHost, NodePlan, NodeRegistries } from './node-hosts.ts';

interface ConfEndpoint {
  location: string;
  insecure: boolean;
  /** pull-from-mirror: all (default), digest-only, tag-only. */
  pullFrom?: 'all' | 'digest-only' | 'tag-only';
}

export interface ConfRegistry extends ConfEndpoint {
  prefix: string;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: ConfEndpoint[];
  /** File that defined it, for explanations. */
  source: string;
}

export interface RegistriesConf {
  registries: ConfRegistry[];
  /** undefined: not set by any file (an empty list is set). */
  searchRegistries?: string[];
  searchOrigin?: string;
  shortNameMode?: 'enforcing' | 'permissive' | 'disabled';
  aliases: Record<string, string>;
}

const MAX_FILE_BYTES = 1024 * 1024;
const MAX_DROP_INS = 256;

type Parsed = { ok: true; conf: RegistriesConf } | { ok: false; error: string };

/** One file, validated as postProcess validates it (locations without schemes, prefixes, pull-from-mirror). */
export function parseRegistriesConf(text: string, source: string): Parsed {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    return { ok: false, error: `${source}: invalid TOML: ${(e instanceof Error ? e.message : String(e)).split('\n')[0] ?? ''}` };
  }
  if (doc['registries'] !== undefined) return { ok: false, error: `${source}: the v1 format ([registries.search] …) is not read; write it as v2 [[registry]] tables` };
  const conf: RegistriesConf = { registries: [], aliases: {} };
  const regs = doc['registry'] ?? [];
  if (!Array.isArray(regs)) return { ok: false, error: `${source}: "registry" must be [[registry]] tables` };
  for (const [i, raw] of regs.entries()) {
    const where = `${source}: [[registry]] #${i + 1}`;
    if (typeof raw !== 'object' || raw === null) return { ok: false, error: `${where} must be a table` };
    const r = raw as Record<string, unknown>;
    const location = optString(r['location'], `${where} location`);
    const prefix = optString(r['prefix'], `${where} prefix`);
    if (typeof location === 'object') return location;
    if (typeof prefix === 'object') return prefix;
    const loc = location === undefined ? '' : parseLocation(location);
    if (typeof loc === 'object') return { ok: false, error: `${where}: ${loc.error}` };
    let pre: string;
    if (prefix === undefined || prefix === '') {
      if (loc === '') return { ok: false, error: `${where}: both location and prefix are unset` };
      pre = loc;
    } else {
      const p = parseLocation(prefix);
      if (typeof p === 'object') return { ok: false, error: `${where}: ${p.error}` };
      pre = p;
      if (pre.startsWith('*.')) {
        if (!/^\*\.[^/*:@]+$/.test(pre)) return { ok: false, error: `${where}: wildcarded prefix ${JSON.stringify(prefix)} must be *.domain` };
      } else if (pre.includes('*')) return { ok: false, error: `${where}: a wildcard may only begin a prefix (*.example.com)` };
      else if (loc === '') return { ok: false, error: `${where}: location is unset (only a *.domain prefix may leave it empty)` };
    }
    const bools: Record<string, boolean> = {};
    for (const key of ['insecure', 'blocked', 'mirror-by-digest-only']) {
      const v = r[key];
      if (v !== undefined && typeof v !== 'boolean') return { ok: false, error: `${where}: "${key}" must be true or false` };
      bools[key] = v === true;
    }
    const mirrors: ConfEndpoint[] = [];
    const rawMirrors = r['mirror'] ?? [];
    if (!Array.isArray(rawMirrors)) return { ok: false, error: `${where}: "mirror" must be [[registry.mirror]] tables` };
    for (const [j, m] of rawMirrors.entries()) {
      const mw = `${where} mirror #${j + 1}`;
      if (typeof m !== 'object' || m === null) return { ok: false, error: `${mw} must be a table` };
      const mm = m as Record<string, unknown>;
      if (typeof mm['location'] !== 'string') return { ok: false, error: `${mw}: location must be a string` };
      const ml = parseLocation(mm['location']);
      if (typeof ml === 'object') return { ok: false, error: `${mw}: ${ml.error}` };
      if (mm['insecure'] !== undefined && typeof mm['insecure'] !== 'boolean') return { ok: false, error: `${mw}: "insecure" must be true or false` };
      const pf = mm['pull-from-mirror'];
      if (pf !== undefined && pf !== '' && pf !== 'all' && pf !== 'digest-only' && pf !== 'tag-only') return { ok: false, error: `${mw}: unsupported pull-from-mirror ${JSON.stringify(pf)}` };
      if (bools['mirror-by-digest-only'] && pf !== undefined && pf !== '' && pf !== 'all') return { ok: false, error: `${mw}: cannot set mirror-by-digest-only for the registry and pull-from-mirror for a mirror at the same time` };
      mirrors.push({ location: ml, insecure: mm['insecure'] === true, ...(typeof pf === 'string' && pf !== '' ? { pullFrom: pf as ConfEndpoint['pullFrom'] } : {}) });
    }
    conf.registries.push({ prefix: pre, location: loc, insecure: bools['insecure'] ?? false, blocked: bools['blocked'] ?? false, mirrorByDigestOnly: bools['mirror-by-digest-only'] ?? false, mirrors, source });
  }
  const usr = doc['unqualified-search-registries'];
  if (usr !== undefined) {
    if (!Array.isArray(usr) || !usr.every((x) => typeof x === 'string')) return { ok: false, error: `${source}: unqualified-search-registries must be a list of host[:port]` };
    for (const s of usr as string[]) if (!/^[A-Za-z0-9.-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$/.test(s.replace(/\/+$/, ''))) return { ok: false, error: `${source}: invalid unqualified-search-registries entry ${JSON.stringify(s)}` };
    conf.searchRegistries = (usr as string[]).map((s) => s.replace(/\/+$/, ''));
    conf.searchOrigin = source;
  }
  const mode = doc['short-name-mode'];
  if (mode !== undefined && mode !== '') {
    if (mode !== 'enforcing' && mode !== 'permissive' && mode !== 'disabled') return { ok: false, error: `${source}: invalid short-name-mode ${JSON.stringify(mode)}` };
    conf.shortNameMode = mode;
  }
  const aliases = doc['aliases'];
  if (aliases !== undefined) {
    if (typeof aliases !== 'object' || aliases === null || Array.isArray(aliases)) return { ok: false, error: `${source}: [aliases] must be a table` };
    for (const [k, v] of Object.entries(aliases as Record<string, unknown>)) {
      if (typeof v !== 'string') return { ok: false, error: `${source}: alias ${JSON.stringify(k)} must be a string` };
      conf.aliases[k] = v;
    }
  }
  return { ok: true, conf };
}

function optString(v: unknown, what: string): string | undefined | { ok: false; error: string } {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? v : { ok: false, error: `${what} must be a string` };
}

/** parseLocation: trailing slashes trimmed; URI schemes are not supported. */
function parseLocation(input: string): string | { error: string } {
  const trimmed = input.replace(/\/+$/, '');
  if (/^https?:\/\//.test(trimmed)) return { error: `invalid location ${JSON.stringify(input)}: URI schemes are not supported` };
  return trimmed;
}

/**
 * updateWithConfigurationFrom: a later file's [[registry]] replaces one with the same prefix; a set
 * unqualified-search-registries (even empty) and short-name-mode replace; aliases are merged.
 */
export function mergeRegistriesConf(base: RegistriesConf, update: RegistriesConf): RegistriesConf {
  const byPrefix = new Map(base.registries.map((r) => [r.prefix, r]));
  for (const r of update.registries) byPrefix.set(r.prefix, r);
  return {
    registries: [...byPrefix.keys()].sort().map((k) => byPrefix.get(k) as ConfRegistry),
    ...(update.searchRegistries !== undefined ? { searchRegistries: update.searchRegistries, searchOrigin: update.searchOrigin as string } : base.searchRegistries !== undefined ? { searchRegistries: base.searchRegistries, searchOrigin: base.searchOrigin as string } : {}),
    ...((update.shortNameMode ?? base.shortNameMode) ? { shortNameMode: (update.shortNameMode ?? base.shortNameMode) as RegistriesConf['shortNameMode'] & string } : {}),
    aliases: { ...base.aliases, ...update.aliases },
  };
}

/** refMatchingPrefix: the matched length, or -1. `*.example.com` matches the subdomains' host. */
export function refMatchingPrefix(ref: string, prefix: string): number {
  if (prefix.startsWith('*.')) {
    const suffix = prefix.slice(1);
    const i = ref.indexOf(suffix);
    if (i === -1 || ref.slice(0, i).includes('/')) return -1;
    const end = i + suffix.length;
    if (end === ref.length) return end;
    return ':/@'.includes(ref[end] as string) ? end : -1;
  }
  if (ref.length < prefix.length || !ref.startsWith(prefix)) return -1;
  if (ref.length === prefix.length) return prefix.length;
  return ':/@'.includes(ref[prefix.length] as string) ? prefix.length : -1;
}

/** FindRegistry: the [[registry]] with the longest matching prefix. */
export function findRegistry(conf: RegistriesConf, ref: string): { registry: ConfRegistry; length: number } | undefined {
  let best: { registry: ConfRegistry; length: number } | undefined;
  for (const r of conf.registries) {
    const n = refMatchingPrefix(ref, r.prefix);
    if (n !== -1 && n > (best?.length ?? 0)) best = { registry: r, length: n };
  }
  return best;
}

function refString(r: Reference): string {
  return `${r.name}${r.tag !== undefined && !r.tagDefaulted ? `:${r.tag}` : r.digest ? '' : ':latest'}${r.digest ? `@${r.digest}` : ''}`;
}

/** parseUnnormalizedShortName: no registry component as written (`nginx`, `team/app:v1`). */
export function isShortName(written: string): boolean {
  const first = written.split('/')[0] ?? '';
  const hasSlash = written.includes('/');
  return !hasSlash || !(first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase());
}

/** The pull sources for one fully-qualified candidate (PullSourcesFromReference), or why the node refuses it. */
function sourcesFor(conf: RegistriesConf, cand: Reference): { hosts: NodeHost[]; blocked?: ConfRegistry } {
  const s = refString(cand);
  const found = findRegistry(conf, s);
  if (!found) return { hosts: [host(cand, cand.registry, cand.repository, false)] };
  const { registry: reg, length } = found;
  if (reg.blocked) return { hosts: [], blocked: reg };
  const digested = cand.digest !== undefined;
  const mirrors = reg.mirrorByDigestOnly ? (digested ? reg.mirrors : []) : reg.mirrors.filter((m) => !(m.pullFrom === 'digest-only' && !digested) && !(m.pullFrom === 'tag-only' && digested));
  const hosts: NodeHost[] = [];
  for (const ep of [...mirrors, reg as ConfEndpoint]) {
    // rewriteReference: location + what follows the matched prefix; an empty location (wildcard) keeps the ref.
    const rewritten = ep.location === '' ? s : ep.location + s.slice(length);
    const parsed = parseReference(rewritten);
    if (!parsed.ok) continue;
    hosts.push(host(cand, parsed.reference.registry, parsed.reference.repository, ep.insecure));
  }
  return { hosts };
}

function host(_cand: Reference, registry: string, repository: string, insecure: boolean): NodeHost {
  return {
    host: registryEndpoint(registry),
    scheme: 'https',
    path: '/v2',
    repository,
    pull: true,
    resolve: true,
    // insecure: certificates are not verified and plain HTTP is allowed.
    ...(insecure ? { skipVerify: true, httpFallback: true } : {}),
    nodeSendsCredentials: true,
  };
}

/**
 * The plan for one image. Short names as written in the pod spec go through the aliases and
 * unqualified-search-registries (shortnames.Resolve); in short-name-mode "enforcing" a name with no alias and
 * not exactly one search registry fails ("short-name resolution enforced but cannot prompt without a TTY", or no
 * search registries defined). Other modes try each candidate in order. Whether the nodes enforce it is not
 * certain: CRI-O before 1.34 resolved kubelet pulls with the mode forced to disabled (internal/storage
 * CandidatesForPotentiallyShortImageName), and from 1.34 enforcement comes from crio.conf [crio.image]
 * short_name_mode (cri-o/cri-o#9401), which pullguard does not read — so AmbiguousShortName is unknown, never a deny.
 */
export function planFromConf(conf: RegistriesConf, ref: Reference, written: string | undefined, source: string): NodePlan | undefined {
  const candidates: Reference[] = [];
  const short = written !== undefined && isShortName(written.trim());
  if (short && written !== undefined) {
    const w = written.trim();
    const name = w.replace(/@.*$/, '').replace(/:[^/]*$/, '');
    const suffix = w.slice(name.length);
    const alias = conf.aliases[name];
    if (alias !== undefined) {
      const parsed = parseReference(alias + suffix);
      if (parsed.ok) candidates.push(parsed.reference);
    } else {
      const search = conf.searchRegistries ?? [];
      if (conf.shortNameMode === 'enforcing' && search.length !== 1) {
        const where = conf.searchOrigin ?? source;
        // The alias that keeps what the image means everywhere else (containerd, Docker): its normalised name.
        const example = `"${name}" = "${ref.name}"`;
        return {
          hosts: [],
          source,
          refused: {
            reason: 'AmbiguousShortName',
            detail:
              search.length === 0
                ? `short name "${name}" has no alias and no unqualified-search-registries are defined in ${where}, which says short-name-mode "enforcing": the nodes may refuse this short name if CRI-O enforces short names (crio.conf short_name_mode); add an alias to [aliases] (${example}) or write the full name`
                : `short name "${name}" is ambiguous on the nodes: ${search.length} unqualified-search-registries (${search.join(', ')}) and no alias in ${where}, which says short-name-mode "enforcing": the nodes may refuse this short name if CRI-O enforces short names (crio.conf short_name_mode); add an alias to [aliases] (${example}) or write the full name`,
          },
        };
      }
      for (const reg of search) {
        const parsed = parseReference(`${reg}/${w}`);
        if (parsed.ok) candidates.push(parsed.reference);
      }
    }
    if (candidates.length === 0) return undefined;
  } else {
    candidates.push(ref);
  }
  const hosts: NodeHost[] = [];
  const blocked: ConfRegistry[] = [];
  let touched = short;
  for (const cand of candidates) {
    const got = sourcesFor(conf, cand);
    if (got.blocked) blocked.push(got.blocked);
    if (got.blocked || findRegistry(conf, refString(cand))) touched = true;
    hosts.push(...got.hosts);
  }
  if (!touched) return undefined;
  if (hosts.length === 0 && blocked[0]) {
    return { hosts: [], source, refused: { reason: 'RegistryBlocked', detail: `the nodes block pulls from ${blocked[0].prefix} (registries.conf ${blocked[0].source}: blocked = true)` } };
  }
  // The registry's own host keeps the image's repository only for the candidate that is the image itself.
  return { hosts, source: `registries.conf ${source}` };
}

/** Reads FILE and the `.conf` files of `registries.conf.d` beside it, in name order. */
export function loadRegistriesConf(file: string): { ok: true; value: { registries: NodeRegistries; conf: RegistriesConf; files: string[] } } | { ok: false; errors: string[] } {
  const files = [file];
  const dropDir = join(dirname(file), `${basename(file)}.d`);
  try {
    const names = readdirSync(dropDir).filter((n) => n.endsWith('.conf')).sort();
    if (names.length > MAX_DROP_INS) return { ok: false, errors: [`${dropDir}: more than ${MAX_DROP_INS} drop-ins`] };
    files.push(...names.map((n) => join(dropDir, n)));
  } catch {
    // no drop-in directory
  }
  let conf: RegistriesConf = { registries: [], aliases: {} };
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (e) {
      return { ok: false, errors: [`registries.conf ${f}: cannot read it (${(e as { code?: string }).code ?? (e as Error).message})`] };
    }
    if (text.length > MAX_FILE_BYTES) return { ok: false, errors: [`registries.conf ${f}: larger than ${MAX_FILE_BYTES} bytes`] };
    const parsed = parseRegistriesConf(text, f);
    if (!parsed.ok) return { ok: false, errors: [`registries.conf ${parsed.error}`] };
    conf = mergeRegistriesConf(conf, parsed.conf);
  }
  const final = conf;
  return { ok: true, value: { conf: final, files, registries: { plan: (ref, written) => planFromConf(final, ref, written, file) } } };
}
