// The registry layer's public surface: resolve image references against their registries, as the kubelet
// would pull them. Everything else in src/registry is internal to it; nothing outside imports past this file.
export { createRegistryClient, type RegistryClient, type RegistryClientDeps } from './client.ts';
export type { ResolveOptions } from './resolve.ts';
export type { RegistryObserver, RegistryLogger, RequestEvent, Clock } from './exchange.ts';
export { parsePlatform, formatPlatform, normalizePlatform, platformMatches, matchPlatforms } from '../reference/platform.ts';
export {
  loadRegistryConfig,
  validateRegistryConfig,
  registryConfigSchema,
  DEFAULT_REGISTRY_DEFAULTS,
  type RegistryConfig,
  type RegistryConfigInput,
  type RegistryHostConfig,
  type MirrorConfig,
  type RegistryDefaults,
  type LoadResult,
} from './config.ts';
// Whether an image's registry host is loopback: in a pod, that is the node's loopback (verdict/check.ts).
export { isLoopbackHost } from './network-policy.ts';
export { RegistryError, type Diagnostic } from './errors.ts';
export { loadHostsDir, parseHostsToml, type HostsDirLoad } from './hosts-toml.ts';
export { loadRegistriesConf, parseRegistriesConf, isShortName, type RegistriesConf } from './registries-conf.ts';
export type { NodeRegistries, NodePlan, NodeHost } from './node-hosts.ts';
export { watchFiles, nodeRegistryPaths, swappableNodeRegistries, type FileWatch } from './node-files.ts';
export { suggestTags, editDistance } from './suggest.ts';
export { resolution } from './resolution.ts';
export type { Platform, PullCredential, Resolution, RegistryOutcome, UnreachableCause } from './resolution.ts';
export { withResolutionCache, cacheKey, type CachingResolver, type ResolutionCacheOptions } from './resolution-cache.ts';
export { withRateLimitBackoff, type BackoffResolver, type BackoffOptions } from './rate-limit-backoff.ts';
export { Singleflight, type Waiter } from './singleflight.ts';
