// `serve` follows the nodes' files it was given (registry.hostsDir or registry.registriesConf, and
// credentialProviders.config): mounted ConfigMaps change under a running pod. A changed file is read again with the
// start-up loader; what does not load is logged and counted, and the model in use is kept (as the TLS reload does).
import type { Config } from '../config.ts';
import type { Metrics } from '../metrics.ts';
import { loadCredentialProviderConfig } from '../credentials/provider-config.ts';
import { createCredentialProviders, type CredentialProviders, type CredentialProvidersOptions } from '../credentials/provider.ts';
import { loadHostsDir, loadRegistriesConf, nodeRegistryPaths, watchFiles, type FileWatch, type NodeRegistries } from '../registry/index.ts';

export interface ReloadLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error?(obj: object, msg: string): void;
}

export interface NodeFileTargets {
  node?: { swap(next: NodeRegistries): void };
  providers?: { swap(next: CredentialProviders): void };
  providerOptions?: CredentialProvidersOptions;
  /** After a reload: answers cached under the old files (a blocked registry, a mirror's "not found") are dropped. */
  reloaded?: () => void;
}

export function reloadNodeFiles(config: Config, targets: NodeFileTargets, log: ReloadLog, metrics?: Pick<Metrics, 'nodeFileReloads'>, intervalMs?: number): FileWatch[] {
  const watches: FileWatch[] = [];
  const counted = (source: string, result: 'ok' | 'error') => metrics?.nodeFileReloads.inc({ source, result });
  const refused = (obj: object, msg: string) => (log.error ? log.error(obj, msg) : log.warn(obj, msg));
  const { hostsDir, registriesConf, certsDir } = config.registry;
  const node = targets.node;
  if (node && (hostsDir || registriesConf)) {
    const source = hostsDir ? 'hostsDir' : 'registriesConf';
    watches.push(watchFiles(nodeRegistryPaths({ ...(hostsDir ? { hostsDir } : {}), ...(registriesConf ? { registriesConf, certsDir } : {}) }), () => {
      const loaded = hostsDir ? loadHostsDir(hostsDir) : loadRegistriesConf(registriesConf as string, { certsDir });
      if (!loaded.ok) {
        counted(source, 'error');
        refused({ source, errors: loaded.errors }, 'the nodes\' registry files changed but cannot be used; keeping the configuration in use');
        return;
      }
      node.swap(loaded.value.registries);
      targets.reloaded?.();
      counted(source, 'ok');
      const warnings = 'warnings' in loaded.value ? loaded.value.warnings : [];
      log.info({ source, path: hostsDir ?? registriesConf, warnings }, 'the nodes\' registry files changed: reloaded');
    }, intervalMs));
  }
  const providers = targets.providers;
  const providerConfig = config.credentialProviders.config;
  if (providers && providerConfig) {
    watches.push(watchFiles([{ path: providerConfig, depth: 1 }], () => {
      const loaded = loadCredentialProviderConfig(providerConfig, config.credentialProviders.binDir);
      if (!loaded.ok) {
        counted('credentialProviders', 'error');
        refused({ source: 'credentialProviders', errors: loaded.errors }, 'the credential provider config changed but cannot be used; keeping the providers in use');
        return;
      }
      providers.swap(createCredentialProviders(loaded.providers, targets.providerOptions));
      targets.reloaded?.();
      counted('credentialProviders', 'ok');
      log.info({ source: 'credentialProviders', providers: loaded.providers.map((p) => p.name) }, 'the credential provider config changed: reloaded');
    }, intervalMs));
  }
  return watches;
}
