// What the nodes' own registry configuration says about one image: the hosts the runtime tries, in order, and
// whether it refuses the pull. One model for containerd's hosts.toml tree (hosts-toml.ts) and the containers
// registries.conf of CRI-O (registries-conf.ts); endpoints.ts turns a plan into the endpoints the resolver asks.
import type { Reference } from '../reference/reference.ts';

/** One host the runtime would contact for the image, with the connection settings the node uses for it. */
export interface NodeHost {
  /** `host[:port]` as in URLs. */
  host: string;
  scheme: 'https' | 'http';
  /** API root path on the host: `/v2` unless the configuration names another (hosts.toml override_path). */
  path: string;
  /** The repository as this host knows it (registries.conf `location` rewrites it). */
  repository: string;
  /** May fetch content by digest. */
  pull: boolean;
  /** May resolve a tag to a digest (a tag is never asked of a host without it). */
  resolve: boolean;
  /** CA bundles trusted for this host, on top of the system roots. */
  caFiles?: string[];
  /** Client certificate/key file pairs (key '' = in the certificate file). */
  clientPairs?: [string, string][];
  skipVerify?: boolean;
  /** HTTPS first, plain HTTP when the TLS handshake fails (registries.conf `insecure`). */
  httpFallback?: boolean;
  /** Extra headers sent on every request to the host. */
  headers?: Record<string, string[]>;
  /** `ns=<registry>` on every request: containerd names the registry it mirrors. */
  ns?: string;
  /**
   * The node sends the pod's credentials here even though it is not the image's registry (CRI-O hands them to
   * containers/image for every endpoint): an auth failure here is not certain, since we withhold them.
   */
  nodeSendsCredentials?: boolean;
}

export interface NodePlan {
  /** Tried in order; the first that has the image answers. */
  hosts: NodeHost[];
  /** Where the plan comes from, for explanations (`hosts.toml /etc/containerd/certs.d/docker.io`). */
  source: string;
  /** The node refuses the pull without contacting anyone (registries.conf `blocked`, short-name enforcing). */
  refused?: { reason: 'RegistryBlocked' | 'AmbiguousShortName'; detail: string };
  /**
   * The hosts are every candidate of a short name the nodes may refuse as ambiguous (CRI-O's crio.conf decides):
   * a found image is then AmbiguousShortName (unknown), while "found nowhere" fails in every mode.
   */
  ambiguous?: string;
}

/** A source of node registry configuration, consulted for every image. */
export interface NodeRegistries {
  /** The plan for `ref`, or undefined when the node configuration says nothing about it. */
  plan(ref: Reference, written?: string): NodePlan | undefined;
}
