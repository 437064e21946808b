// `pullguard resolve --hosts-dir DIR` and `--registries-conf FILE` run as a user runs them (the first case a child
// process, the others in process through the CLI's main(); flags and files only) against a real mirror and a real
// upstream (htpasswd): the mirror answers what it has without the node credentials, the upstream gets them, a
// blocked registry denies, and both flags together are refused (a node runs one runtime).
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { startRelay, type Front } from '../harness/registry-fronts.ts';
import { hostDirectory } from '../../src/registry/hosts-toml.ts';
import { cli, rows, run } from '../cli/env.ts';
import { makeTempDir } from '../harness/lifecycle.ts';

t.setTimeout(600_000);

let upstream: TestRegistry;
let mirror: TestRegistry;
let up: Front;
let mir: Front;
let dir = '';
let hostsDir = '';
let dockerConfig = '';
let registryConfig = '';
const amd64 = [{ os: 'linux', architecture: 'amd64' }];

t.before(async () => {
  [upstream, mirror] = await Promise.all([startRegistry({ auth: 'basic' }), startRegistry({ auth: 'none' })]);
  await pushImage(upstream, { repository: 'team/app', tag: 'v1', platforms: amd64 });
  await pushImage(upstream, { repository: 'team/app', tag: 'v2', platforms: amd64 });
  await pushImage(mirror, { repository: 'team/app', tag: 'v1', platforms: amd64 });
  [up, mir] = await Promise.all([startRelay(upstream), startRelay(mirror)]);
  dir = makeTempDir('cli-node');
  hostsDir = join(dir, 'certs.d');
  const sub = join(hostsDir, hostDirectory(up.host));
  mkdirSync(sub, { recursive: true });
  writeFileSync(join(sub, 'ca.pem'), up.caPem);
  writeFileSync(join(sub, 'hosts.toml'), `ca = "ca.pem"\n[host."https://${mir.host}"]\n  capabilities = ["pull", "resolve"]\n  ca = "ca.pem"\n`);
  dockerConfig = join(dir, 'config.json');
  writeFileSync(dockerConfig, JSON.stringify({ auths: { [up.host]: { auth: Buffer.from('alice:alice-secret').toString('base64') } } }));
  registryConfig = join(dir, 'registries.yaml');
  writeFileSync(registryConfig, JSON.stringify({ registries: { [up.host]: { ca: upstream.caFile }, [mir.host]: { ca: upstream.caFile } } }));
});
t.teardown(async () => {
  await Promise.all([up, mir].map((f) => f?.stop()));
  await Promise.all([upstream, mirror].map((r) => r?.stop()));
});

interface Row {
  reason: string;
  verdict: string;
  credentialUsed?: string;
  message: string;
}

t.test('--hosts-dir: the mirror answers a tag it has, the upstream one it lacks (with the docker config), in one run', async (t) => {
  const [m, u] = [mir.requests.length, up.requests.length];
  const r = await cli(['resolve', '--json', '--hosts-dir', hostsDir, '--docker-config', dockerConfig, `${up.host}/team/app:v1`, `${up.host}/team/app:v2`]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  const [v1, v2] = rows<Row>(r);
  t.equal(v1?.reason, 'Resolved');
  t.equal(v2?.reason, 'Resolved');
  t.equal(v2?.credentialUsed, `docker-config ${dockerConfig}`);
  t.ok(mir.requests.slice(m).every((x) => x.authorization === undefined), 'the mirror never saw the credentials');
  t.ok(up.requests.slice(u).some((x) => x.path.includes('/manifests/v2') && x.authorization?.startsWith('Basic ')), 'the upstream got them');
  t.notOk(up.requests.slice(u).some((x) => x.path.includes('/manifests/v1')), 'v1 came from the mirror alone');
});

t.test('--registries-conf: a blocked registry is DENY RegistryBlocked, exit 1', async (t) => {
  const file = join(dir, 'registries.conf');
  writeFileSync(file, `[[registry]]\nlocation = "${up.host}"\nblocked = true\n`);
  const before = up.requests.length;
  const r = await run(['resolve', '--registries-conf', file, '--registry-config', registryConfig, `${up.host}/team/app:v1`]);
  t.equal(r.code, 1, r.stdout + r.stderr);
  t.match(r.stdout, /^DENY .*RegistryBlocked/m);
  t.equal(up.requests.length, before, 'nothing was asked');
});

t.test('--registries-conf: a mirror with a location answers first', async (t) => {
  const file = join(dir, 'mirror.conf');
  writeFileSync(file, `[[registry]]\nlocation = "${up.host}"\n[[registry.mirror]]\nlocation = "${mir.host}"\n`);
  const r = await run(['resolve', '--json', '--registries-conf', file, '--registry-config', registryConfig, `${up.host}/team/app:v1`]);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.equal(rows<Row>(r)[0]?.reason, 'Resolved');
});

t.test('bad node configuration is a clear error, exit 2', async (t) => {
  const both = await run(['resolve', '--hosts-dir', hostsDir, '--registries-conf', join(dir, 'registries.conf'), 'nginx']);
  t.not(both.code, 0);
  t.match(both.stderr, /give one \(the nodes run containerd or CRI-O\)/);
  const missing = await run(['resolve', '--hosts-dir', join(dir, 'nope'), 'nginx']);
  t.not(missing.code, 0);
  t.match(missing.stderr, /hosts dir .*nope: ENOENT/);
  const badConf = join(dir, 'bad.conf');
  writeFileSync(badConf, '[[registry]]\nlocation = "https://quay.io"\n');
  const bad = await run(['resolve', '--registries-conf', badConf, 'nginx']);
  t.not(bad.code, 0);
  t.match(bad.stderr, /URI schemes are not supported/);
});
