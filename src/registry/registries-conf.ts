// The containers registries.conf(5) of CRI-O nodes, with its registries.conf.d drop-ins, read as go.podman.io/image
// v5 reads it (containers/container-libs image/pkg/sysregistriesv2/system_registries_v2.go @28a6cf0:
// loadConfigFile, ConvertToV2, postProcessRegistries, refMatchingPrefix, findRegistryWithParsedConfig,
// rewriteReference, PullSourcesFromReference, updateWithConfigurationFrom; shortnames.go @523e87c: aliases;
// image/pkg/shortnames/shortnames.go Resolve) into the NodePlan model.
import { readdirSync, readFileSync, statSync } from 'node:fs';
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
  /** As written; CRI-O ignores it for kubelet pulls (its crio.conf short_name_mode decides, see planFromConf). */
  shortNameMode?: 'enforcing' | 'permissive' | 'disabled';
  /** Short name → normalised name; null: reset by a later file (`"name" = ""`), i.e. no alias. */
  aliases: Record<string, string | null>;
}

const MAX_FILE_BYTES = 1024 * 1024;
const MAX_DROP_INS = 256;

type Parsed = { ok: true; conf: RegistriesConf } | { ok: false; error: string };

/** One file, validated as loadConfigFile + postProcessRegistries validate it. `dropIn`: the v1 format is refused. */
export function parseRegistriesConf(text: string, source: string, dropIn = false): Parsed {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    return { ok: false, error: `${source}: invalid TOML: ${(e instanceof Error ? e.message : String(e)).split('\n')[0] ?? ''}` };
  }
  if (doc['registries'] !== undefined) {
    if (dropIn) return { ok: false, error: `${source}: registry must be in v2 format but is in v1 (drop-ins must use [[registry]] tables)` };
    const v2 = convertV1(doc, source);
    if (typeof v2 === 'string') return { ok: false, error: v2 };
    doc = v2;
  }
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
      if (!pre.startsWith('*.') && loc === '') return { ok: false, error: `${where}: location is unset and prefix is not in the format *.example.com` };
      // loadConfigFile: a wildcard prefix holds no namespace, port or digest. A "*" elsewhere is matched literally.
      if (pre.startsWith('*.') && /[/@:]/.test(pre)) return { ok: false, error: `${where}: wildcarded prefix ${JSON.stringify(prefix)} must be in the format *.example.com` };
    }
    if (r['pull-from-mirror'] !== undefined && r['pull-from-mirror'] !== '') return { ok: false, error: `${where}: pull-from-mirror must not be set for a non-mirror registry ${JSON.stringify(pre)}` };
    const bools: Record<string, boolean> = {};
    for (const key of ['insecure', 'blocked', 'mirror-by-digest-only']) {
      const v = r[key];
      if (v !== undefined && typeof v !== 'boolean') return { ok: false, error: `${where}: "${key}" must be true or false` };
      bools[key] = v === true;
    }
    const proxy = optString(r['proxy'], `${where} proxy`);
    if (typeof proxy === 'object') return proxy;
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
      if (ml === '') return { ok: false, error: `${mw}: mirror location is unset` };
      if (mm['insecure'] !== undefined && typeof mm['insecure'] !== 'boolean') return { ok: false, error: `${mw}: "insecure" must be true or false` };
      const pf = mm['pull-from-mirror'];
      if (bools['mirror-by-digest-only'] && pf !== undefined && pf !== '') return { ok: false, error: `${mw}: cannot set mirror-by-digest-only for the registry and pull-from-mirror for a mirror at the same time` };
      if (pf !== undefined && pf !== '' && pf !== 'all' && pf !== 'digest-only' && pf !== 'tag-only') return { ok: false, error: `${mw}: unsupported pull-from-mirror ${JSON.stringify(pf)}` };
      mirrors.push({ location: ml, insecure: mm['insecure'] === true, ...(typeof pf === 'string' && pf !== '' ? { pullFrom: pf as ConfEndpoint['pullFrom'] } : {}) });
    }
    const entry: ConfRegistry = { prefix: pre, location: loc, insecure: bools['insecure'] ?? false, blocked: bools['blocked'] ?? false, mirrorByDigestOnly: bools['mirror-by-digest-only'] ?? false, mirrors, source };
    // A registry mentioned twice (several prefixes) must agree on insecure, blocked and proxy.
    const key = loc === '' ? pre : loc;
    const other = conf.registries.find((o) => (o.location === '' ? o.prefix : o.location) === key);
    if (other && (other.insecure !== entry.insecure || other.blocked !== entry.blocked || proxies.get(other) !== (proxy ?? ''))) {
      const what = other.insecure !== entry.insecure ? 'insecure' : other.blocked !== entry.blocked ? 'blocked' : 'proxy';
      return { ok: false, error: `${source}: registry '${loc}' is defined multiple times with conflicting '${what}' setting` };
    }
    proxies.set(entry, proxy ?? '');
    conf.registries.push(entry);
  }
  // postProcessRegistries: of entries with the same prefix only the first counts; the list is sorted by prefix.
  const seen = new Set<string>();
  conf.registries = conf.registries.filter((r) => !seen.has(r.prefix) && seen.add(r.prefix)).sort((a, b) => (a.prefix < b.prefix ? -1 : a.prefix > b.prefix ? 1 : 0));
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
      const parsed = parseAlias(k, v);
      if (typeof parsed === 'object') return { ok: false, error: `${source}: validating short-name aliases: ${parsed.error}` };
      conf.aliases[k] = parsed === '' ? null : parsed;
    }
  }
  return { ok: true, conf };
}

/** Each ConfRegistry's `proxy` (only compared for conflicts: a forwarding proxy does not change what is pulled). */
const proxies = new WeakMap<ConfRegistry, string>();

/** ConvertToV2: [registries.search/insecure/block] → unqualified-search-registries and [[registry]] tables. */
function convertV1(doc: Record<string, unknown>, source: string): Record<string, unknown> | string {
  if (doc['registry'] !== undefined || doc['unqualified-search-registries'] !== undefined || doc['aliases'] !== undefined || doc['short-name-mode'] !== undefined) return `${source}: mixing sysregistry v1/v2 is not supported`;
  const v1 = doc['registries'];
  if (typeof v1 !== 'object' || v1 === null || Array.isArray(v1)) return `${source}: [registries] must be a table`;
  const list = (name: string): string[] | string => {
    const t = (v1 as Record<string, unknown>)[name];
    if (t === undefined) return [];
    const r = typeof t === 'object' && t !== null ? (t as Record<string, unknown>)['registries'] : undefined;
    return Array.isArray(r) && r.every((x) => typeof x === 'string') ? (r as string[]) : `${source}: [registries.${name}] registries must be a list of strings`;
  };
  const [search, insecure, block] = [list('search'), list('insecure'), list('block')];
  for (const l of [search, insecure, block]) if (typeof l === 'string') return l;
  const byLocation = new Map<string, Record<string, unknown>>();
  const get = (loc: string) => {
    const key = loc.replace(/\/+$/, '');
    const e = byLocation.get(key) ?? { location: key };
    byLocation.set(key, e);
    return e;
  };
  for (const b of block as string[]) get(b)['blocked'] = true;
  for (const i of insecure as string[]) get(i)['insecure'] = true;
  return { 'unqualified-search-registries': search, registry: [...byLocation.values()] };
}

/**
 * validateShortName + parseShortNameValue: the name is a short name without tag or digest; the value a fully
 * qualified name (registry with "." or ":", or localhost) without tag or digest, normalised (docker.io/alpine →
 * docker.io/library/alpine). An empty value resets the alias of an earlier file.
 */
function parseAlias(name: string, value: string): string | { error: string } {
  if (!isShortName(name) || /[@]/.test(name) || /:[^/]*$/.test(name) || !parseReference(name).ok) return { error: `invalid short name ${JSON.stringify(name)}: must be a name without registry, tag or digest` };
  if (value === '') return '';
  const first = value.split('/')[0] ?? '';
  if (!value.includes('/') || !(first.includes('.') || first.includes(':') || first === 'localhost')) return { error: `invalid alias ${JSON.stringify(value)}: must contain registry and repository` };
  if (value.includes('@')) return { error: `invalid alias ${JSON.stringify(value)}: must not contain digest` };
  if (/:[^/]*$/.test(value.slice(first.length))) return { error: `invalid alias ${JSON.stringify(value)}: must not contain tag` };
  const parsed = parseReference(value);
  if (!parsed.ok) return { error: `parsing alias ${JSON.stringify(value)}: ${parsed.error.message}` };
  return parsed.reference.name;
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
 * updateWithConfigurationFrom: a later file's [[registry]] replaces one with the same prefix (sorted by prefix); a
 * set unqualified-search-registries (even empty) and short-name-mode replace; aliases are merged, "" resetting one.
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

/**
 * findRegistryWithParsedConfig: the [[registry]] whose prefix is longest as written (`*.example.com` counts its 13
 * characters, not the host it matched), the first in prefix order on a tie. `length` is the matched length, which
 * rewriteReference replaces by the location.
 */
export function findRegistry(conf: RegistriesConf, ref: string): { registry: ConfRegistry; length: number } | undefined {
  let best: { registry: ConfRegistry; length: number } | undefined;
  for (const r of conf.registries) {
    const n = refMatchingPrefix(ref, r.prefix);
    if (n !== -1 && r.prefix.length > (best?.registry.prefix.length ?? 0)) best = { registry: r, length: n };
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
function sourcesFor(conf: RegistriesConf, cand: Reference, certs: CertsDir | undefined): { hosts: NodeHost[]; blocked?: ConfRegistry } {
  const s = refString(cand);
  const found = findRegistry(conf, s);
  if (!found) return { hosts: [host(cand, cand.registry, cand.repository, false, certs)] };
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
    hosts.push(host(cand, parsed.reference.registry, parsed.reference.repository, ep.insecure, certs));
  }
  return { hosts };
}

function host(_cand: Reference, registry: string, repository: string, insecure: boolean, certs?: CertsDir): NodeHost {
  const tls = certs?.get(registry);
  return {
    host: registryEndpoint(registry),
    scheme: 'https',
    path: '/v2',
    repository,
    pull: true,
    resolve: true,
    // insecure: certificates are not verified and plain HTTP is allowed.
    ...(insecure ? { skipVerify: true, httpFallback: true } : {}),
    ...(tls?.caFiles.length ? { caFiles: tls.caFiles } : {}),
    ...(tls?.clientPairs.length ? { clientPairs: tls.clientPairs } : {}),
    // go.podman.io/image v5 keeps the kubelet's credentials to the image's own domain (docker_image_src.go
    // newImageSourceAttempt); older containers/image sent them to every pull source. Either way the node may hold
    // credentials for this host that we do not send: a refusal here is unknown (resolve.ts mirrorAuthUnsure).
    nodeSendsCredentials: true,
  };
}

/**
 * The plan for one image. A short name as written in the pod spec (the kubelet passes it on unqualified) goes
 * through the aliases, else the unqualified-search-registries (image/pkg/shortnames/shortnames.go Resolve).
 * The mode is not registries.conf's: CRI-O sets SystemContext.ShortNameMode from crio.conf [crio.image]
 * short_name_mode, default "enforcing" since 1.34 (cri-o pkg/config/config.go @c0202e0 DefaultConfig and
 * SetSystemContext, cri-o/cri-o#9401; before 1.34 internal/storage/image.go forced "disabled"), and that overrides
 * the file's short-name-mode (sysregistriesv2.GetShortNameMode). So:
 * - no alias and no search registries: Resolve fails in every mode → AmbiguousShortName (unknown: a machine-written
 *   /var/cache/containers/short-name-aliases.conf on a node could still alias it);
 * - one search registry: that candidate, in every mode;
 * - several: "enforcing" refuses the pull ("short name mode is enforcing, but image name … returns ambiguous list",
 *   internal/storage/image.go CandidatesForPotentiallyShortImageName), "disabled" tries each in order. The
 *   candidates are checked: if none has it, both modes fail (a certain deny); otherwise the plan's `ambiguous`
 *   makes the answer AmbiguousShortName (unknown), since pullguard does not read crio.conf.
 */
export function planFromConf(conf: RegistriesConf, ref: Reference, written: string | undefined, source: string, certs?: CertsDir): NodePlan | undefined {
  const candidates: Reference[] = [];
  const short = written !== undefined && isShortName(written.trim());
  let ambiguous: string | undefined;
  if (short && written !== undefined) {
    const w = written.trim();
    const name = w.replace(/@.*$/, '').replace(/:[^/]*$/, '');
    const suffix = w.slice(name.length);
    const alias = conf.aliases[name];
    // The alias that keeps what the image means everywhere else (containerd, Docker): its normalised name.
    const example = `"${name}" = "${ref.name}"`;
    if (alias) {
      const parsed = parseReference(alias + suffix);
      if (parsed.ok) candidates.push(parsed.reference);
    } else {
      const search = conf.searchRegistries ?? [];
      const where = conf.searchOrigin ?? source;
      if (search.length === 0) {
        return {
          hosts: [],
          source,
          refused: {
            reason: 'AmbiguousShortName',
            detail: `short name "${name}" has no alias and no unqualified-search-registries are defined in ${where}: CRI-O refuses it in every short-name mode ("did not resolve to an alias and no unqualified-search registries are defined"), unless the node's /var/cache/containers/short-name-aliases.conf aliases it; write the full name (${ref.name}) or add an alias to [aliases] (${example})`,
          },
        };
      }
      if (search.length > 1) {
        ambiguous = `short name "${name}" is ambiguous on the nodes: ${search.length} unqualified-search-registries (${search.join(', ')}) in ${where} and no alias; CRI-O 1.34+ refuses it ("short name mode is enforcing, but image name ${w} returns ambiguous list") unless crio.conf [crio.image] short_name_mode = "disabled", which pullguard does not read; write the full name or add an alias to [aliases] (${example})`;
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
    const got = sourcesFor(conf, cand, certs);
    if (got.blocked) blocked.push(got.blocked);
    if (got.blocked || findRegistry(conf, refString(cand))) touched = true;
    hosts.push(...got.hosts);
  }
  if (!touched) return undefined;
  if (hosts.length === 0 && blocked[0]) {
    return { hosts: [], source, refused: { reason: 'RegistryBlocked', detail: `the nodes block pulls from ${blocked[0].prefix} (registries.conf ${blocked[0].source}: blocked = true)` } };
  }
  return { hosts, source: `registries.conf ${source}`, ...(ambiguous ? { ambiguous } : {}) };
}

/** TLS files per registry host (`host[:port]` as in image names; docker.io for Docker Hub). */
export type CertsDir = Map<string, { caFiles: string[]; clientPairs: [string, string][] }>;

/**
 * CRI-O's per-host certificates, as containers/image reads them: `<dir>/<host[:port]>/` (docker/docker_client.go
 * newDockerClient: the directory of `docker.io`, not registry-1.docker.io), every `*.crt` a CA added to the system
 * roots, every `*.cert` a client certificate with the `*.key` of the same name (pkg/tlsclientconfig
 * SetupCertificates). A `.cert` without its `.key` (or the reverse) makes containers/image fail for that host: it is
 * left out here and reported.
 */
export function readCertsDir(dir: string): { certs: CertsDir; warnings: string[] } | { error: string } {
  let hosts: string[];
  try {
    hosts = readdirSync(dir).filter((n) => !n.startsWith('..'));
  } catch (e) {
    return { error: `certs dir ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  const certs: CertsDir = new Map();
  const warnings: string[] = [];
  for (const h of hosts.slice(0, MAX_DROP_INS)) {
    const base = join(dir, h);
    let files: string[];
    try {
      if (!statSync(base).isDirectory()) continue;
      files = readdirSync(base).sort();
    } catch {
      continue;
    }
    const caFiles = files.filter((f) => f.endsWith('.crt')).map((f) => join(base, f));
    const clientPairs: [string, string][] = [];
    for (const f of files.filter((n) => n.endsWith('.cert'))) {
      const key = `${f.slice(0, -'.cert'.length)}.key`;
      if (files.includes(key)) clientPairs.push([join(base, f), join(base, key)]);
      else warnings.push(`${join(base, f)}: missing key ${key}; CRI-O fails every pull from ${h} until it is there`);
    }
    for (const f of files.filter((n) => n.endsWith('.key') && !files.includes(`${n.slice(0, -'.key'.length)}.cert`))) {
      warnings.push(`${join(base, f)}: missing client certificate ${f.slice(0, -'.key'.length)}.cert; CRI-O fails every pull from ${h} until it is there`);
    }
    if (caFiles.length > 0 || clientPairs.length > 0) certs.set(h, { caFiles, clientPairs });
  }
  return { certs, warnings };
}

/** Reads FILE and the `.conf` files of `registries.conf.d` beside it, in name order; `certsDir`: CRI-O's certs.d. */
export function loadRegistriesConf(file: string, opts: { certsDir?: string } = {}): { ok: true; value: { registries: NodeRegistries; conf: RegistriesConf; files: string[]; warnings: string[] } } | { ok: false; errors: string[] } {
  const certs = opts.certsDir ? readCertsDir(opts.certsDir) : undefined;
  if (certs && 'error' in certs) return { ok: false, errors: [certs.error] };
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
    const parsed = parseRegistriesConf(text, f, f !== file);
    if (!parsed.ok) return { ok: false, errors: [`registries.conf ${parsed.error}`] };
    conf = mergeRegistriesConf(conf, parsed.conf);
  }
  const final = conf;
  return { ok: true, value: { conf: final, files, warnings: certs?.warnings ?? [], registries: { plan: (ref, written) => planFromConf(final, ref, written, file, certs?.certs) } } };
}
