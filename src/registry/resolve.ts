// resolve(): one image reference against its registry, as the kubelet/containerd would pull it — orchestration
// only. For each endpoint (mirrors first, endpoints.ts): ping for the challenge (ping.ts), then the credential
// attempts in the kubelet's order (attempts.ts), each inspecting the manifest and platforms (inspect.ts).
import type { BlockList } from 'node:net';
import type { Reference } from '../reference/reference.ts';
import { TokenService } from './auth.ts';
import { attemptCredentials } from './attempts.ts';
import type { RegistryConfig } from './config.ts';
import { planEndpoints, type Endpoint } from './endpoints.ts';
import type { Clock, RegistryLogger, RegistryObserver } from './exchange.ts';
import { inspect } from './inspect.ts';
import { networks } from './network-policy.ts';
import { errorFields, type Outcome } from './outcome.ts';
import { PingCache } from './ping.ts';
import { PlatformCache } from './platform-cache.ts';
import type { ProxyEnv } from './proxy.ts';
import { PullBudget } from './pull-budget.ts';
import { isDefinite, resolution, type Platform, type PullCredential, type RegistryOutcome, type Resolution } from './resolution.ts';
import { TransportPool } from './transport-pool.ts';

export interface ResolveOptions {
  /** Candidate platforms the pod may run on; empty = any platform is fine (no platform check). */
  platforms: Platform[];
  /** Credentials that matched the image, in keyring order; each tried in turn, anonymous only when empty. */
  credentials: PullCredential[];
  /** Epoch ms (the client's clock); past it → RegistryTimeout. */
  deadline?: number;
  /** Cancels the registry requests (a review whose deadline passed). */
  signal?: AbortSignal;
  /** Default true: on TagNotFound, list tags for the closest ones. */
  suggestTags?: boolean;
  /** Credentials come from a kubelet credential provider: a 401/403 with no working credential is unknown. */
  nodeCredentials?: boolean;
  /** The image as written in the spec, for Resolution.image; default the canonical reference. */
  image?: string;
}

export interface ResolverDeps {
  clock: Clock;
  env: ProxyEnv;
  observer?: RegistryObserver;
  logger?: RegistryLogger;
  readFile?: (path: string) => string;
}

/** What a mirror answers that ends the search: it had the manifest (containerd would pull from it). */
const MIRROR_FINAL: ReadonlySet<RegistryOutcome> = new Set(['Resolved', 'PlatformMismatch', 'UnsupportedManifest', 'PullBudgetLow']);

/** Refusals that the node's own credentials for a mirror could lift. */
const AUTH_REFUSALS: ReadonlySet<RegistryOutcome> = new Set(['AuthRequired', 'CredentialsRejected', 'AccessDenied']);

/**
 * A host that is not the image's own registry refusing pullguard's anonymous request (it gets no pod secret) is
 * not the node's answer, wherever it stands in the order: the node may hold credentials for it that pullguard cannot
 * see (k3s/RKE2 registries.yaml, containerd registry.configs."<host>".auth, CRI-O global_auth_file), and containerd
 * may send it the pod's (ParseAuth sets no ServerAddress). containerd's Resolve (core/remotes/docker/resolver.go
 * v2.1) and containers/image's newImageSource (docker/docker_image_src.go, go.podman.io/image v5) end with the last
 * host's error only after the node's own credentials failed there, so a mirror's refusal never becomes a deny.
 */
function mirrorAuthUnsure(endpoint: Endpoint, out: Outcome): Outcome {
  if (endpoint.credentials || !AUTH_REFUSALS.has(out.reason) || !out.credentialsTried.every((c) => c === 'anonymous')) return out;
  return {
    ...out,
    reason: 'NodeCredentialsAssumed',
    fields: { ...out.fields, detail: `${endpoint.host} answered ${out.reason} to pullguard's anonymous request; the nodes may hold credentials for this mirror that pullguard cannot see (k3s/RKE2 registries.yaml, containerd registry.configs auth, CRI-O global_auth_file)` },
  };
}

const NOT_FOUND: ReadonlySet<RegistryOutcome> = new Set(['TagNotFound', 'DigestNotFound', 'RepositoryNotFound']);

/**
 * The last host is not the image's registry and the node sends it the pod's credentials, which we withhold: its
 * "not found" to our anonymous request is not the node's answer (registries such as GHCR, GitLab or Harbor hide
 * what an account may not see). With no upstream after it to ask with the credentials, it is not certain.
 */
function withheldNotFound(endpoint: Endpoint, out: Outcome, podCredentials: number): Outcome | undefined {
  if (endpoint.credentials || !endpoint.withheldCredentials || podCredentials === 0 || !NOT_FOUND.has(out.reason)) return undefined;
  return {
    ...out,
    reason: 'NodeCredentialsAssumed',
    fields: { ...out.fields, detail: `${endpoint.host} answered ${out.reason} to pullguard's anonymous request, but the nodes send it the pod's credentials, which pullguard keeps to the image's own registry; it may show them more` },
  };
}

export class Resolver {
  readonly #config: RegistryConfig;
  readonly #deps: ResolverDeps;
  #transports: TransportPool;
  /** Pools replaced by renewTransports, closed with the resolver (or once several newer ones replaced them). */
  readonly #retired: TransportPool[] = [];
  readonly #pings: PingCache;
  readonly #tokens: TokenService;
  readonly #platforms = new PlatformCache();
  readonly #budget: PullBudget;
  readonly #internalNetworks: BlockList | undefined;

  constructor(config: RegistryConfig, deps: ResolverDeps) {
    this.#config = config;
    this.#deps = deps;
    this.#pings = new PingCache(deps.clock);
    this.#tokens = new TokenService(deps.clock);
    this.#budget = new PullBudget(deps.clock);
    this.#internalNetworks = networks(config.defaults.internalNetworks);
    this.#transports = new TransportPool({ ...deps, requestTimeoutMs: config.defaults.requestTimeoutMs });
  }

  async resolve(ref: Reference, opts: ResolveOptions): Promise<Resolution> {
    const image = opts.image ?? ref.canonical;
    const notes: string[] = [];
    const plan = planEndpoints(ref, this.#config, this.#internalNetworks, opts.image);
    if (plan.refused) return resolution(plan.refused.reason, image, { reference: ref.canonical, detail: plan.refused.detail });
    const { endpoints } = plan;
    if (plan.source) notes.push(`hosts from ${plan.source}`);
    // A host passed over that pullguard could not check (down for us, withheld credentials) may serve the node.
    let unchecked: { host: string; out: Outcome } | undefined;
    const nodeOnly = plan.nodeOnly?.[0];
    if (nodeOnly) {
      unchecked = {
        host: nodeOnly,
        out: { reason: 'RegistryUnreachable', fields: { cause: 'network', detail: `the node would also ask ${nodeOnly}, its own loopback, which pullguard in a pod cannot reach (server.inCluster)` }, credentialsTried: [] },
      };
      if (endpoints.length === 0) return this.#finish(image, ref, unchecked.out, notes, undefined);
    }
    for (const [i, endpoint] of endpoints.entries()) {
      const out = mirrorAuthUnsure(endpoint, await this.#resolveAt(endpoint, ref, opts));
      const last = i === endpoints.length - 1;
      // With the node's configuration every host but the last is left on any failure (containerd's Resolve
      // moves on after a 404, other 4xx, 5xx or network error; containers/image tries each pull source).
      if ((endpoint.mirror || plan.source !== undefined) && !MIRROR_FINAL.has(out.reason) && !last) {
        notes.push(`mirror ${endpoint.host}: ${out.reason}${out.fields.status !== undefined ? ` (${out.fields.status})` : ''}${out.fields.cause ? ` (${out.fields.cause})` : ''}`);
        if (!isDefinite(out.reason)) unchecked ??= { host: endpoint.host, out };
        continue;
      }
      const withheld = last ? withheldNotFound(endpoint, out, opts.credentials.length) : undefined;
      if (withheld) return this.#finish(image, ref, withheld, notes, undefined);
      if (unchecked && isDefinite(out.reason) && out.reason !== 'Resolved') {
        // First rule: the later host's "no" is not certain while an earlier one could not be asked.
        const why = `${endpoint.host} answered ${out.reason}, but the node may still pull the image from ${unchecked.host}, which pullguard could not check`;
        return this.#finish(image, ref, { ...unchecked.out, fields: { ...unchecked.out.fields, detail: [unchecked.out.fields.detail, why].filter(Boolean).join('; ') } }, notes, undefined);
      }
      const via = endpoint.mirror ? [`answered by mirror ${endpoint.host}`] : notes.length > 0 ? [`answered by ${endpoint.host}`] : [];
      const scheme = this.#schemeNote(endpoint);
      // A short name found at one of its candidates: pulled only where CRI-O does not enforce short names.
      const final: Outcome = plan.ambiguous && MIRROR_FINAL.has(out.reason) ? { ...out, reason: 'AmbiguousShortName', fields: { ...out.fields, detail: `${plan.ambiguous}; ${endpoint.host} answered ${out.reason}${endpoint.repository ? ` for ${endpoint.repository}` : ''}` } } : out;
      return this.#finish(image, ref, final, [...notes, ...via, ...(scheme.note ? [scheme.note] : [])], scheme.scheme);
    }
    return resolution('RegistryError', image, { reference: ref.canonical, detail: 'no endpoint to ask' });
  }

  /** An unconfigured loopback registry says which scheme answered (containerd tries HTTPS, then HTTP). */
  #schemeNote(endpoint: Endpoint): { scheme?: 'https' | 'http'; note?: string } {
    if (!endpoint.settings.httpFallback) return {};
    const scheme = this.#transports.get(endpoint.settings).scheme;
    return { scheme, note: scheme === 'http' ? `${endpoint.host} answered over plain HTTP after HTTPS failed, as containerd 2.x falls back for a loopback registry without configuration` : `${endpoint.host} answered over HTTPS` };
  }

  #finish(image: string, ref: Reference, out: Outcome, notes: string[], scheme: 'https' | 'http' | undefined): Resolution {
    const detail = [out.fields.detail, ...notes].filter((x): x is string => Boolean(x)).join('; ');
    return resolution(out.reason, image, {
      reference: ref.canonical,
      ...out.fields,
      ...(detail ? { detail } : {}),
      ...(scheme ? { scheme } : {}),
      credentialsTried: out.credentialsTried,
      ...(out.credentialUsed !== undefined ? { credentialUsed: out.credentialUsed } : {}),
    });
  }

  async #resolveAt(endpoint: Endpoint, ref: Reference, opts: ResolveOptions): Promise<Outcome> {
    const transport = this.#transports.get(endpoint.settings);
    const ctx = { ...(opts.deadline === undefined ? {} : { deadline: opts.deadline }), ...(opts.signal ? { signal: opts.signal } : {}) };
    const ping = await this.#pings.ping(transport, ctx, endpoint.apiRoot);
    if (!ping.ok) return { reason: ping.error.reason, fields: errorFields(ping.error), credentialsTried: [] };
    if (ping.value.status === 429 || ping.value.status >= 500) {
      const reason: RegistryOutcome = ping.value.status === 429 ? 'RateLimited' : 'RegistryError';
      return { reason, fields: { status: ping.value.status, registryMessage: String(ping.value.status), detail: `GET /v2/ on ${endpoint.host} answered ${ping.value.status}` }, credentialsTried: [] };
    }
    const hostConfig = this.#config.registries[ref.registry];
    // registries.conf `location` rewrites the repository on this endpoint.
    const target = endpoint.repository ? { ...ref, repository: endpoint.repository } : ref;
    return attemptCredentials(
      {
        sender: transport,
        baseUrl: transport.baseUrl,
        host: endpoint.host,
        challenges: ping.value.challenges,
        plainHTTP: endpoint.settings.plainHTTP,
        ...(endpoint.query ? { query: endpoint.query } : {}),
        ...(endpoint.apiRoot !== undefined ? { apiRoot: endpoint.apiRoot } : {}),
        ...(hostConfig?.allowedHosts ? { allowedHosts: hostConfig.allowedHosts } : {}),
        ...(this.#internalNetworks ? { internalNetworks: this.#internalNetworks } : {}),
      },
      target,
      endpoint.credentials ? opts.credentials : [],
      ctx,
      Boolean(opts.nodeCredentials || hostConfig?.nodeCredentials || (endpoint.withheldCredentials && opts.credentials.length > 0)),
      { clock: this.#deps.clock, tokens: this.#tokens, ...(this.#deps.logger ? { logger: this.#deps.logger } : {}) },
      (c) =>
        inspect(c, { ref: target, platforms: opts.platforms, suggestTags: opts.suggestTags !== false, mirror: endpoint.mirror }, {
          defaults: this.#config.defaults,
          platforms: this.#platforms,
          budget: this.#budget,
          ...(this.#deps.observer ? { observer: this.#deps.observer } : {}),
        }),
    );
  }

  /**
   * The node files were reloaded: CA and client files are read when a host's transport is set up, so a file rotated
   * or completed at the same path is read only by new transports. The old pool is not closed at once: resolutions in
   * flight still use it (closed with the resolver, or after four newer pools).
   */
  renewTransports(): void {
    this.#retired.push(this.#transports);
    if (this.#retired.length > 4) void this.#retired.shift()?.close();
    this.#transports = new TransportPool({ ...this.#deps, requestTimeoutMs: this.#config.defaults.requestTimeoutMs });
  }

  async close(): Promise<void> {
    await Promise.all([this.#transports, ...this.#retired.splice(0)].map((p) => p.close()));
  }
}
