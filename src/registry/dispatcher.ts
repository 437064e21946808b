// Dispatcher choice for one endpoint: an undici Agent (keep-alive pool, connections per origin capped at
// maxConcurrency) or a ProxyAgent per HTTPS_PROXY/HTTP_PROXY (NO_PROXY respected), with the endpoint's TLS
// settings (extra CA on top of the system roots, skip-verify). Built lazily, closed together.
import { readFileSync } from 'node:fs';
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import type { BlockList } from 'node:net';
import { Agent, ProxyAgent, type Dispatcher } from 'undici';
import { RegistryError } from './errors.ts';
import { proxySelector, type ProxyEnv, type ProxySelector } from './proxy.ts';

/** Connection settings for one host (a registry or one of its mirrors). */
export interface EndpointSettings {
  /** `host[:port]` as it appears in URLs. */
  host: string;
  plainHTTP: boolean;
  /** PEM file with extra CAs, added to the system roots. */
  caFile?: string;
  /** More PEM CA files (hosts.toml `ca` as a list), added like caFile. */
  caFiles?: readonly string[];
  /** Client certificate/key PEM file pairs for mutual TLS (hosts.toml `client`; key '' = in the cert file). */
  clientPairs?: readonly (readonly [string, string])[];
  /** Extra headers on every request (hosts.toml `[header]`). */
  headers?: Readonly<Record<string, readonly string[]>>;
  insecureSkipVerify: boolean;
  maxConcurrency: number;
  /**
   * A loopback registry with no configuration: HTTPS first (without verification), plain HTTP when the TLS
   * handshake fails, as containerd 2.x's default hosts do (core/remotes/docker/config/hosts.go, HTTPFallback).
   */
  httpFallback?: boolean;
  /** Loopback/link-local/internal hosts the registry config allows redirects to. */
  allowedHosts?: readonly string[];
  /** defaults.internalNetworks: redirects into them are refused (unless allowed). */
  internalNetworks?: BlockList;
}

export interface DispatcherDeps {
  env: ProxyEnv;
  requestTimeoutMs: number;
  readFile?: (path: string) => string;
}

export interface Chosen {
  dispatcher: Dispatcher;
  proxy?: { host: string; port: number };
}

const KEEP_ALIVE_MS = 30_000;
/** Origins whose choice is remembered (the registry, its token realm, a few storage hosts); past it, forgotten. */
const MAX_ORIGINS = 64;

export class Dispatchers {
  readonly #settings: EndpointSettings;
  readonly #deps: DispatcherDeps;
  readonly #tls: TlsSettings | RegistryError;
  readonly #proxyFor: ProxySelector;
  #direct: Dispatcher | undefined;
  readonly #proxied = new Map<string, Dispatcher>();
  /** The choice per origin: the same for every request to it (the proxy environment is read once). */
  readonly #chosen = new Map<string, Chosen>();

  constructor(settings: EndpointSettings, deps: DispatcherDeps) {
    this.#settings = settings;
    this.#deps = deps;
    this.#tls = loadTls(settings, deps.readFile ?? ((p) => readFileSync(p, 'utf8')));
    this.#proxyFor = proxySelector(deps.env);
  }

  for(url: URL): Chosen | RegistryError {
    if (this.#tls instanceof RegistryError) return this.#tls;
    const origin = url.origin;
    let chosen = this.#chosen.get(origin);
    if (chosen === undefined) {
      chosen = this.#choose(url, this.#tls);
      if (this.#chosen.size >= MAX_ORIGINS) this.#chosen.clear();
      this.#chosen.set(origin, chosen);
    }
    return chosen;
  }

  #choose(url: URL, tls: TlsSettings): Chosen {
    const connect = { ...tls, timeout: this.#deps.requestTimeoutMs };
    const common = { connections: this.#settings.maxConcurrency, keepAliveTimeout: KEEP_ALIVE_MS, keepAliveMaxTimeout: KEEP_ALIVE_MS };
    const proxy = this.#proxyFor(url);
    if (!proxy) {
      this.#direct ??= new Agent({ ...common, connect });
      return { dispatcher: this.#direct };
    }
    const key = proxy.href;
    let d = this.#proxied.get(key);
    if (!d) {
      // requestTls: the tunnelled TLS session to the registry still verifies against our CA bundle.
      d = new ProxyAgent({ ...common, uri: proxy.href, requestTls: connect, proxyTls: { timeout: this.#deps.requestTimeoutMs } });
      this.#proxied.set(key, d);
    }
    const port = proxy.port ? Number(proxy.port) : proxy.protocol === 'https:' ? 443 : 80;
    return { dispatcher: d, proxy: { host: proxy.hostname, port } };
  }

  async close(): Promise<void> {
    const all = [this.#direct, ...this.#proxied.values()].filter((d): d is Dispatcher => d !== undefined);
    this.#direct = undefined;
    this.#proxied.clear();
    this.#chosen.clear();
    await Promise.allSettled(all.map((d) => d.close()));
  }
}

interface TlsSettings {
  /** Built once per endpoint: parsing a CA bundle costs ~13 ms and ~1 MiB per connection otherwise. */
  secureContext?: SecureContext;
  rejectUnauthorized: boolean;
}

function loadTls(settings: EndpointSettings, readFile: (p: string) => string): TlsSettings | RegistryError {
  const out: TlsSettings = { rejectUnauthorized: !settings.insecureSkipVerify };
  const caFiles = [...(settings.caFile ? [settings.caFile] : []), ...(settings.caFiles ?? [])];
  const pairs = settings.clientPairs ?? [];
  if (caFiles.length === 0 && pairs.length === 0) return out;
  const read = (file: string, what: string): string | RegistryError => {
    try {
      return readFile(file);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      return new RegistryError(`cannot read ${what} file ${file} for ${settings.host}${typeof code === 'string' ? ` (${code})` : ''}`, { reason: 'RegistryError', temporary: false });
    }
  };
  const cas: string[] = [];
  for (const file of caFiles) {
    const pem = read(file, 'CA');
    if (pem instanceof RegistryError) return pem;
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      return new RegistryError(`CA file ${file} for ${settings.host} holds no PEM certificate`, { reason: 'RegistryError', temporary: false });
    }
    cas.push(pem);
  }
  const certs: string[] = [];
  const keys: string[] = [];
  for (const [certFile, keyFile] of pairs) {
    const cert = read(certFile, 'client certificate');
    if (cert instanceof RegistryError) return cert;
    const key = keyFile ? read(keyFile, 'client key') : cert;
    if (key instanceof RegistryError) return key;
    certs.push(cert);
    keys.push(key);
  }
  // Node's `ca` replaces the default roots; keep them so redirects to public storage still verify.
  try {
    out.secureContext = createSecureContext({ ca: [...rootCertificates, ...cas], ...(certs.length > 0 ? { cert: certs, key: keys } : {}) });
  } catch (e) {
    return new RegistryError(`the TLS files (${[...caFiles, ...pairs.flat().filter(Boolean)].join(', ')}) for ${settings.host} cannot be used: ${(e as Error).message}`, { reason: 'RegistryError', temporary: false });
  }
  return out;
}
