// Shared setup for the registry integration tests: references, credentials and clients pointed at a
// harness registry (its CA trusted through the per-registry config, never through process env).
import { parseReference, type Reference } from '../../src/reference/reference.ts';
import { createRegistryClient, type RegistryClient, type RegistryClientDeps } from '../../src/registry/client.ts';
import type { RegistryConfigInput, RegistryHostConfig } from '../../src/registry/config.ts';
import type { PullCredential } from '../../src/registry/resolution.ts';
import type { TestUser } from '../harness/registry.ts';

export function ref(s: string): Reference {
  const p = parseReference(s);
  if (!p.ok) throw new Error(`${s}: ${p.error.message}`);
  return p.reference;
}

export function cred(source: string, user: TestUser | { username: string; password: string }): PullCredential {
  return { source, key: 'test', username: user.username, password: user.password };
}

/** A client trusting the test CA for `hosts`, with no proxy from the environment unless given. */
export function clientFor(hosts: Record<string, RegistryHostConfig & { caFile?: string }>, deps: RegistryClientDeps = {}, defaults: RegistryConfigInput['defaults'] = {}): RegistryClient {
  const registries: Record<string, RegistryHostConfig> = {};
  for (const [host, c] of Object.entries(hosts)) {
    const { caFile, ...rest } = c;
    registries[host] = { ...(caFile ? { ca: caFile } : {}), ...rest };
  }
  return createRegistryClient({ registries, defaults: { requestTimeoutMs: 5000, ...defaults } }, { env: {}, ...deps });
}
