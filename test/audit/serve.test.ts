// `pullguard serve` with config.audit.enabled, as a real process: the wiring in serve (the Lease, the checker over
// the shared runtime, GET /audit on the metrics port, the metrics) and a clean shutdown that releases the Lease.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { request } from 'undici';
import type { FakeApiServer } from '../harness/fake-apiserver.ts';
import { makeTestPki } from '../harness/pki.ts';
import { AMD64, startWorld, type World } from '../harness/kit-world.ts';
import { MAIN } from '../cli/env.ts';
import { deployment } from './workloads.ts';

t.setTimeout(300_000);

let world: World;
let api: FakeApiServer;
let dir: string;
t.before(async () => {
  world = await startWorld({
    registries: { registry: { auth: 'none' } },
    images: [{ registry: 'registry', repository: 'team/app', tag: '1.0', platforms: [AMD64] }],
    cluster(cluster, { registry }) {
      cluster.setNode({ name: 'node-1' });
      cluster.setWorkload(deployment('web', { namespace: 'shop', images: [`${registry!.host}/team/app:1.0`, `${registry!.host}/team/app:1.9`] }));
    },
    dirPrefix: 'pullguard-audit-serve-proc-',
  });
  [api, dir] = [world.api!, world.dir];
});
t.teardown(() => world?.close());

t.test('serve audits on start, answers GET /audit and fills the metrics, and gives the Lease back on SIGTERM', async (t) => {
  const pki = await makeTestPki();
  const registries = world.registryConfig;
  const config = join(dir, 'config.yaml');
  writeFileSync(config, JSON.stringify({
    server: { host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0 },
    audit: { enabled: true, intervalMinutes: 0.02, lease: { namespace: 'pullguard' } },
  }));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('PULLGUARD_') && k !== 'KUBECONFIG') env[k] = v;
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', config, '--tls-cert', pki.certFile, '--tls-key', pki.keyFile, '--kubeconfig', api.kubeconfigFile, '--registry-config', registries], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let log = '';
  child.stdout.on('data', (c: Buffer) => (log += c.toString()));
  child.stderr.on('data', (c: Buffer) => (log += c.toString()));

  let ops: string | undefined;
  for (let i = 0; i < 600 && ops === undefined && child.exitCode === null; i++) {
    ops = /"ops":"(http:\/\/[^"]+)"/.exec(log)?.[1];
    if (ops === undefined) await sleep(100);
  }
  t.ok(ops, `serve started (log: ${log.slice(0, 2000)})`);
  let status: { leader: boolean; lastRun: { summary: { workloads: number; deny: number }; findings: { name: string; reason: string }[] } | null } | undefined;
  for (let i = 0; i < 600; i++) {
    status = (await (await request(`${ops}/audit`)).body.json()) as typeof status;
    if (status?.lastRun) break;
    await sleep(100);
  }
  t.equal(status?.leader, true);
  t.equal(status?.lastRun?.summary.workloads, 1);
  t.same(status?.lastRun?.findings.map((f) => [f.name, f.reason]), [['web', 'TagNotFound']]);
  const metrics = await (await request(`${ops}/metrics`)).body.text();
  t.match(metrics, 'pullguard_audit_workload_problems{namespace="shop",kind="Deployment",name="web",container="c1",reason="TagNotFound",verdict="deny"} 1');
  t.match(metrics, /pullguard_registry_requests_total\{host="127\.0\.0\.1:\d+",operation="manifest"/, 'the audit goes through the shared, instrumented client');
  t.equal((api.leases.get('pullguard/pullguard-audit') as { spec: { holderIdentity: string } }).spec.holderIdentity !== '', true);

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'a clean shutdown');
  t.equal((api.leases.get('pullguard/pullguard-audit') as { spec: { holderIdentity: string } }).spec.holderIdentity, '', 'the Lease is released for the next replica');
});
