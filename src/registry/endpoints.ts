// Where to ask for an image, in containerd's order: the configured mirrors (hosts.toml semantics, with `ns=`),
// then the registry itself. Credentials belong to the registry host (the keyring key's host, the CRI's
// AuthConfig.ServerAddress); a mirror gets them only when it is that host.
// The nodes' own configuration (NodePlan from hosts.toml or registries.conf) wins over pullguard's short form.
import { registryEndpoint, type Reference } from '../reference/reference.ts';
import type { RegistryConfig, RegistryHostConfig } from './config.ts';
import type { EndpointSettings } from './dispatcher.ts';
import type { BlockList } from 'node:net';
import { isLoopbackHost } from './network-policy.ts';
import type { NodeHost, NodePlan } from './node-hosts.ts';

export interface Endpoint {
  settings: EndpointSettings;
  host: string;
  mirror: boolean;
  query?: Record<string, string>;
  /** The credentials matched to the image may be sent here. */
  credentials: boolean;
  /** API root path when not `/v2` (hosts.toml override_path or a path in the host URL). */
  apiRoot?: string;
  /** The repository on this endpoint when the node's configuration rewrites it (registries.conf `location`). */
  repository?: string;
  /** The node would send the credentials here but we do not: an auth failure is unknown, not a deny. */
  withheldCredentials?: boolean;
}

/** The endpoints for an image, or the node's refusal to pull it at all. */
export interface EndpointPlan {
  endpoints: Endpoint[];
  /** The node configuration the endpoints come from, for explanations. */
  source?: string;
  refused?: NodePlan['refused'];
  /**
   * Hosts the node would ask that pullguard cannot reach: the node's own loopback, seen from a pod
   * (RegistryConfig.loopbackIsNodes). They are not asked, and a "no" from the others is then not certain.
   */
  nodeOnly?: string[];
  /** NodePlan.ambiguous: an answer found at a candidate is AmbiguousShortName. */
  ambiguous?: string;
}

export function endpointsFor(ref: Reference, config: RegistryConfig, internalNetworks?: BlockList): Endpoint[] {
  return planEndpoints(ref, config, internalNetworks).endpoints;
}

export function planEndpoints(ref: Reference, config: RegistryConfig, internalNetworks?: BlockList, written?: string): EndpointPlan {
  const plan = config.node?.plan(ref, written);
  if (plan) return fromNodePlan(ref, plan, config, internalNetworks);
  const configured: RegistryHostConfig | undefined = config.registries[ref.registry];
  const host = configured ?? {};
  const upstream = registryEndpoint(ref.registry);
  const maxConcurrency = host.maxConcurrency ?? config.defaults.maxConcurrency;
  const out: Endpoint[] = (host.mirrors ?? []).map((m) => ({
    settings: { host: m.host, plainHTTP: m.plainHTTP ?? false, ...(m.ca ? { caFile: m.ca } : {}), insecureSkipVerify: m.insecureSkipVerify ?? false, maxConcurrency, ...(internalNetworks ? { internalNetworks } : {}) },
    host: m.host,
    mirror: true,
    query: { ns: ref.registry },
    credentials: m.host === upstream || m.host === ref.registry,
    // As for a hosts.toml mirror (fromNodePlan): the node may send the secret we withhold.
    ...(m.host === upstream || m.host === ref.registry ? {} : { withheldCredentials: true }),
  }));
  // In a pod, a loopback registry with mirrors is reached through them only: after they miss, the node asks its own
  // loopback, which is not pullguard's (asking ours is a wasted request whose answer proves nothing, #11).
  if (config.loopbackIsNodes && out.length > 0 && isLoopbackHost(upstream)) return { endpoints: out, nodeOnly: [upstream] };
  out.push(upstreamEndpoint(ref, config, internalNetworks));
  return { endpoints: out };
}

function upstreamEndpoint(ref: Reference, config: RegistryConfig, internalNetworks: BlockList | undefined): Endpoint {
  const configured: RegistryHostConfig | undefined = config.registries[ref.registry];
  const host = configured ?? {};
  const upstream = registryEndpoint(ref.registry);
  const settings: EndpointSettings = {
    host: upstream,
    plainHTTP: host.plainHTTP ?? false,
    ...(host.ca ? { caFile: host.ca } : {}),
    insecureSkipVerify: host.insecureSkipVerify ?? false,
    maxConcurrency: host.maxConcurrency ?? config.defaults.maxConcurrency,
    ...(host.allowedHosts ? { allowedHosts: host.allowedHosts } : {}),
    ...(internalNetworks ? { internalNetworks } : {}),
  };
  if (!configured) Object.assign(settings, loopbackDefaults(upstream));
  return { settings, host: upstream, mirror: false, credentials: true };
}

/**
 * A node plan as endpoints. Tags resolve only on hosts with `resolve`; a digest is fetched from hosts with `pull`
 * (containerd core/remotes/docker/resolver.go Resolve: `caps := HostCapabilityPull`, `|= HostCapabilityResolve`
 * for a tag, then filterHosts(caps); none left → "no resolve hosts", the pull fails).
 * Credentials go only to the image's own registry. containerd's CRI withholds the kubelet's AuthConfig from a host
 * only when its ServerAddress names another host (internal/cri/server/images/image_pull.go ParseAuth, containerd
 * 2.1; pkg/cri/server/image_pull.go in 1.7), and the kubelet's keyring sets no ServerAddress; CRI-O sets them as
 * the SystemContext's DockerAuthConfig for every endpoint. So a node may send them to a mirror
 * (NodeHost.nodeSendsCredentials): we still withhold them, and an auth failure there is unknown, never a deny.
 */
function fromNodePlan(ref: Reference, plan: NodePlan, config: RegistryConfig, internalNetworks: BlockList | undefined): EndpointPlan {
  if (plan.refused) return { endpoints: [], source: plan.source, refused: plan.refused };
  const upstream = registryEndpoint(ref.registry);
  const byDigest = ref.digest !== undefined;
  const usable = plan.hosts.filter((h) => (byDigest ? h.pull : h.resolve));
  if (usable.length === 0) {
    const what = byDigest ? 'pull' : 'resolve';
    return {
      endpoints: [],
      source: plan.source,
      refused: {
        reason: 'RegistryBlocked',
        detail: `${plan.source} gives no host with the "${what}" capability for ${ref.registry}, so the node cannot ${byDigest ? 'pull' : 'resolve the tag of'} ${ref.name}${byDigest ? '' : ': pin the image by digest, or add "resolve" to a host'}`,
      },
    };
  }
  // In a pod, a loopback host of the node's file is the node's own, unless pullguard's config names it (#11).
  const unreachable = (h: NodeHost) => config.loopbackIsNodes === true && isLoopbackHost(h.host) && !Object.keys(config.registries).some((k) => k.toLowerCase() === h.host.toLowerCase());
  const nodeOnly = usable.filter(unreachable).map((h) => h.host);
  const endpoints = usable.filter((h) => !unreachable(h)).map((h): Endpoint => {
    const own = h.host === upstream || h.host === ref.registry;
    if (own && h.repository === ref.repository && isPlainUpstream(h)) {
      // The registry itself with no node-specific settings: pullguard's own settings for it apply.
      return { ...upstreamEndpoint(ref, config, internalNetworks), mirror: false };
    }
    return {
      settings: nodeSettings(h, config, ref, internalNetworks),
      host: h.host,
      mirror: !own,
      ...(h.ns ? { query: { ns: h.ns } } : {}),
      credentials: own,
      ...(h.path !== '/v2' ? { apiRoot: h.path } : {}),
      ...(h.repository !== ref.repository ? { repository: h.repository } : {}),
      ...(!own && h.nodeSendsCredentials ? { withheldCredentials: true } : {}),
    };
  });
  return { endpoints, source: plan.source, ...(nodeOnly.length > 0 ? { nodeOnly } : {}), ...(plan.ambiguous ? { ambiguous: plan.ambiguous } : {}) };
}

function isPlainUpstream(h: NodeHost): boolean {
  return h.scheme === 'https' && h.path === '/v2' && !h.caFiles && !h.clientPairs && h.skipVerify === undefined && !h.headers && !h.httpFallback;
}

function nodeSettings(h: NodeHost, config: RegistryConfig, ref: Reference, internalNetworks: BlockList | undefined): EndpointSettings {
  const own = config.registries[ref.registry];
  // pullguard's own entry for this host supplies what the node file leaves out (registries.conf has no CA key:
  // CRI-O reads /etc/containers/certs.d, which pullguard does not see).
  const self = config.registries[h.host];
  const explicitTls = h.caFiles !== undefined || h.clientPairs !== undefined || h.skipVerify !== undefined;
  const port = /:(\d+)$/.exec(h.host)?.[1];
  // containerd ConfigureHosts: an http host with TLS settings and a port other than 80 tries HTTPS first.
  const fallback = h.httpFallback === true || (h.scheme === 'http' && explicitTls && port !== '80');
  return {
    host: h.host,
    plainHTTP: (h.scheme === 'http' && !fallback) || (self?.plainHTTP === true && !fallback),
    ...(h.caFiles && h.caFiles.length > 0 ? { caFiles: h.caFiles } : self?.ca ? { caFile: self.ca } : {}),
    ...(h.clientPairs && h.clientPairs.length > 0 ? { clientPairs: h.clientPairs } : {}),
    insecureSkipVerify: h.skipVerify ?? self?.insecureSkipVerify ?? false,
    maxConcurrency: own?.maxConcurrency ?? config.defaults.maxConcurrency,
    ...(fallback ? { httpFallback: true } : {}),
    ...(h.headers ? { headers: h.headers } : {}),
    ...(own?.allowedHosts ? { allowedHosts: own.allowedHosts } : {}),
    ...(internalNetworks ? { internalNetworks } : {}),
  };
}

/**
 * containerd's defaults for a loopback registry with no hosts.toml (core/remotes/docker/config/hosts.go @00774fe):
 * port 80 is plain HTTP; 443 (or none) is HTTPS; any other port tries HTTPS first, then HTTP. containerd also skips
 * certificate verification there; we keep verifying (an unverifiable loopback registry is unknown, never a deny).
 */
function loopbackDefaults(host: string): Partial<EndpointSettings> {
  if (!isLoopbackHost(host)) return {};
  const port = /:(\d+)$/.exec(host)?.[1];
  if (port === '80') return { plainHTTP: true };
  if (port === undefined || port === '443') return {};
  return { httpFallback: true };
}
