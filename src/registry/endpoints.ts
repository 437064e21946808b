// Where to ask for an image, in containerd's order: the configured mirrors (hosts.toml semantics, with `ns=`),
// then the registry itself. Credentials belong to the registry host (the keyring key's host, the CRI's
// AuthConfig.ServerAddress); a mirror gets them only when it is that host.
import { registryEndpoint, type Reference } from '../reference/reference.ts';
import type { RegistryConfig, RegistryHostConfig } from './config.ts';
import type { EndpointSettings } from './dispatcher.ts';
import type { BlockList } from 'node:net';
import { isLoopbackHost } from './network-policy.ts';

export interface Endpoint {
  settings: EndpointSettings;
  host: string;
  mirror: boolean;
  query?: Record<string, string>;
  /** The credentials matched to the image may be sent here. */
  credentials: boolean;
}

export function endpointsFor(ref: Reference, config: RegistryConfig, internalNetworks?: BlockList): Endpoint[] {
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
  }));
  const settings: EndpointSettings = {
    host: upstream,
    plainHTTP: host.plainHTTP ?? false,
    ...(host.ca ? { caFile: host.ca } : {}),
    insecureSkipVerify: host.insecureSkipVerify ?? false,
    maxConcurrency,
    ...(host.allowedHosts ? { allowedHosts: host.allowedHosts } : {}),
    ...(internalNetworks ? { internalNetworks } : {}),
  };
  if (!configured) Object.assign(settings, loopbackDefaults(upstream));
  out.push({ settings, host: upstream, mirror: false, credentials: true });
  return out;
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
