// Finds the API server pullguard talks to: an explicit kubeconfig file, else $KUBECONFIG, else the in-cluster
// service account. With none of them pullguard runs unconnected (configured credentials and platforms only), and
// the caller logs the reason.
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

/** Where Kubernetes mounts a pod's service-account token, CA bundle and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export type KubeConfigResult =
  | { ok: true; kc: KubeConfig; source: 'file' | 'in-cluster' | 'env' }
  | { ok: false; reason: string };

export interface LoadKubeConfigOptions {
  /** A kubeconfig file given explicitly (e.g. --kubeconfig); wins over everything else. */
  kubeconfig?: string;
  /** Where KUBECONFIG and KUBERNETES_SERVICE_HOST/PORT are read (default process.env). */
  env?: Record<string, string | undefined>;
  /** Where the service account is mounted (default SERVICE_ACCOUNT_DIR). */
  serviceAccountDir?: string;
}

export function loadKubeConfig(opts: LoadKubeConfigOptions): KubeConfigResult {
  const env = opts.env ?? process.env;
  if (opts.kubeconfig) return fromFiles([opts.kubeconfig], 'file', `kubeconfig ${opts.kubeconfig}`);
  const files = (env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f !== '');
  if (files.length > 0) return fromFiles(files, 'env', `KUBECONFIG=${env.KUBECONFIG}`);
  return inCluster(env, opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
}

/** Loads and merges the files like kubectl: the first file that names a current context sets it. */
function fromFiles(files: string[], source: 'file' | 'env', origin: string): KubeConfigResult {
  const kc = new KubeConfig();
  for (const [i, file] of files.entries()) {
    try {
      if (i === 0) {
        kc.loadFromFile(file);
      } else {
        const next = new KubeConfig();
        next.loadFromFile(file);
        kc.mergeConfig(next, Boolean(kc.currentContext));
      }
    } catch (err) {
      return { ok: false, reason: `cannot load ${origin}: ${file}: ${firstLine(err)}` };
    }
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    return { ok: false, reason: `${origin} has no current context with a cluster server (current-context: "${kc.currentContext ?? ''}")` };
  }
  return { ok: true, kc, source };
}

function inCluster(env: Record<string, string | undefined>, dir: string): KubeConfigResult {
  const tokenFile = path.join(dir, 'token');
  const host = env.KUBERNETES_SERVICE_HOST;
  const none = 'no --kubeconfig given and KUBECONFIG not set';
  if (!existsSync(tokenFile)) {
    return { ok: false, reason: `not connected to a cluster: ${none}, and no service-account token at ${tokenFile} (not running in a pod?)` };
  }
  if (!host) {
    return { ok: false, reason: `not connected to a cluster: ${none}; a service-account token is at ${tokenFile} but KUBERNETES_SERVICE_HOST is not set` };
  }
  const port = env.KUBERNETES_SERVICE_PORT || '443';
  const namespaceFile = path.join(dir, 'namespace');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [
      {
        name: 'in-cluster',
        server: `https://${net.isIPv6(host) ? `[${host}]` : host}:${port}`,
        caFile: path.join(dir, 'ca.crt'),
        skipTLSVerify: false,
      },
    ],
    // A token file, not the token: it is re-read as the kubelet rotates it.
    users: [{ name: 'in-cluster', authProvider: { name: 'tokenFile', config: { tokenFile } } }],
    contexts: [
      {
        name: 'in-cluster',
        cluster: 'in-cluster',
        user: 'in-cluster',
        ...(existsSync(namespaceFile) ? { namespace: readFileSync(namespaceFile, 'utf8').trim() } : {}),
      },
    ],
    currentContext: 'in-cluster',
  });
  return { ok: true, kc, source: 'in-cluster' };
}

/** Only the first line: YAML errors go on to quote the file, which may hold tokens or keys. */
function firstLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? '';
}
