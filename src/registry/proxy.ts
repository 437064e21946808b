// Which HTTP proxy (if any) a request URL goes through, from HTTPS_PROXY / HTTP_PROXY / NO_PROXY with Go's
// `httpproxy` semantics (upper case wins, `*` disables, domains match subdomains, IPs and CIDRs, optional port).
// Pure; the environment is passed in so tests never touch process.env.
import { BlockList, isIP } from 'node:net';

export type ProxyEnv = Readonly<Record<string, string | undefined>>;

function envAny(env: ProxyEnv, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = env[n];
    if (v !== undefined && v.trim() !== '') return v.trim();
  }
  return undefined;
}

/** A proxy URL from the environment; `host:port` without a scheme means http://. Undefined when unusable. */
function proxyUrl(raw: string | undefined): URL | undefined {
  if (!raw) return undefined;
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  try {
    const u = new URL(withScheme);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}

function defaultPort(protocol: string): number {
  return protocol === 'https:' ? 443 : 80;
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

interface NoProxyRule {
  match(host: string, port: number): boolean;
}

/** Parses NO_PROXY into rules; `*` yields a rule matching everything. */
export function parseNoProxy(value: string | undefined): NoProxyRule[] {
  if (!value) return [];
  const rules: NoProxyRule[] = [];
  for (const raw of value.split(/[,\s]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') {
      rules.push({ match: () => true });
      continue;
    }
    // CIDR
    const cidr = /^([0-9a-f:.]+)\/(\d{1,3})$/.exec(entry);
    if (cidr && isIP(cidr[1] as string)) {
      const list = new BlockList();
      const family = isIP(cidr[1] as string) === 6 ? 'ipv6' : 'ipv4';
      try {
        list.addSubnet(cidr[1] as string, Number(cidr[2]), family);
        rules.push({ match: (host) => isIP(host) !== 0 && list.check(host, isIP(host) === 6 ? 'ipv6' : 'ipv4') });
      } catch {
        // an invalid prefix length matches nothing
      }
      continue;
    }
    let hostPart = entry;
    let port = 0;
    const withPort = /^(.*):(\d{1,5})$/.exec(entry);
    if (withPort && isIP(entry) !== 6) {
      hostPart = withPort[1] as string;
      port = Number(withPort[2]);
    }
    hostPart = stripBrackets(hostPart);
    if (isIP(hostPart)) {
      rules.push({ match: (host, p) => host === hostPart && (port === 0 || p === port) });
      continue;
    }
    const domain = hostPart.replace(/^\*?\./, '');
    rules.push({ match: (host, p) => (port === 0 || p === port) && (host === domain || host.endsWith(`.${domain}`)) });
  }
  return rules;
}

/** Picks the proxy for a request URL, or undefined for a direct connection. */
export type ProxySelector = (target: URL) => URL | undefined;

/**
 * Reads the proxy variables once and parses NO_PROXY once, as Go's http.ProxyFromEnvironment does (envProxyFunc
 * under a sync.Once, net/http/transport.go): the environment of a running process does not change. HTTPS
 * requests use HTTPS_PROXY, HTTP requests HTTP_PROXY; NO_PROXY exempts hosts.
 */
export function proxySelector(env: ProxyEnv): ProxySelector {
  const https = proxyUrl(envAny(env, 'HTTPS_PROXY', 'https_proxy'));
  const http = proxyUrl(envAny(env, 'HTTP_PROXY', 'http_proxy'));
  if (!https && !http) return () => undefined;
  const noProxy = parseNoProxy(envAny(env, 'NO_PROXY', 'no_proxy'));
  return (target) => {
    const proxy = target.protocol === 'https:' ? https : http;
    if (!proxy) return undefined;
    const host = stripBrackets(target.hostname.toLowerCase());
    const port = target.port ? Number(target.port) : defaultPort(target.protocol);
    for (const rule of noProxy) if (rule.match(host, port)) return undefined;
    return proxy;
  };
}

/** The proxy for `target` under `env` (a selector for one request). */
export function proxyFor(target: URL, env: ProxyEnv): URL | undefined {
  return proxySelector(env)(target);
}
