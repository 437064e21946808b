// What pullguard reads from the API server, as plain data. src/cluster is the only place that talks to it;
// everything above depends on the ClusterReader interface, so tests and the CLI can pass their own.
import type { Platform } from '../reference/platform.ts';

export interface NodeInfo {
  name: string;
  labels: Record<string, string>;
  /** From labels kubernetes.io/os, kubernetes.io/arch (and status.nodeInfo when labels are missing). */
  platform: Platform;
  /** Image names the node reports in status.images (all names and digests). */
  images: string[];
  unschedulable?: boolean;
  /** spec.taints that keep pods off the node (NoSchedule, NoExecute); absent when there are none. */
  taints?: NodeTaint[];
  /** status.nodeInfo.containerRuntimeVersion, e.g. `containerd://1.7.22`, `cri-o://1.31.1`. */
  containerRuntimeVersion?: string;
  /** status.nodeInfo.kubeletVersion, e.g. `v1.35.0`. */
  kubeletVersion?: string;
}

export interface NodeTaint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'NoExecute';
}

export interface DockerSecret {
  namespace: string;
  name: string;
  type: string;
  /** Secret data, base64-decoded. Never logged. */
  data: Record<string, Buffer>;
}

export type Lookup<T> =
  | { found: true; value: T }
  | { found: false; reason: 'NotFound' | 'Forbidden' | 'Unavailable'; message: string };

export interface ClusterReader {
  /** True when backed by a real API server connection. */
  readonly connected: boolean;
  getSecret(namespace: string, name: string): Promise<Lookup<DockerSecret>>;
  /** The names listed in the ServiceAccount's imagePullSecrets. */
  getServiceAccountPullSecrets(namespace: string, name: string): Promise<Lookup<string[]>>;
  /** Node inventory; empty when unknown. */
  listNodes(): Promise<NodeInfo[]>;
  getNamespaceLabels(namespace: string): Promise<Lookup<Record<string, string>>>;
  close(): Promise<void>;
  // Optional: what the get/list above would answer now, when that answer is at hand (a fresh cached one), without a
  // promise; undefined when it is not (expired, in flight, never read). A warm review then waits for nothing.
  peekSecret?(namespace: string, name: string): Lookup<DockerSecret> | undefined;
  peekServiceAccountPullSecrets?(namespace: string, name: string): Lookup<string[]> | undefined;
  peekNamespaceLabels?(namespace: string): Lookup<Record<string, string>> | undefined;
  peekNodes?(): NodeInfo[] | undefined;
}

/** Where src/cluster logs. Pino-compatible: fields first, then the message. */
export interface ClusterLogger {
  warn(fields: object, message: string): void;
  info(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}
