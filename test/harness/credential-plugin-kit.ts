// Test kit for kubelet credential provider plugins: a bin dir whose executables (one per provider name) run the
// fake plugin in test/harness/credential-plugin.sh, and CredentialProviderConfig documents to go with them.
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FAKE_PLUGIN = fileURLToPath(new URL('./credential-plugin.sh', import.meta.url));

/** Writes an executable named `name` into `binDir` that runs the fake plugin (the kubelet runs binDir/name). */
export function installFakePlugin(binDir: string, name: string): string {
  const path = join(binDir, name);
  writeFileSync(path, `#!/bin/sh\nexec /bin/sh ${JSON.stringify(FAKE_PLUGIN)} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

export interface ProviderEntry {
  name: string;
  matchImages: string[];
  defaultCacheDuration?: string;
  apiVersion?: string;
  args?: string[];
  env?: { name: string; value: string }[];
  tokenAttributes?: Record<string, unknown>;
}

/** A kubelet.config.k8s.io/v1 CredentialProviderConfig (JSON, which the kubelet's YAML decoder reads too). */
export function providerConfig(providers: ProviderEntry[]): string {
  return JSON.stringify({
    apiVersion: 'kubelet.config.k8s.io/v1',
    kind: 'CredentialProviderConfig',
    providers: providers.map((p) => ({ defaultCacheDuration: '10m', apiVersion: 'credentialprovider.kubelet.k8s.io/v1', ...p })),
  }, null, 2);
}

/** The images the fake plugin was asked for, one per execution, from its PLUGIN_COUNT_FILE. */
export function executions(countFile: string): string[] {
  if (!existsSync(countFile)) return [];
  return readFileSync(countFile, 'utf8').split('\n').filter((l) => l !== '');
}
