// A cluster reader for running without an API server, in a module of its own: the CLI uses it without loading
// @kubernetes/client-node, which reader.ts imports.
import type { ClusterReader, NodeInfo } from './types.ts';

/** For running without an API server: only the given nodes are known; every lookup is Unavailable. */
export function disconnectedClusterReader(nodes: NodeInfo[] = []): ClusterReader {
  const unavailable = (what: string) =>
    Promise.resolve({ found: false, reason: 'Unavailable', message: `not connected to a Kubernetes API server; cannot read ${what}` } as const);
  return {
    connected: false,
    getSecret: (namespace, name) => unavailable(`secret ${namespace}/${name}`),
    getServiceAccountPullSecrets: (namespace, name) => unavailable(`service account ${namespace}/${name}`),
    getNamespaceLabels: (namespace) => unavailable(`namespace ${namespace}`),
    listNodes: () => Promise.resolve([...nodes]),
    close: () => Promise.resolve(),
  };
}
