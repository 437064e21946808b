// The engine (engine.ts) with the cluster client and the metrics host labeller linked in up front: for `serve`,
// `audit` and tests, which use them anyway. `resolve` and `check` use engine.ts's openRuntime instead, which loads
// the cluster client only when a kubeconfig is read.
import { loadKubeConfig } from '../cluster/kubeconfig.ts';
import { createClusterReader } from '../cluster/reader.ts';
import { hostLabeller, type Metrics } from '../metrics.ts';
import type { RegistryObserver } from '../registry/index.ts';
import { assembleRuntime, observeRegistry, type RuntimeOptions, type RuntimeResult } from './engine.ts';

export { checkerFor, configuredHosts, readNodeCredentials, runsInCluster } from './engine.ts';
export type { Runtime, RuntimeLog, RuntimeOptions, RuntimeResult } from './engine.ts';

/**
 * Prometheus hooks for the registry client; none when metrics are off (CLI). Hosts that are neither configured nor
 * well known share the label `other`, so image names cannot add series (see hostLabeller).
 */
export function registryObserver(metrics: Metrics | undefined, hosts: string[] = []): RegistryObserver | undefined {
  return observeRegistry(metrics, hosts, hostLabeller);
}

export function buildRuntime(config: Parameters<typeof assembleRuntime>[0], opts: RuntimeOptions): RuntimeResult {
  return assembleRuntime(config, opts, { cluster: { loadKubeConfig, createClusterReader }, hostLabeller });
}
