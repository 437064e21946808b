// serve follows CRI-O's certs.d (issue #14 review): the CA and client files are read when a connection to a host is
// first set up, so a reload must drop those connections too, or a certificate rotated (or a half-written file
// completed) at the same path is never read again: the host stays unknown, or keeps the old client certificate.
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
