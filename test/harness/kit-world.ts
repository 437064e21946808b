// The world half of the kit (test/harness/pullguard-kit.ts re-exports all of it): real registries with images pushed,
// a fault proxy in front of one of them, the fake API server seeded as a cluster, a temp dir and a registry config
// file trusting every host. Apart from pullguard's runtime, so a test that only runs the CLI (test/cli/env.ts) does
// not load the webhook, fastify, prom-client and the Kubernetes client it never uses (~2 s of CPU per process).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, type StartRegistryOptions, type TestRegistry } from './registry.ts';
import { pushImage, type PushOptions, type PushedImage } from './push.ts';
import { startFaultProxy, type FaultProxy } from './fault-proxy.ts';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.ts';
import { makeTempDir, removeTempDir } from './lifecycle.ts';

// ---------------------------------------------------------------------------------------------------------------
// Files: temp dirs, registry configs, pull secret documents.

/** A temp dir with a `file` writer; `remove` deletes it (and the process's exit does, if nothing else did). */
export function makeDir(prefix = 'pullguard-kit-'): { dir: string; file(name: string, content: string): string; remove(): void } {
  const dir = makeTempDir(prefix.replace(/^pullguard-/, '').replace(/-$/, ''));
  return {
    dir,
    file(name, content) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
    remove: () => removeTempDir(dir),
  };
}

/**
 * A registry config file in `dir` trusting each host's CA, with a 3 s request timeout (the tests' registries are
 * local: a slower answer is a fault under test). Named `name`, or uniquely when several are written to one dir.
 */
export function writeRegistryConfig(dir: string, hosts: { host: string; caFile: string }[], name?: string): string {
  const file = join(dir, name ?? `registries-${hosts.length}-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, JSON.stringify({
    registries: Object.fromEntries(hosts.map((h) => [h.host, { ca: h.caFile }])),
    defaults: { requestTimeoutMs: 3000 },
  }));
  return file;
}

type Users = Record<string, { username: string; password: string }>;

/** A `.dockerconfigjson` document: `{"auths": {KEY: {auth}}}` (or username/password when `form` says so), plus `extra` keys. */
export function dockerConfigJson(auths: Users, form: 'auth' | 'fields' = 'auth', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ auths: authEntries(auths, form), ...extra });
}

/** A legacy `.dockercfg` document: the registry map at the top level. */
export function dockerCfg(auths: Users, form: 'auth' | 'fields' = 'auth'): string {
  return JSON.stringify(authEntries(auths, form));
}

function authEntries(auths: Users, form: 'auth' | 'fields'): Record<string, Record<string, string>> {
  return Object.fromEntries(Object.entries(auths).map(([key, u]): [string, Record<string, string>] => [
    key,
    form === 'auth' ? { auth: Buffer.from(`${u.username}:${u.password}`).toString('base64') } : { username: u.username, password: u.password },
  ]));
}

// ---------------------------------------------------------------------------------------------------------------
// The world: registries, images, a fault proxy, a cluster.

export const AMD64 = { os: 'linux', architecture: 'amd64' } as const;
export const ARM64 = { os: 'linux', architecture: 'arm64' } as const;

export interface WorldImage extends PushOptions {
  /** The name of the registry (a key of WorldOptions.registries) to push to. */
  registry: string;
}

export interface WorldOptions {
  /** Registries by name, each started with these options (auth none, basic or token, ...). */
  registries: Record<string, StartRegistryOptions>;
  /** Pushed in parallel once the registries are up. */
  images?: WorldImage[];
  /** A fault proxy in front of this registry, trusted in the registry config as a registry of its own. */
  proxyFor?: string;
  /** Start the fake API server, and seed it with this function (namespaces, service accounts, nodes, secrets). */
  cluster?: (api: FakeApiServer, registries: Record<string, TestRegistry>) => void;
  /** The temp dir's name prefix. */
  dirPrefix?: string;
}

export interface World {
  registries: Record<string, TestRegistry>;
  /** Present when `proxyFor` was given. */
  proxy: FaultProxy | undefined;
  /** Present when `cluster` was given. */
  api: FakeApiServer | undefined;
  /** By `registry/repository:tag` (registry by its name in WorldOptions). */
  pushed: Record<string, PushedImage>;
  dir: string;
  /** `registries.yaml` in `dir`, trusting every registry and the proxy (writeRegistryConfig). */
  registryConfig: string;
  /** Writes a file in `dir` and returns its path. */
  file(name: string, content: string): string;
  /** Stops the API server, the proxy and the registries, and removes `dir`. */
  close(): Promise<void>;
}

export async function startWorld(opts: WorldOptions): Promise<World> {
  const names = Object.keys(opts.registries);
  const started = await Promise.all(names.map((name) => startRegistry(opts.registries[name])));
  const registries = Object.fromEntries(names.map((name, i) => [name, started[i]!]));
  const registryNamed = (name: string): TestRegistry => {
    const r = registries[name];
    if (!r) throw new Error(`no registry named ${name} in this world`);
    return r;
  };
  const proxy = opts.proxyFor === undefined ? undefined : await startFaultProxy(registryNamed(opts.proxyFor));
  const pushed: Record<string, PushedImage> = {};
  await Promise.all((opts.images ?? []).map(async ({ registry, ...push }) => {
    pushed[`${registry}/${push.repository}:${push.tag}`] = await pushImage(registryNamed(registry), push);
  }));
  let api: FakeApiServer | undefined;
  if (opts.cluster) {
    api = await startFakeApiServer();
    opts.cluster(api, registries);
  }
  const dir = makeDir(opts.dirPrefix);
  const trusted = [...started, ...(proxy ? [{ host: proxy.host, caFile: registryNamed(opts.proxyFor!).caFile }] : [])];
  return {
    registries,
    proxy,
    api,
    pushed,
    dir: dir.dir,
    registryConfig: writeRegistryConfig(dir.dir, trusted, 'registries.yaml'),
    file: dir.file,
    async close() {
      await Promise.allSettled([api?.stop(), proxy?.stop()]);
      await Promise.allSettled(started.map((r) => r.stop()));
      dir.remove();
    },
  };
}
