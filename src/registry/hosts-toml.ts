// containerd's registry host configuration: a `config_path` tree of `<host>/hosts.toml` files (docs/hosts.md),
// read as containerd 2.x reads it (core/remotes/docker/config/hosts.go @00774fe: ConfigureHosts, hostPaths,
// parseHostsFile, parseHostConfig, loadCertFiles) into the NodePlan model. Read once at start-up.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { DEFAULT_REGISTRY, type Reference } from '../reference/reference.ts';
import type { NodeHost, NodePlan, NodeRegistries } from './node-hosts.ts';

/** One host entry of a hosts.toml, before it is applied to an image (host '' = the image's own registry). */
export type HostTemplate = Omit<NodeHost, 'repository' | 'ns'>;

export type ParsedHosts = { ok: true; hosts: HostTemplate[] } | { ok: false; error: string };

const MAX_FILE_BYTES = 1024 * 1024;
const MAX_HOSTS = 64;

/**
 * parseHostsFile: the `[host."…"]` entries in file order, then the root entry (`server`, or '' for the image's own
 * registry). Relative `ca`/`client` paths are relative to the hosts.toml directory (makeAbsPath).
 */
export function parseHostsToml(text: string, baseDir: string): ParsedHosts {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (e) {
    return { ok: false, error: `invalid TOML: ${(e instanceof Error ? e.message : String(e)).split('\n')[0] ?? ''}` };
  }
  const hosts: HostTemplate[] = [];
  const table = doc['host'];
  if (table !== undefined && (typeof table !== 'object' || table === null || Array.isArray(table))) return { ok: false, error: '"host" must be a table of [host."URL"] entries' };
  // JS objects keep string keys in insertion order: the order of the [host."…"] headers (getSortedHosts).
  for (const [server, entry] of Object.entries((table ?? {}) as Record<string, unknown>)) {
    if (hosts.length >= MAX_HOSTS) return { ok: false, error: `more than ${MAX_HOSTS} hosts` };
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return { ok: false, error: `host "${server}" must be a table` };
    const parsed = parseHostConfig(server, baseDir, entry as Record<string, unknown>);
    if (typeof parsed === 'string') return { ok: false, error: `host "${server}": ${parsed}` };
    hosts.push(parsed);
  }
  const server = doc['server'];
  if (server !== undefined && typeof server !== 'string') return { ok: false, error: '"server" must be a string' };
  const root = parseHostConfig(server ?? '', baseDir, doc);
  if (typeof root === 'string') return { ok: false, error: root };
  hosts.push(root);
  return { ok: true, hosts };
}

function parseHostConfig(server: string, baseDir: string, c: Record<string, unknown>): HostTemplate | string {
  const out: HostTemplate = { host: '', scheme: 'https', path: '/v2', pull: true, resolve: true };
  if (server !== '') {
    let u: URL;
    try {
      u = new URL(server.startsWith('http') ? server : `https://${server}`);
    } catch {
      return `unable to parse server ${JSON.stringify(server)}`;
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return `unsupported scheme in ${JSON.stringify(server)}`;
    out.scheme = u.protocol === 'http:' ? 'http' : 'https';
    out.host = u.host;
    // path.Clean; `/v2` appended unless the path already ends with it or override_path says it is the API root.
    const clean = u.pathname.replace(/\/+/g, '/').replace(/\/$/, '');
    const override = c['override_path'] === true;
    if (c['override_path'] !== undefined && typeof c['override_path'] !== 'boolean') return '"override_path" must be true or false';
    out.path = clean === '' ? (override ? '' : '/v2') : clean.endsWith('/v2') || override ? clean : `${clean}/v2`;
  }
  const caps = c['capabilities'];
  if (caps !== undefined) {
    if (!Array.isArray(caps)) return '"capabilities" must be a list';
    if (caps.length > 0) {
      out.pull = false;
      out.resolve = false;
      for (const cap of caps) {
        const name = typeof cap === 'string' ? cap.toLowerCase() : '';
        if (name === 'pull') out.pull = true;
        else if (name === 'resolve') out.resolve = true;
        else if (name !== 'push') return `unknown capability ${JSON.stringify(cap)}`;
      }
    }
  }
  const skip = c['skip_verify'];
  if (skip !== undefined) {
    if (typeof skip !== 'boolean') return '"skip_verify" must be true or false';
    out.skipVerify = skip;
  }
  const abs = (p: string) => (isAbsolute(p) ? p : join(baseDir, p));
  const ca = c['ca'];
  if (ca !== undefined) {
    if (typeof ca === 'string') out.caFiles = [abs(ca)];
    else if (Array.isArray(ca) && ca.every((x) => typeof x === 'string')) out.caFiles = (ca as string[]).map(abs);
    else return `invalid type for "ca" (a path or a list of paths)`;
  }
  const client = c['client'];
  if (client !== undefined) {
    const pairs: [string, string][] = [];
    const items = typeof client === 'string' ? [client] : Array.isArray(client) ? (client as unknown[]) : undefined;
    if (!items) return 'invalid type for "client"';
    for (const item of items) {
      if (typeof item === 'string') pairs.push([abs(item), '']);
      else if (Array.isArray(item) && item.length === 2 && item.every((x) => typeof x === 'string')) pairs.push([abs(item[0] as string), item[1] ? abs(item[1] as string) : '']);
      else return `invalid pair ${JSON.stringify(item)} for "client"`;
    }
    out.clientPairs = pairs;
  }
  const header = c['header'];
  if (header !== undefined) {
    if (typeof header !== 'object' || header === null || Array.isArray(header)) return '"header" must be a table';
    const headers: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(header as Record<string, unknown>)) {
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k)) return `invalid header name ${JSON.stringify(k)}`;
      const values = typeof v === 'string' ? [v] : Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
      if (!values) return `invalid type for header ${JSON.stringify(k)}`;
      if (values.some((x) => /[\r\n\0]/.test(x))) return `header ${JSON.stringify(k)} holds a line break`;
      headers[k] = values;
    }
    if (Object.keys(headers).length > 0) out.headers = headers;
  }
  return out;
}

/** `host:port` → `host_port_` (hostDirectory). */
export function hostDirectory(host: string): string {
  const i = host.lastIndexOf(':');
  return i > 0 ? `${host.slice(0, i)}_${host.slice(i + 1)}_` : host;
}

/** Directories searched for a registry, in order (hostPaths, Unix). */
export function hostPaths(host: string): string[] {
  const ch = hostDirectory(host);
  return [...(ch !== host ? [ch] : []), host, '_default'];
}

/** The hosts for one image from a directory's templates (ConfigureHosts' defaults for the root entry). */
export function applyHosts(templates: HostTemplate[], ref: Reference, source: string): NodePlan {
  const ns = ref.registry;
  const hosts = templates.map((t, i): NodeHost => {
    const last = i === templates.length - 1;
    let h: NodeHost = { ...t, repository: ref.repository };
    if (last && t.host === '') {
      // No `server`: the image's own registry with every capability (docker.io → registry-1.docker.io).
      h = { ...h, host: ns === DEFAULT_REGISTRY ? 'registry-1.docker.io' : ns, scheme: 'https', path: '/v2', pull: true, resolve: true };
    }
    // isProxy: containerd adds ns= for a host other than the registry (registry-1.docker.io counts as docker.io).
    if (h.host !== ns && !(ns === DEFAULT_REGISTRY && h.host === 'registry-1.docker.io')) {
      h.ns = ns;
      // ParseAuth keeps the kubelet's credentials from a host only when AuthConfig.ServerAddress names another
      // one, and the kubelet's keyring entries (pkg/credentialprovider keyring.go Add) carry no ServerAddress:
      // the node may well send them here. We still do not; an auth failure here is therefore not certain.
      h.nodeSendsCredentials = true;
    }
    return h;
  });
  return { hosts, source };
}

export interface HostsDirLoad {
  registries: NodeRegistries;
  /** Directories the nodes would also not read as hosts.toml (containerd logs them and uses certificate files). */
  warnings: string[];
  /** Directory names read. */
  namespaces: string[];
}

/**
 * Reads a config_path tree. A hosts.toml that does not parse is what containerd logs and ignores (loadHostDir falls
 * back to the Docker certificate files of the directory): we do the same and warn.
 */
export function loadHostsDir(dir: string): { ok: true; value: HostsDirLoad } | { ok: false; errors: string[] } {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory() || d.isSymbolicLink()).map((d) => d.name);
  } catch (e) {
    return { ok: false, errors: [`hosts dir ${dir}: ${(e as { code?: string }).code ?? (e as Error).message}`] };
  }
  const warnings: string[] = [];
  const trees = new Map<string, HostTemplate[]>();
  for (const name of names.filter((n) => !n.startsWith('..'))) {
    const base = join(dir, name);
    try {
      if (!statSync(base).isDirectory()) continue;
    } catch {
      continue;
    }
    const file = join(base, 'hosts.toml');
    let text = '';
    try {
      if (statSync(file).size > MAX_FILE_BYTES) {
        warnings.push(`${file}: larger than ${MAX_FILE_BYTES} bytes, ignored as containerd would ignore a file it cannot decode`);
      } else {
        text = readFileSync(file, 'utf8');
      }
    } catch {
      // no hosts.toml: Docker's certificate file pattern
    }
    if (text.length > 0) {
      const parsed = parseHostsToml(text, base);
      if (parsed.ok) {
        trees.set(name, parsed.hosts);
        continue;
      }
      warnings.push(`${file}: ${parsed.error}; containerd ignores it and uses the directory's certificate files`);
    }
    trees.set(name, certFiles(base));
  }
  const registries: NodeRegistries = {
    plan(ref) {
      for (const name of hostPaths(ref.registry)) {
        const templates = trees.get(name);
        if (templates) return applyHosts(templates, ref, `hosts.toml ${join(dir, name)}`);
      }
      return undefined;
    },
  };
  return { ok: true, value: { registries, warnings, namespaces: [...trees.keys()] } };
}

/** loadCertFiles: `.crt` files are CAs; `.cert` files client certificates with the `.key` of the same name. */
function certFiles(base: string): HostTemplate[] {
  const root: HostTemplate = { host: '', scheme: 'https', path: '/v2', pull: true, resolve: true };
  let files: string[] = [];
  try {
    files = readdirSync(base).sort();
  } catch {
    return [root];
  }
  const cas = files.filter((f) => f.endsWith('.crt')).map((f) => join(base, f));
  const pairs: [string, string][] = files.filter((f) => f.endsWith('.cert')).map((f) => {
    const key = `${f.slice(0, -5)}.key`;
    return [join(base, f), files.includes(key) ? join(base, key) : ''];
  });
  if (cas.length > 0) root.caFiles = cas;
  if (pairs.length > 0) root.clientPairs = pairs;
  return [root];
}
