// `pullguard resolve` with flags and files only, against real registries, in process through runResolve's
// streams (the first case spawns the CLI as a user runs it):
// what it prints for each outcome, its --json shape, its exit codes, and that credentials never show.
import t from 'tap';
import { makeTempDir } from '../harness/lifecycle.ts';
import { startLoopbackServer } from '../harness/loopback-server.ts';
import { closedPort, cli, rows, run, startCliEnv, type CliEnv } from './env.ts';

// The spawned case pays Node start-up plus loading the registry and Kubernetes clients: seconds on a busy CI machine.
t.setTimeout(300_000);

let env: CliEnv;
t.before(async () => {
  env = await startCliEnv();
});
t.teardown(() => env?.close());

const open = (name: string) => `${env.open.host}/${name}`;
const resolve = (...args: string[]) => run(['resolve', '--registry-config', env.registryConfig, ...args]);

interface Row {
  image: string;
  reference: string | null;
  verdict: string;
  reason: string;
  message: string;
  digest: string | null;
  platforms?: string[];
  suggestions?: string[];
  credentialsTried: string[];
  credentialUsed?: string;
}

t.test('an image that resolves prints ALLOW, the reason and its digest, and exits 0 (spawned: the real entry point)', async (t) => {
  const r = await cli(['resolve', '--registry-config', env.registryConfig, open('team/app:1.0')]);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, new RegExp(`^ALLOW +${open('team/app:1.0')}  Resolved\\n`));
  t.match(r.stdout, `digest:    ${env.pushed['open/team/app:1.0']!.digest}`);
  t.equal(r.stderr, '');
});

t.test('an image written without a tag shows its normalised reference', async (t) => {
  const r = await resolve(open('team/app'));
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, `reference: ${open('team/app:latest')}`);
  t.match(r.stdout, `digest:    ${env.pushed['open/team/app:latest']!.digest}`);
});

t.test('a missing tag is DENY TagNotFound with the closest existing tags as the fix, exit 1', async (t) => {
  const r = await resolve(open('team/app:1.2'));
  t.equal(r.code, 1);
  t.match(r.stdout, new RegExp(`^DENY +${open('team/app:1.2')}  TagNotFound\\n`));
  t.match(r.stdout, /the tag does not exist/);
  t.match(r.stdout, /Fix: use an existing tag; closest: 1\.1, 1\.0/);
  t.notMatch(r.stdout, /digest:/);
});

t.test('an amd64-only single-manifest image asked for linux/arm64 is ExecFormatError (it pulls, then cannot start) listing what the image offers', async (t) => {
  const r = await resolve('--platform', 'linux/arm64', open('team/amd-only:1.0'));
  t.equal(r.code, 1);
  t.match(r.stdout, /DENY +\S+ {2}ExecFormatError/);
  t.match(r.stdout, /the image offers linux\/amd64, but the platforms asked for are linux\/arm64/);
  t.match(r.stdout, /Fix: build the image for linux\/arm64 \(multi-arch\)/);
  t.match(r.stdout, /nodeSelector such as kubernetes.io\/arch: amd64/);
});

t.test('--platform takes the short forms docker takes (arm64, Linux/AMD64)', async (t) => {
  const arm = await resolve('--platform', 'arm64', open('team/amd-only:1.0'));
  t.equal(arm.code, 1);
  t.match(arm.stdout, /ExecFormatError/);
  const amd = await resolve('--platform', 'Linux/AMD64', open('team/amd-only:1.0'));
  t.equal(amd.code, 0, amd.stdout + amd.stderr);
});

t.test('a multi-arch image asked for two platforms resolves and says which platform matched', async (t) => {
  const r = await resolve('--platform', 'linux/arm64', '--platform', 'linux/amd64', open('team/app:1.0'));
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /platform: +linux\/(arm64|amd64)/);
});

t.test('--json prints one object per image, in the order given, with the documented fields', async (t) => {
  const r = await resolve('--json', '--platform', 'linux/amd64', open('team/app:1.0'), open('team/app:1.9'), 'Bad/Name:1');
  t.equal(r.code, 1);
  const out = rows<Row>(r);
  t.equal(out.length, 3);
  t.same(out.map((o) => [o.image, o.verdict, o.reason]), [
    [open('team/app:1.0'), 'allow', 'Resolved'],
    [open('team/app:1.9'), 'deny', 'TagNotFound'],
    ['Bad/Name:1', 'deny', 'InvalidReference'],
  ]);
  for (const o of out) {
    for (const key of ['image', 'reference', 'verdict', 'reason', 'message', 'digest']) t.ok(key in o, `${o.image} has ${key}`);
    t.type(o.message, 'string');
    t.ok(['allow', 'deny', 'unknown'].includes(o.verdict));
  }
  t.equal(out[0]!.digest, env.pushed['open/team/app:1.0']!.digest);
  t.equal(out[0]!.reference, open('team/app:1.0'));
  t.equal(out[1]!.digest, null);
  t.ok(out[1]!.suggestions?.includes('1.0'), 'suggests existing tags');
  t.match(out[1]!.message, /Fix: use an existing tag/);
  t.equal(out[2]!.reference, null);
  t.equal(r.stderr, '');
});

t.test('an invalid reference is InvalidReference, denied without asking any registry', async (t) => {
  env.proxy.reset();
  const r = await resolve('--json', `${env.proxy.host}/Team/App:1.0`);
  t.equal(r.code, 1);
  const [o] = rows<Row>(r);
  t.equal(o?.reason, 'InvalidReference');
  t.equal(o?.verdict, 'deny');
  t.match(o?.message, /InvalidImageName/);
  t.match(o?.message, /Fix: correct the image string/);
  t.same(o?.credentialsTried, []);
  t.equal(env.proxy.requests.length, 0, 'no request reached the registry');
});

t.test('a registry on a closed port is UNKNOWN RegistryUnreachable, exit 2', async (t) => {
  const image = `127.0.0.1:${await closedPort()}/team/app:1.0`;
  const r = await resolve(image);
  t.equal(r.code, 2);
  t.match(r.stdout, new RegExp(`^UNKNOWN ${image.replaceAll('.', '\\.')}  RegistryUnreachable\\n`));
  t.match(r.stdout, /could not be reached \(refused\)/);
});

t.test('exit codes: any deny wins over unknown; unknown wins over allow', async (t) => {
  const down = `127.0.0.1:${await closedPort()}/team/app:1.0`;
  const denyAndUnknown = await resolve(down, open('team/app:9.9'), open('team/app:1.0'));
  t.equal(denyAndUnknown.code, 1);
  const unknownAndAllow = await resolve(open('team/app:1.0'), down);
  t.equal(unknownAndAllow.code, 2);
  const allAllow = await resolve(open('team/app:1.0'), open('team/app:1.1'));
  t.equal(allAllow.code, 0);
  t.equal(allAllow.stdout.match(/^ALLOW/gm)?.length, 2, 'one block per image');
});

t.test('basic auth: no credentials is AuthRequired with the kubectl command that creates a pull secret', async (t) => {
  const r = await resolve(`${env.basic.host}/private/app:1.0`);
  t.equal(r.code, 1);
  t.match(r.stdout, /DENY +\S+ {2}AuthRequired/);
  t.match(r.stdout, `kubectl create secret docker-registry regcred --docker-server=${env.basic.host} --docker-username=USER --docker-password=TOKEN`);
});

t.test('basic auth: the right credentials in --docker-config resolve, and the password is never printed', async (t) => {
  const config = env.dockerConfig('alice.json', { [env.basic.host]: { username: 'alice', password: 'alice-secret' } });
  const image = `${env.basic.host}/private/app:1.0`;
  const human = await resolve('--docker-config', config, image);
  t.equal(human.code, 0, human.stdout + human.stderr);
  t.match(human.stdout, `digest:    ${env.pushed['basic/private/app:1.0']!.digest}`);
  const json = await resolve('--json', '--docker-config', config, image);
  const [o] = rows<Row>(json);
  t.equal(o?.credentialUsed, `docker-config ${config}`, 'names the file, not the secret');
  for (const out of [human, json]) {
    t.notMatch(out.stdout + out.stderr, /alice-secret/);
    t.notMatch(out.stdout + out.stderr, Buffer.from('alice:alice-secret').toString('base64'));
  }
});

t.test('basic auth: wrong credentials are CredentialsRejected, and the wrong password is never printed', async (t) => {
  const config = env.dockerConfig('wrong.json', { [env.basic.host]: { username: 'alice', password: 'not-her-password' } });
  const r = await resolve('--docker-config', config, `${env.basic.host}/private/app:1.0`);
  t.equal(r.code, 1);
  t.match(r.stdout, /DENY +\S+ {2}CredentialsRejected/);
  t.match(r.stdout, /the registry rejected the credentials/);
  t.match(r.stdout, `Credentials tried: docker-config ${config}`);
  t.notMatch(r.stdout + r.stderr, /not-her-password/);
  t.notMatch(r.stdout + r.stderr, Buffer.from('alice:not-her-password').toString('base64'));
});

t.test('token auth: a public repository resolves anonymously; a private one needs credentials', async (t) => {
  const pub = await resolve('--json', `${env.token.host}/public/app:1.0`);
  t.equal(pub.code, 0, pub.stdout + pub.stderr);
  t.equal(rows<Row>(pub)[0]?.digest, env.pushed['token/public/app:1.0']!.digest);
  const priv = await resolve('--json', `${env.token.host}/private/app:1.0`);
  t.equal(priv.code, 1);
  t.equal(rows<Row>(priv)[0]?.reason, 'AuthRequired');
  const config = env.dockerConfig('bob.json', { [env.token.host]: { username: 'bob', password: 'bob-secret' } });
  const withBob = await resolve('--json', '--docker-config', config, `${env.token.host}/private/app:1.0`);
  t.equal(withBob.code, 0, withBob.stdout + withBob.stderr);
  t.notMatch(withBob.stdout + withBob.stderr, /bob-secret/);
});

t.test('a developer docker config with a credential helper still works; the helper is a warning on stderr', async (t) => {
  const config = env.dockerConfig('desktop.json', { [env.basic.host]: { username: 'alice', password: 'alice-secret' } }, { credsStore: 'desktop' });
  const r = await resolve('--docker-config', config, `${env.basic.host}/private/app:1.0`);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stderr, /^pullguard resolve: warning: .*credential helpers/m);
});

t.test('registry.requestTimeoutMs from --config bounds each registry request', async (t) => {
  // A registry that never answers; the time from its request to the client hanging up is the request timeout.
  const hangUps: number[] = [];
  const silent = await startLoopbackServer((req) => {
    const arrived = Date.now();
    req.socket.once('close', () => hangUps.push(Date.now() - arrived));
  });
  t.teardown(() => silent.stop());
  const config = env.file('short-timeout.yaml', 'registry:\n  requestTimeoutMs: 300\n');
  const registries = env.file('silent-registries.yaml', `registries:\n  "${silent.host}":\n    ca: ${env.open.caFile}\n`);
  const r = await run(['resolve', '--json', '--config', config, '--registry-config', registries, `${silent.host}/team/app:1.0`]);
  t.equal(r.code, 2, r.stdout + r.stderr);
  t.equal(rows<Row>(r)[0]?.reason, 'RegistryTimeout');
  t.ok(hangUps.length > 0, 'the registry was asked');
  t.ok(hangUps.every((ms) => ms < 2500), `each request given up after ${hangUps.join(', ')} ms, not the 4 s default`);
});

t.test('usage and configuration errors exit 3 with one clear line on stderr and nothing on stdout', async (t) => {
  const notJson = env.file('not-json.json', '{"auths": {');
  const badRegistries = env.file('bad-registries.yaml', 'registries:\n  "127.0.0.1:5000":\n    caFile: /x.pem\n');
  const badConfig = env.file('bad-config.yaml', 'mode: enforced\n');
  const cases: [string, string[], RegExp][] = [
    ['no image', ['resolve'], /^pullguard resolve: no image given\n/],
    ['an unknown flag', ['resolve', '--plattform', 'linux/amd64', 'x'], /^pullguard resolve: Unknown option '--plattform'/],
    ['a registry config that does not exist', ['resolve', '--registry-config', '/nonexistent/registries.yaml', 'x'], /^pullguard resolve: registry config \/nonexistent\/registries\.yaml: cannot read it \(ENOENT\)/],
    ['a registry config with an unknown key', ['resolve', '--registry-config', badRegistries, 'x'], /^pullguard resolve: registry config .*bad-registries\.yaml: .*caFile/],
    ['a docker config that does not exist', ['resolve', '--docker-config', '/nonexistent/config.json', 'x'], /^pullguard resolve: docker config \/nonexistent\/config\.json: cannot read it \(ENOENT\)/],
    ['a docker config that is not JSON', ['resolve', '--docker-config', notJson, 'x'], /^pullguard resolve: docker-config .*not-json\.json: the docker config is not valid JSON/],
    ['a platform that is not one', ['resolve', '--platform', 'amd65', 'x'], /^pullguard resolve: --platform: "amd65" is not os\/arch\[\/variant\]/],
    ['a config file with a bad value', ['resolve', '--config', badConfig, 'x'], /^pullguard resolve: .*bad-config\.yaml: mode: must be one of "enforce", "warn"/],
    ['a config file that does not exist', ['resolve', '--config', '/nonexistent/pullguard.yaml', 'x'], /^pullguard resolve: config file \/nonexistent\/pullguard\.yaml: cannot read it \(ENOENT\)/],
  ];
  for (const [what, args, stderr] of cases) {
    const r = await run(args);
    t.equal(r.code, 3, `${what}: exit 3`);
    t.match(r.stderr, stderr, `${what}: says so`);
    t.equal(r.stdout, '', `${what}: nothing on stdout`);
  }
});

t.test('--help prints the options and exit codes on stdout and exits 0', async (t) => {
  const r = await run(['resolve', '--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^Usage: pullguard resolve IMAGE\.\.\./);
  for (const flag of ['--platform', '--docker-config', '--registry-config', '--kubeconfig', '--json']) t.match(r.stdout, flag);
  t.match(r.stdout, /Exit codes: 0 every image pulls, 1 some image cannot be pulled, 2 .*, 3 usage or configuration error/s);
  t.equal(r.stderr, '');
});

t.test('a relative ca: in the registry config is read next to that file, wherever the CLI runs', async (t) => {
  const { copyFileSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const { tmpdir } = await import('node:os');
  const dir = makeTempDir('relca');
  copyFileSync(env.open.caFile, join(dir, 'registry-ca.pem'));
  writeFileSync(join(dir, 'registries.yaml'), `registries:\n  "${env.open.host}":\n    ca: registry-ca.pem\n`);
  const r = await run(['resolve', '--registry-config', join(dir, 'registries.yaml'), open('team/app:1.0')], { cwd: tmpdir() });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /ALLOW/);
});
