// `pullguard audit` as an operator runs it (in process through the CLI's main(); the terminal cases as a child
// process) against the fake API server, which serves real list JSON of every workload kind, and real registries:
// which objects are walked and which skipped, the explanations and the summary, --json, --only, exit codes, one
// registry question per distinct image (counted at the fault proxy), and the progress line on a terminal but not
// on a pipe.
import { execFile, spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import t from 'tap';
import { startFakeApiServer, type FakeApiServer } from '../harness/fake-apiserver.ts';
import { cli, closedPort, MAIN, run, startCliEnv, type CliEnv, type CliResult } from '../cli/env.ts';
import { runAudit } from '../../src/cli/audit.ts';
import type { FindingRow } from '../../src/audit/summary.ts';
import { cronJob, daemonSet, deployment, job, pod, replicaSet, replicationController, statefulSet } from './workloads.ts';

t.setTimeout(600_000);

let env: CliEnv;
let api: FakeApiServer;
let down: string;
// Registry hosts: `open` directly, `proxied` through the fault proxy (so its requests can be counted).
const open = (name: string) => `${env.open.host}/${name}`;
const proxied = (name: string) => `${env.proxy.host}/${name}`;

t.before(async () => {
  [env, api] = await Promise.all([startCliEnv(), startFakeApiServer()]);
  down = `127.0.0.1:${await closedPort()}`;
  api.setNode({ name: 'arm-1', arch: 'arm64' });
  const alice = Buffer.from('alice:alice-secret').toString('base64');
  api.setSecret('shop', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': JSON.stringify({ auths: { [env.basic.host]: { auth: alice } } }) });
  api.setServiceAccount('shop', 'default', ['regcred']);

  const shop = { namespace: 'shop' };
  // Every kind, owned and not: only the unowned ones (and CronJob templates) are audited.
  api.setWorkload(deployment('web', { ...shop, images: [open('team/app:1.0'), open('team/app:1.9')] }));
  api.setWorkload(replicaSet('web-7d9f8c', { ...shop, images: [open('team/owned-by-deployment:1.0')], owner: { kind: 'Deployment', name: 'web' } }));
  api.setWorkload(replicaSet('orphan', { ...shop, images: [open('team/app:1.1')] }));
  api.setWorkload(statefulSet('db', { ...shop, images: [open('team/amd-only:1.0')] }));
  api.setWorkload(daemonSet('agent', { ...shop, images: [`${env.basic.host}/private/app:1.0`] }));
  api.setWorkload(cronJob('nightly', { ...shop, images: [open('team/app:1.1')], initImages: [open('team/migrate:1.0')] }));
  api.setWorkload(job('nightly-29012345', { ...shop, images: [open('team/owned-by-cronjob:1.0')], owner: { kind: 'CronJob', name: 'nightly' } }));
  api.setWorkload(job('backfill', { ...shop, images: [open('team/app:latest')] }));
  api.setWorkload(replicationController('legacy', { ...shop, images: [open('team/app:1.0')] }));
  api.setWorkload(pod('web-7d9f8c-abcde', { ...shop, images: [open('team/owned-pod:1.0')], owner: { kind: 'ReplicaSet', name: 'web-7d9f8c' } }));
  api.setWorkload(pod('kube-apiserver-node1', { ...shop, images: [open('team/static-pod:1.0')], owner: { kind: 'Node', name: 'node1' } }));
  api.setWorkload(pod('debug', { ...shop, images: [open('team/app:1.0')] }));
  api.setWorkload(pod('done', { ...shop, images: [open('team/finished:1.0')], phase: 'Succeeded' }));

  // A namespace where everything pulls, one where a registry is down, and one with many copies of one image.
  api.setWorkload(deployment('fine', { namespace: 'clean', images: [open('team/app:1.0')] }));
  api.setWorkload(deployment('offline', { namespace: 'outage', images: [`${down}/team/app:1.0`] }));
  api.setWorkload(deployment('one', { namespace: 'single', images: [proxied('team/app:1.0')] }));
  for (let i = 0; i < 40; i++) {
    const kinds = [deployment, statefulSet, daemonSet, cronJob] as const;
    api.setWorkload(kinds[i % kinds.length]!(`copy-${i}`, { namespace: 'many', images: [proxied('team/app:1.0')] }));
  }
});
t.teardown(async () => {
  await api?.stop();
  await env?.close();
});

// In process (program.ts's main(), as the bin calls it): a Node start-up per case made this file take minutes. The
// pseudo-terminal case below runs the real process, and its pipe half spawns too (`spawned`).
const audit = (args: string[]) => run(['audit', '--kubeconfig', api.kubeconfigFile, '--registry-config', env.registryConfig, ...args]);
const spawned = (args: string[]) => cli(['audit', '--kubeconfig', api.kubeconfigFile, '--registry-config', env.registryConfig, ...args]);

// The rows --json prints, as src/audit/summary.ts declares them.
type Row = FindingRow;

interface JsonOut {
  findings: Row[];
  summary: { workloads: number; deny: number; unknown: number; allow: number; byReason: { reason: string; images: number; workloads: number }[]; byNamespace: { namespace: string }[] };
  run: { registryQuestions: number; registryRequests: number; listingErrors: string[] };
}

function json(r: CliResult): JsonOut {
  try {
    return JSON.parse(r.stdout) as JsonOut;
  } catch {
    throw new Error(`not JSON (exit ${r.code}):\n${r.stdout}\n${r.stderr}`);
  }
}

t.test('the walk: unowned workloads of every kind and CronJob templates are checked; owned and finished ones are not', async (t) => {
  const r = await audit(['--json', '-n', 'shop']);
  t.equal(r.code, 1, r.stderr);
  const out = json(r);
  const walked = [...new Set(out.findings.map((f) => `${f.kind}/${f.name}`))].sort();
  t.same(walked, [
    'CronJob/nightly', 'DaemonSet/agent', 'Deployment/web', 'Job/backfill', 'Pod/debug', 'ReplicaSet/orphan', 'ReplicationController/legacy', 'StatefulSet/db',
  ]);
  t.equal(out.summary.workloads, 8);
  t.notMatch(r.stdout, /owned-by|owned-pod|static-pod|finished/, 'no image of an owned or finished object is checked');
  const verdicts = Object.fromEntries(out.findings.map((f) => [`${f.kind}/${f.name}/${f.container}`, `${f.verdict} ${f.reason}`]));
  t.same(verdicts, {
    'Deployment/web/c0': 'allow Resolved',
    'Deployment/web/c1': 'deny TagNotFound',
    'ReplicaSet/orphan/c0': 'allow Resolved',
    'StatefulSet/db/c0': 'deny ExecFormatError',
    'DaemonSet/agent/c0': 'allow Resolved',
    'CronJob/nightly/init0': 'deny RepositoryNotFound',
    'CronJob/nightly/c0': 'allow Resolved',
    'Job/backfill/c0': 'allow Resolved',
    'ReplicationController/legacy/c0': 'allow Resolved',
    'Pod/debug/c0': 'allow Resolved',
  }, 'the ServiceAccount\'s pull secret lets the DaemonSet pull; the arm64 nodes cannot start the amd64-only single-manifest image (ExecFormatError, issue #12)');
  const cron = out.findings.find((f) => f.kind === 'CronJob' && f.verdict === 'deny');
  t.equal(cron?.field, 'spec.jobTemplate.spec.template.spec.initContainers[0].image');
  t.same(out.summary.byReason.map((b) => [b.reason, b.images, b.workloads]), [['ExecFormatError', 1, 1], ['RepositoryNotFound', 1, 1], ['TagNotFound', 1, 1]]);
});

t.test('text output: the same explanation as check, per workload, then the summary by reason and namespace', async (t) => {
  const r = await audit(['-A']);
  t.equal(r.code, 1, r.stderr);
  const lines = r.stdout.split('\n');
  t.ok(lines.some((l) => l.startsWith(`DENY    Deployment shop/web: container "c1" (spec.template.spec.containers[1].image): image "${open('team/app:1.9')}": TagNotFound:`)), r.stdout);
  t.match(r.stdout, /Fix: use an existing tag; closest: 1\.1, 1\.0/);
  t.match(r.stdout, /^UNKNOWN Deployment outage\/offline: container "c0" .*RegistryUnreachable/m);
  t.notMatch(r.stdout, /^ALLOW/m, 'images that pull are not listed one by one');
  t.match(r.stdout, /^\d+ images \(\d+ distinct\) in 51 workloads across 5 namespaces: \d+ pull, 3 cannot be pulled, 1 could not be checked$/m);
  t.match(r.stdout, /^By reason:\n {2}ExecFormatError +deny +1 image in 1 workload\n {2}RepositoryNotFound +deny +1 image in 1 workload\n {2}TagNotFound +deny +1 image in 1 workload\n {2}RegistryUnreachable +unknown +1 image in 1 workload$/m);
  t.match(r.stdout, /^By namespace:\n {2}shop +3 cannot be pulled, 0 could not be checked \(3 of 8 workloads\)\n {2}outage +0 cannot be pulled, 1 could not be checked \(1 of 1 workload\)$/m);
  t.match(r.stdout, /^\d+ distinct registry questions, \d+ registry requests, [\d.]+s$/m);
  t.notMatch(r.stderr, /\r|audit: \d/, 'no progress line on a pipe');
});

t.test('--only deny and --only unknown narrow what is printed, not the exit code', async (t) => {
  const deny = json(await audit(['-A', '--json', '--only', 'deny']));
  t.same([...new Set(deny.findings.map((f) => f.verdict))], ['deny']);
  t.equal(deny.findings.length, 3);
  const unknown = await audit(['-A', '--only', 'unknown']);
  t.equal(unknown.code, 1, 'a denial elsewhere still fails the run');
  t.match(unknown.stdout, /^UNKNOWN Deployment outage\/offline/m);
  t.notMatch(unknown.stdout, /^DENY/m);
  const bad = await audit(['-A', '--only', 'allow']);
  t.equal(bad.code, 3);
  t.match(bad.stderr, /--only: "allow" is not deny or unknown/);
});

t.test('exit codes as check: 0 all pull, 1 some cannot, 2 some could not be checked, 3 usage', async (t) => {
  const clean = await audit(['-n', 'clean']);
  t.equal(clean.code, 0, clean.stderr);
  t.match(clean.stdout, /^1 image \(1 distinct\) in 1 workload across 1 namespace: 1 pull, 0 cannot be pulled, 0 could not be checked$/m);
  t.equal((await audit(['-n', 'outage'])).code, 2);
  t.equal((await audit(['-n', 'shop'])).code, 1);
  const both = await audit(['-n', 'shop', '-A']);
  t.equal(both.code, 3);
  t.match(both.stderr, /exclude each other/);
  const noCluster = await run(['audit', '--kubeconfig', `${env.dir}/missing-kubeconfig`]);
  t.equal(noCluster.code, 3);
  t.match(noCluster.stderr, /pullguard audit: kubernetes: cannot load kubeconfig/);
  const help = await run(['audit', '--help']);
  t.equal(help.code, 0);
  for (const flag of ['--namespace', '--all-namespaces', '--only', '--kubeconfig', '--platform', '--docker-config', '--registry-config', '--json']) t.match(help.stdout, flag);
});

t.test('a kind that cannot be listed is named with the RBAC rule it needs, and the run exits 2', async (t) => {
  const forbidden = await startFakeApiServer();
  t.teardown(() => forbidden.stop());
  forbidden.setWorkload(deployment('fine', { namespace: 'clean', images: [open('team/app:1.0')] }));
  forbidden.forbid('/apis/batch/v1/namespaces/clean/cronjobs');
  const r = await run(['audit', '--kubeconfig', forbidden.kubeconfigFile, '--registry-config', env.registryConfig, '-n', 'clean']);
  t.equal(r.code, 2, r.stderr);
  t.match(r.stderr, 'pullguard audit: cannot list cronjobs in namespace "clean": forbidden; grant RBAC verb "list" on resource "cronjobs" in API group "batch"');
  t.match(r.stdout, /1 pull, 0 cannot be pulled/, 'the other kinds are still audited');
});

t.test('de-duplication: 40 workloads of one image ask the registry exactly what one workload asks', async (t) => {
  env.proxy.reset();
  const one = await audit(['--json', '-n', 'single']);
  t.equal(one.code, 0, one.stderr);
  const manifestsForOne = env.proxy.requests.filter((q) => q.path.includes('/manifests/')).length;
  t.ok(manifestsForOne >= 1);
  env.proxy.reset();
  const many = await audit(['--json', '-n', 'many']);
  t.equal(many.code, 0, many.stderr);
  const out = json(many);
  t.equal(out.summary.workloads, 40);
  t.equal(out.run.registryQuestions, 1, 'one distinct question');
  t.equal(env.proxy.requests.filter((q) => q.path.includes('/manifests/')).length, manifestsForOne, 'as many manifest requests as for one workload');
  t.equal(out.run.registryRequests, env.proxy.requests.length, 'the run counts the requests the registry saw');
});

/** A stream that says it is a terminal, as process.stderr does on one. */
function terminal(): { stream: Writable & { isTTY: boolean }; text: () => string } {
  const chunks: string[] = [];
  const stream = Object.assign(new Writable({ write(chunk, _enc, cb) { chunks.push(String(chunk)); cb(); } }), { isTTY: true });
  return { stream, text: () => chunks.join('') };
}

t.test('progress: on a terminal, one line redrawn in place with workloads, images, registry requests and time', async (t) => {
  const err = terminal();
  const out = terminal();
  out.stream.isTTY = false;
  const code = await runAudit(['--kubeconfig', api.kubeconfigFile, '--registry-config', env.registryConfig, '-n', 'many'], { out: out.stream, err: err.stream });
  t.equal(code, 0);
  t.match(err.text(), /\r\x1b\[2Kaudit: 40\/40 workloads, 1\/1 images, \d+ registry requests, [\d.]+s/);
  t.ok(err.text().endsWith('\r\x1b[2K'), 'the line is cleared before the report');
  t.notMatch(out.text(), /\r|\x1b/, 'stdout carries only the report');
});

t.test('progress on a pseudo-terminal (script), none when stderr is a pipe', { skip: spawnSync('script', ['--version']).status !== 0 ? 'no script(1)' : false }, async (t) => {
  const args = [MAIN, 'audit', '--kubeconfig', api.kubeconfigFile, '--registry-config', env.registryConfig, '-n', 'many'];
  const quoted = [process.execPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  // Asynchronously: the fake API server answering the child lives in this process's event loop.
  const tty = await new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile('script', ['-qec', `${quoted} >/dev/null`, '/dev/null'], { encoding: 'utf8', timeout: 120_000 }, (err, stdout) => {
      resolve({ code: err ? Number(err.code ?? -1) : 0, stdout });
    });
  });
  t.equal(tty.code, 0, tty.stdout);
  t.match(tty.stdout, /audit: 40\/40 workloads, 1\/1 images, \d+ registry requests/);
  const pipe = await spawned(['-n', 'many']);
  t.equal(pipe.stderr, '');
});
