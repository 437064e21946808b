// serve follows the nodes' files it was given (issue #14 leftover): registries.conf and its drop-ins, a hosts.toml
// tree, and the kubelet's credential provider config are read again when they change, including by a ConfigMap's
// `..data` symlink swap; a change that does not load is logged and counted, and the model in use is kept. The
// images here name closed loopback ports, so "asked" shows as RegistryUnreachable and "refused" costs no request.
import { mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t, { type Test } from 'tap';
import { pino } from 'pino';
import { DEFAULT_CONFIG, type Config } from '../../src/config.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { buildRuntime, type Runtime } from '../../src/cli/runtime.ts';
import { configFrom, parse, SERVE_OPTIONS } from '../../src/cli/flags.ts';
import { installFakePlugin, providerConfig } from '../harness/credential-plugin-kit.ts';
import { makeDir } from '../verdict/check-env.ts';
import { closedPort } from '../cli/env.ts';
import { ref } from './registry-fixture.ts';

const work = makeDir();
t.teardown(() => work.remove());
const POLL_MS = 20;

interface Started {
  rt: Runtime;
  metrics: Metrics;
  logs: string[];
}

function start(t: Test, configure: (c: Config) => void): Started {
  const config = structuredClone(DEFAULT_CONFIG);
  config.kubernetes.enabled = false;
  configure(config);
  const metrics = createMetrics();
  const logs: string[] = [];
  const log = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, cb) => (logs.push(chunk.toString()), cb()) }));
  const built = buildRuntime(config, { log, metrics, reloadNodeFiles: true, nodeFilesPollMs: POLL_MS });
  if (!built.ok) throw new Error(built.errors.join('; '));
  t.teardown(() => built.runtime.close());
  return { rt: built.runtime, metrics, logs };
}

async function reloads(metrics: Metrics, source: string, result: 'ok' | 'error'): Promise<number> {
  const got = await metrics.nodeFileReloads.get();
  return got.values.find((v) => v.labels['source'] === source && v.labels['result'] === result)?.value ?? 0;
}

/** Waits (polling, up to 10 s) until `cond` holds; the watcher polls every 20 ms and reloads once a change settles. */
async function until(cond: () => Promise<boolean> | boolean): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return false;
}

const resolveReason = async (rt: Runtime, image: string) => (await rt.registry.resolve(ref(image), { platforms: [], credentials: [], image })).reason;

t.test('registries.conf: a rewrite is followed, a broken one keeps the model in use, a new drop-in is read', async (t) => {
  const [p1, p2, p3] = [await closedPort(), await closedPort(), await closedPort()];
  const dir = join(work.dir, 'containers');
  mkdirSync(dir);
  const file = join(dir, 'registries.conf');
  const blocking = (port: number) => `[[registry]]\nlocation = "127.0.0.1:${port}"\nblocked = true\n`;
  writeFileSync(file, blocking(p1));
  const { rt, metrics, logs } = start(t, (c) => (c.registry.registriesConf = file));
  t.equal(await resolveReason(rt, `127.0.0.1:${p1}/x:1`), 'RegistryBlocked');
  writeFileSync(file, blocking(p2));
  t.ok(await until(async () => (await reloads(metrics, 'registriesConf', 'ok')) === 1), 'reloaded once');
  t.equal(await resolveReason(rt, `127.0.0.1:${p2}/x:1`), 'RegistryBlocked', 'the new file blocks p2');
  t.equal(await resolveReason(rt, `127.0.0.1:${p1}/x:1`), 'RegistryUnreachable', 'and no longer p1: it is asked');
  writeFileSync(file, '[[registry]\n');
  t.ok(await until(async () => (await reloads(metrics, 'registriesConf', 'error')) === 1), 'the broken file is counted as an error');
  t.equal(await resolveReason(rt, `127.0.0.1:${p2}/x:1`), 'RegistryBlocked', 'the model in use is kept');
  t.ok(logs.some((l) => /cannot be used; keeping the configuration in use/.test(l) && /invalid TOML/.test(l)), 'and the reason is logged');
  writeFileSync(file, blocking(p2));
  mkdirSync(join(dir, 'registries.conf.d'));
  writeFileSync(join(dir, 'registries.conf.d', '50-more.conf'), blocking(p3));
  t.ok(await until(async () => (await resolveReason(rt, `127.0.0.1:${p3}/x:1`)) === 'RegistryBlocked'), 'a new drop-in is read');
  t.equal(await resolveReason(rt, `127.0.0.1:${p2}/x:1`), 'RegistryBlocked');
});

t.test('a ConfigMap update (the ..data symlink swapped) is followed', async (t) => {
  const [p1, p2] = [await closedPort(), await closedPort()];
  const mount = join(work.dir, 'configmap');
  mkdirSync(join(mount, '..2026_01'), { recursive: true });
  writeFileSync(join(mount, '..2026_01', 'registries.conf'), `[[registry]]\nlocation = "127.0.0.1:${p1}"\nblocked = true\n`);
  symlinkSync('..2026_01', join(mount, '..data'));
  symlinkSync(join('..data', 'registries.conf'), join(mount, 'registries.conf'));
  const { rt, metrics } = start(t, (c) => (c.registry.registriesConf = join(mount, 'registries.conf')));
  t.equal(await resolveReason(rt, `127.0.0.1:${p1}/x:1`), 'RegistryBlocked');
  // The kubelet's atomic writer: a new timestamped directory, a temporary link, renamed over ..data.
  mkdirSync(join(mount, '..2026_02'));
  writeFileSync(join(mount, '..2026_02', 'registries.conf'), `[[registry]]\nlocation = "127.0.0.1:${p2}"\nblocked = true\n`);
  symlinkSync('..2026_02', join(mount, '..data_tmp'));
  renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
  t.ok(await until(async () => (await reloads(metrics, 'registriesConf', 'ok')) >= 1), 'reloaded');
  t.equal(await resolveReason(rt, `127.0.0.1:${p2}/x:1`), 'RegistryBlocked');
  t.equal(await resolveReason(rt, `127.0.0.1:${p1}/x:1`), 'RegistryUnreachable');
});

t.test('a hosts.toml tree: a host gaining "resolve" is followed', async (t) => {
  const port = await closedPort();
  const dir = join(work.dir, 'certs.d');
  mkdirSync(join(dir, '_default'), { recursive: true });
  const hosts = (caps: string) => `server = "https://127.0.0.1:${port}"\ncapabilities = [${caps}]\n`;
  writeFileSync(join(dir, '_default', 'hosts.toml'), hosts('"pull"'));
  const { rt, metrics } = start(t, (c) => (c.registry.hostsDir = dir));
  t.equal(await resolveReason(rt, 'registry.example.test/x:1'), 'RegistryBlocked', 'no host may resolve a tag');
  writeFileSync(join(dir, '_default', 'hosts.toml'), hosts('"pull", "resolve"'));
  t.ok(await until(async () => (await reloads(metrics, 'hostsDir', 'ok')) === 1));
  t.equal(await resolveReason(rt, 'registry.example.test/x:1'), 'RegistryUnreachable', 'now the server is asked');
});

t.test('the credential provider config: a new matchImages is followed; a plugin that is missing keeps the old providers', async (t) => {
  const bin = join(work.dir, 'reload-bin');
  mkdirSync(bin);
  installFakePlugin(bin, 'good');
  const conf = join(work.dir, 'reload-providers.json');
  writeFileSync(conf, providerConfig([{ name: 'good', matchImages: ['one.example.test'] }]));
  const { rt, metrics, logs } = start(t, (c) => (c.credentialProviders = { config: conf, binDir: bin }));
  const providers = rt.credentialProviders;
  if (!providers) return t.fail('no providers');
  t.ok(providers.matches({ registry: 'one.example.test', repository: 'x' }));
  writeFileSync(conf, providerConfig([{ name: 'good', matchImages: ['two.example.test'] }]));
  t.ok(await until(async () => (await reloads(metrics, 'credentialProviders', 'ok')) === 1));
  t.ok(providers.matches({ registry: 'two.example.test', repository: 'x' }), 'the new pattern matches');
  t.notOk(providers.matches({ registry: 'one.example.test', repository: 'x' }), 'the old one no longer does');
  writeFileSync(conf, providerConfig([{ name: 'absent', matchImages: ['three.example.test'] }]));
  t.ok(await until(async () => (await reloads(metrics, 'credentialProviders', 'error')) === 1));
  t.ok(providers.matches({ registry: 'two.example.test', repository: 'x' }), 'the providers in use are kept');
  t.ok(logs.some((l) => /keeping the providers in use/.test(l) && /absent did not exist/.test(l)));
});

t.test('the CLI commands (no reloadNodeFiles) do not watch', async (t) => {
  const port = await closedPort();
  const file = join(work.dir, 'cli-registries.conf');
  writeFileSync(file, `[[registry]]\nlocation = "127.0.0.1:${port}"\nblocked = true\n`);
  const config = structuredClone(DEFAULT_CONFIG);
  config.kubernetes.enabled = false;
  config.registry.registriesConf = file;
  const metrics = createMetrics();
  const built = buildRuntime(config, { log: pino({ level: 'silent' }), metrics, nodeFilesPollMs: POLL_MS });
  if (!built.ok) return t.fail(built.errors.join('; '));
  t.teardown(() => built.runtime.close());
  writeFileSync(file, '');
  await new Promise((r) => setTimeout(r, POLL_MS * 10));
  t.equal(await reloads(metrics, 'registriesConf', 'ok'), 0);
  t.equal(await resolveReason(built.runtime, `127.0.0.1:${port}/x:1`), 'RegistryBlocked', 'the file as read at start-up');
});

t.test('--certs-dir sets registry.certsDir; it is read with registriesConf only, and a half client pair is reported', async (t) => {
  const parsed = parse(['--certs-dir', '/etc/containers/certs.d', '--registries-conf', '/etc/containers/registries.conf'], SERVE_OPTIONS);
  if (!parsed.ok) return t.fail(parsed.error);
  t.match(configFrom(parsed.values, {}), { ok: true, config: { registry: { certsDir: '/etc/containers/certs.d', registriesConf: '/etc/containers/registries.conf' } } });
  const certs = join(work.dir, 'wiring-certs.d');
  mkdirSync(join(certs, 'registry.example.test'), { recursive: true });
  writeFileSync(join(certs, 'registry.example.test', 'client.cert'), '');
  const config = structuredClone(DEFAULT_CONFIG);
  config.kubernetes.enabled = false;
  config.registry.certsDir = certs;
  const alone = buildRuntime(config, { log: pino({ level: 'silent' }) });
  if (!alone.ok) return t.fail(alone.errors.join('; '));
  t.teardown(() => alone.runtime.close());
  t.match(alone.warnings, [/registry\.certsDir is read only with registry\.registriesConf/]);
  const file = join(work.dir, 'wiring-registries.conf');
  writeFileSync(file, 'unqualified-search-registries = ["registry.example.test"]\n');
  config.registry.registriesConf = file;
  const withConf = buildRuntime(config, { log: pino({ level: 'silent' }) });
  if (!withConf.ok) return t.fail(withConf.errors.join('; '));
  t.teardown(() => withConf.runtime.close());
  t.match(withConf.warnings, [/client\.cert: missing key client\.key; CRI-O fails every pull from registry\.example\.test/]);
});
