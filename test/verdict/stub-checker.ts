// A checker over the given registry and cluster with every other option at its plain value (no node credentials,
// no exclusions, platforms from the nodes): the base the verdict unit tests vary one option at a time.
import type { ClusterReader } from '../../src/cluster/types.ts';
import { createChecker, type CheckerOptions } from '../../src/verdict/check.ts';

export function stubChecker(registry: CheckerOptions['registry'], cluster: ClusterReader, opts: Partial<CheckerOptions> = {}) {
  return createChecker({
    registry,
    cluster,
    nodeCredentials: [],
    nodeCredentialRegistries: [],
    serviceAccountSecrets: true,
    fallbackPlatforms: [],
    platformsFromNodes: true,
    excludeImages: [],
    excludeRegistries: [],
    ...opts,
  });
}
