// serve follows CRI-O's certs.d (issue #14 review): the CA and client files are read when a connection to a host is
// first set up, so a reload must drop those connections too, or a certificate rotated (or a half-written file
// completed) at the same path is never read again: the host stays unknown, or keeps the old client certificate.
// And a question asked after a reload is not joined to one begun under the old files.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { pino } from 'pino';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { createMetrics, type Metrics } from '../../src/metrics.ts';
import { buildRuntime } from '../../src/cli/runtime.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { startFaultProxy } from '../harness/fault-proxy.ts';
import { createRegistryClient } from '../../src/registry/client.ts';
import { loadRegistriesConf, swappableNodeRegistries } from '../../src/registry/index.ts';
import { makeDir } from '../verdict/check-env.ts';
import { ref } from './registry-fixture.ts';

const POLL_MS = 20;
const work = makeDir();
let reg: TestRegistry;

t.before(async () => {
  reg = await startRegistry({ auth: 'none' });
  await pushImage(reg, { repository: 'team/app', tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64' }] });
});
t.teardown(async () => {
  await reg?.stop();
  work.remove();
});

async function reloads(metrics: Metrics): Promise<number> {
  const got = await metrics.nodeFileReloads.get();
  return got.values.find((v) => v.labels['source'] === 'registriesConf' && v.labels['result'] === 'ok')?.value ?? 0;
}

async function until(cond: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return false;
}

t.test('a CA in certs.d completed after a half write is read again on reload: unknown first, then the real answer', async (t) => {
  const conf = join(work.dir, 'registries.conf');
  writeFileSync(conf, `[[registry]]\nlocation = "${reg.host}"\n`);
  const certs = join(work.dir, 'certs.d');
  mkdirSync(join(certs, reg.host), { recursive: true });
  const ca = join(certs, reg.host, 'ca.crt');
  // A copy caught half way: the PEM header and a part of the body.
  writeFileSync(ca, reg.caPem.slice(0, Math.floor(reg.caPem.length / 2)));
  const config = structuredClone(DEFAULT_CONFIG);
  config.kubernetes.enabled = false;
  config.registry.registriesConf = conf;
  config.registry.certsDir = certs;
  const metrics = createMetrics();
  const built = buildRuntime(config, { log: pino({ level: 'silent' }), metrics, reloadNodeFiles: true, nodeFilesPollMs: POLL_MS });
  if (!built.ok) return t.fail(built.errors.join('; '));
  t.teardown(() => built.runtime.close());
  const image = `${reg.host}/team/app:v1`;
  const ask = () => built.runtime.registry.resolve(ref(image), { platforms: [], credentials: [] });

  const half = await ask();
  t.equal(verdictOf(half.reason), 'unknown', `a CA that cannot be used is never a deny (${half.reason}: ${half.detail})`);

  writeFileSync(ca, reg.caPem);
  t.ok(await until(async () => (await reloads(metrics)) >= 1), 'the completed file was reloaded');
  const whole = await ask();
  t.equal(whole.reason, 'Resolved', `the completed CA is used after the reload (${whole.detail})`);
  const missing = await built.runtime.registry.resolve(ref(`${reg.host}/team/app:v9`), { platforms: [], credentials: [] });
  t.equal(missing.reason, 'TagNotFound', 'and a missing tag is certain again');
});

t.test('a question asked after a reload is not joined to one still in flight under the old files', async (t) => {
  const slow = await startFaultProxy(reg);
  t.teardown(() => slow.stop());
  // Every request to the registry takes a while: the first question is still in flight when the files change.
  slow.setFault({ kind: 'delay', ms: 400 });
  const conf = (name: string, text: string) => {
    const dir = join(work.dir, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'registries.conf'), text);
    const loaded = loadRegistriesConf(join(dir, 'registries.conf'));
    if (!loaded.ok) throw new Error(loaded.errors.join('; '));
    return loaded.value.registries;
  };
  const node = swappableNodeRegistries(conf('open', `[[registry]]\nlocation = "${slow.host}"\n`));
  const client = createRegistryClient({ registries: { [slow.host]: { ca: reg.caFile } }, defaults: { requestTimeoutMs: 5000 }, node: node.registries }, { env: {} });
  t.teardown(() => client.close());
  const image = `${slow.host}/team/app:v1`;
  const first = client.resolve(ref(image), { platforms: [], credentials: [] });
  await new Promise((r) => setTimeout(r, 50));
  // The nodes now block the registry (the reload: the model swapped, the transports renewed).
  node.swap(conf('blocked', `[[registry]]\nlocation = "${slow.host}"\nblocked = true\n`));
  client.renewTransports();
  const second = client.resolve(ref(image), { platforms: [], credentials: [] });
  t.equal((await second).reason, 'RegistryBlocked', 'answered under the new files');
  t.equal((await first).reason, 'Resolved', 'the earlier question keeps its own answer');
});
