// A whole pullguard (buildRuntime from a Config, the webhook through fastify.inject) against several real
// registries and one fake API server, for the end-to-end tests of "pull as the kubelet pulls": the kit's
// startPullguard (test/harness/pullguard-kit.ts) under the names these tests use. Unlike test/admission/env.ts it
// leaves the registries, nodes and secrets to each test file, and can start several pullguards over one cluster.
import type { Config } from '../../src/config.ts';
import type { FakeApiServer } from '../harness/fake-apiserver.ts';
import { makeDir as makeKitDir, startPullguard as startKitPullguard, type Pullguard } from '../harness/pullguard-kit.ts';

export { dockerCfg, dockerConfigJson, writeRegistryConfig, type Pullguard, type ReviewOut } from '../harness/pullguard-kit.ts';

export function makeDir(): { dir: string; remove(): void } {
  return makeKitDir('pullguard-check-');
}

/** Starts a pullguard on this API server and registry config; `configure` edits the Config first. */
export function startPullguard(api: FakeApiServer, registryConfigFile: string, configure: (c: Config) => void = () => {}): Pullguard {
  return startKitPullguard({ api, registryConfig: registryConfigFile, configure });
}
