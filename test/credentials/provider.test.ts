// Kubelet credential provider plugins run by pullguard as the kubelet runs them: the exec protocol (request on
// stdin, response on stdout, apiVersion checked, args and env), matchImages, the cache by cacheKeyType and
// cacheDuration shown by counting executions, concurrent lookups coalesced, and every failure (slow, wrong
// apiVersion, non-zero exit, garbage) giving no credentials with a short reason that never carries a secret.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createCredentialProviders, sanitiseStderr, type CredentialProviders } from '../../src/credentials/provider.ts';
import type { CredentialProviderSpec } from '../../src/credentials/provider-config.ts';
import { executions, installFakePlugin } from '../harness/credential-plugin-kit.ts';

const dir = mkdtempSync(join(tmpdir(), 'pullguard-provider-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const open: CredentialProviders[] = [];
t.teardown(() => Promise.all(open.map((p) => p.close())));

let counter = 0;
function spec(over: Partial<CredentialProviderSpec> & { auth?: Record<string, { username: string; password: string }>; cacheKeyType?: string; cacheDuration?: string } = {}): CredentialProviderSpec & { countFile: string } {
  const name = over.name ?? `fake-${++counter}`;
  const countFile = join(dir, `${name}.count`);
  const env = [
    { name: 'PLUGIN_COUNT_FILE', value: countFile },
    { name: 'PLUGIN_AUTH', value: JSON.stringify(over.auth ?? { '*.dkr.ecr.*.amazonaws.com': { username: 'AWS', password: 'ecr-token-1' } }) },
    { name: 'PLUGIN_CACHE_KEY_TYPE', value: over.cacheKeyType ?? 'Image' },
    ...(over.cacheDuration !== undefined ? [{ name: 'PLUGIN_CACHE_DURATION', value: over.cacheDuration }] : []),
    ...(over.env ?? []),
  ];
  return {
    source: 'test',
    matchImages: ['*.dkr.ecr.*.amazonaws.com'],
    defaultCacheDurationMs: 600_000,
    apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
    args: [],
    tokenAttributes: false,
    path: installFakePlugin(dir, name),
    ...over,
    name,
    env,
    countFile,
  };
}

function providers(specs: CredentialProviderSpec[], clock?: () => number): CredentialProviders {
  const p = createCredentialProviders(specs, { ...(clock ? { clock } : {}) });
  open.push(p);
  return p;
}

const ecr = (repository: string, registry = '123456789012.dkr.ecr.eu-west-1.amazonaws.com') => ({ registry, repository });
const far = () => Date.now() + 30_000;

t.test('a matching plugin is asked with a CredentialProviderRequest for registry/repository, and its auth become keyring entries', async (t) => {
  const s = spec();
  const p = providers([s]);
  const out = await p.provide(ecr('team/app'), far());
  t.same(out.matched, [s.name]);
  t.same(out.unavailable, []);
  t.same(out.entries, [{ key: '*.dkr.ecr.*.amazonaws.com', source: `credential provider ${s.name}`, username: 'AWS', password: 'ecr-token-1' }]);
  t.same(executions(s.countFile), ['123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app'], 'the image is registry/repository, as the kubelet passes repoToPull');
});

t.test('an image no matchImages glob matches runs no plugin', async (t) => {
  const s = spec();
  const p = providers([s]);
  for (const image of [ecr('app', 'registry.example.com'), ecr('app', 'dkr.ecr.eu-west-1.amazonaws.com'), ecr('library/nginx', 'docker.io')]) {
    t.equal(p.matches(image), false, image.registry);
    const out = await p.provide(image, far());
    t.same(out, { matched: [], entries: [], unavailable: [] });
  }
  t.same(executions(s.countFile), []);
});

t.test('matchImages follow the kubelet\'s URLsMatchStr: labels by glob, ports equal, path a prefix', async (t) => {
  const cases: [string, string, string, boolean][] = [
    ['*.dkr.ecr.*.amazonaws.com', '1.dkr.ecr.us-east-1.amazonaws.com', 'app', true],
    ['*.dkr.ecr.*.amazonaws.com', 'a.b.dkr.ecr.us-east-1.amazonaws.com', 'app', false],
    ['*-docker.pkg.dev', 'europe-docker.pkg.dev', 'p/r/app', true],
    ['*.azurecr.io', 'team.azurecr.io', 'app', true],
    ['registry.io:5000', 'registry.io', 'app', false],
    ['registry.io', 'registry.io:5000', 'app', false],
    ['registry.io/team', 'registry.io', 'team/app', true],
    ['registry.io/team', 'registry.io', 'other/app', false],
    ['*', 'localhost', 'app', true],
    ['*', 'registry.io', 'app', false],
  ];
  for (const [glob, registry, repository, want] of cases) {
    const p = createCredentialProviders([{ ...spec(), matchImages: [glob] }]);
    t.equal(p.matches({ registry, repository }), want, `${glob} vs ${registry}/${repository}`);
    await p.close();
  }
});

t.test('args and env from the config reach the plugin; the config\'s env wins over pullguard\'s own', async (t) => {
  const s = spec({ args: ['--api-version=credentialprovider.kubelet.k8s.io/v1beta1'] });
  const out = await providers([s]).provide(ecr('argued'), far());
  t.match(out.unavailable[0]?.why, 'answered with apiVersion credentialprovider.kubelet.k8s.io/v1beta1, but the config says credentialprovider.kubelet.k8s.io/v1', 'the arg changed its answer');
  const overridden = spec({ env: [{ name: 'PLUGIN_AUTH', value: JSON.stringify({ 'other.example.com': { username: 'u', password: 'p' } }) }] });
  const got = await createCredentialProviders([overridden], { environment: { ...process.env, PLUGIN_AUTH: '{}' } }).provide(ecr('env'), far());
  t.same(got.entries.map((e) => e.key), ['other.example.com'], 'a later env entry with the same name wins, as in the kubelet\'s mergeEnvVars');
});

t.test('each v1alpha1, v1beta1 and v1 provider is sent its own apiVersion and must answer with it', async (t) => {
  for (const v of ['v1alpha1', 'v1beta1', 'v1']) {
    const s = spec({ apiVersion: `credentialprovider.kubelet.k8s.io/${v}` as CredentialProviderSpec['apiVersion'] });
    const out = await providers([s]).provide(ecr('versions'), far());
    t.equal(out.entries.length, 1, v);
  }
});

t.test('cacheKeyType Image caches per image, Registry per registry, Global for all: counted executions', async (t) => {
  const images = [ecr('a'), ecr('b'), ecr('a', '2.dkr.ecr.us-east-1.amazonaws.com'), ecr('a')];
  const expected: Record<string, number> = { Image: 3, Registry: 2, Global: 1 };
  for (const type of ['Image', 'Registry', 'Global']) {
    const s = spec({ cacheKeyType: type });
    const p = providers([s]);
    for (const image of images) {
      const out = await p.provide(image, far());
      t.equal(out.entries[0]?.password, 'ecr-token-1', `${type}: ${image.registry}/${image.repository} gets credentials`);
    }
    t.equal(executions(s.countFile).length, expected[type], `${type}: ${expected[type]} executions for ${images.length} lookups`);
  }
});

t.test('cacheDuration: the response\'s wins, "0s" means not cached, absent means defaultCacheDuration (0: not cached)', async (t) => {
  let now = 1_000_000;
  const clock = () => now;
  const run = async (over: Parameters<typeof spec>[0], steps: number[]): Promise<number> => {
    const s = spec(over);
    const p = providers([s], clock);
    for (const advance of steps) {
      now += advance;
      await p.provide(ecr('dur'), now + 30_000);
    }
    return executions(s.countFile).length;
  };
  t.equal(await run({ cacheDuration: '1m' }, [0, 59_000, 2_000]), 2, 'cached for one minute, then asked again');
  t.equal(await run({ cacheDuration: '0s' }, [0, 1, 1]), 3, 'explicitly zero: every lookup executes');
  t.equal(await run({ defaultCacheDurationMs: 120_000 }, [0, 119_000, 2_000]), 2, 'no cacheDuration: the provider\'s default');
  t.equal(await run({ defaultCacheDurationMs: 0 }, [0, 1]), 2, 'default zero: not cached');
  t.equal(await run({ cacheDuration: '1h30m' }, [0, 5_399_000, 2_000]), 2, 'Go durations with several units');
});

t.test('concurrent lookups of one image share one execution', async (t) => {
  const s = spec({ args: ['--sleep=0.3'] });
  const p = providers([s]);
  const outs = await Promise.all(Array.from({ length: 20 }, () => p.provide(ecr('crowd'), far())));
  t.ok(outs.every((o) => o.entries[0]?.password === 'ecr-token-1'));
  t.equal(executions(s.countFile).length, 1, 'one execution for 20 concurrent lookups');
});

t.test('a slow plugin gives no credentials at the deadline, and its answer serves the next lookup', async (t) => {
  const s = spec({ args: ['--sleep=1.5'] });
  const p = providers([s]);
  const late = await p.provide(ecr('slow'), Date.now() + 100);
  t.same(late.entries, []);
  t.match(late.unavailable, [{ provider: s.name, why: /did not answer before the review's deadline/ }]);
  await new Promise((r) => setTimeout(r, 2000));
  const next = await p.provide(ecr('slow'), Date.now() + 100);
  t.equal(next.entries[0]?.password, 'ecr-token-1', 'cached from the execution that went on');
  t.equal(executions(s.countFile).length, 1);
});

t.test('a plugin execution shared by two reviews goes on when one of them ends, and is killed when both have', async (t) => {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const s = spec({ args: ['--sleep=1'] });
  const p = providers([s]);
  const [a, b] = [new AbortController(), new AbortController()];
  const first = p.provide(ecr('shared'), far(), a.signal);
  const second = p.provide(ecr('shared'), far(), b.signal);
  a.abort();
  t.match((await first).unavailable, [{ provider: s.name, why: /no review waited for its answer any more/ }], 'the review that ended stops waiting');
  t.equal((await second).entries[0]?.password, 'ecr-token-1', 'the other review still gets the credentials');
  t.equal(executions(s.countFile).length, 1, 'one execution for both');

  const [c, d] = [new AbortController(), new AbortController()];
  const third = p.provide(ecr('abandoned'), far(), c.signal);
  const fourth = p.provide(ecr('abandoned'), far(), d.signal);
  while (executions(s.countFile).length < 2) await sleep(20);
  c.abort();
  d.abort();
  t.same([(await third).entries, (await fourth).entries], [[], []]);
  await sleep(1500);
  const next = await p.provide(ecr('abandoned'), far());
  t.equal(next.entries[0]?.password, 'ecr-token-1', 'asked again: the kill is not held against the image as a failure');
  t.equal(executions(s.countFile).length, 3, 'the killed execution answered nothing that could be cached');
  const gone = new AbortController();
  gone.abort();
  t.match((await p.provide(ecr('never'), far(), gone.signal)).unavailable, [{ why: /no review waited/ }], 'a review already over starts nothing');
  t.equal(executions(s.countFile).length, 3);
});

t.test('a plugin past the exec timeout is killed and counts as failed', async (t) => {
  const s = spec({ args: ['--sleep=5'] });
  const p = createCredentialProviders([s], { execTimeoutMs: 300 });
  open.push(p);
  const out = await p.provide(ecr('hung'), far());
  t.match(out.unavailable, [{ why: 'did not answer within 300 ms' }]);
});

t.test('a failing plugin gives one short sanitised stderr line; it is not run again for a few seconds', async (t) => {
  const s = spec({ args: ['--fail'] });
  const p = providers([s]);
  const out = await p.provide(ecr('fails'), far());
  t.same(out.entries, []);
  t.equal(out.unavailable[0]?.why, 'exited with status 1: fake plugin: AccessDeniedException: not authorized to perform ecr:GetAuthorizationToken');
  await p.provide(ecr('fails'), far());
  t.equal(executions(s.countFile).length, 1, 'the failure is held for the next lookup');
});

t.test('a response that is not JSON, or that the kubelet\'s strict decoder refuses, gives nothing and never quotes stdout', async (t) => {
  const garbage = await providers([spec({ args: ['--garbage'] })]).provide(ecr('g'), far());
  t.equal(garbage.unavailable[0]?.why, 'wrote something other than a JSON CredentialProviderResponse to stdout');
  const badType = await providers([spec({ cacheKeyType: 'Forever' })]).provide(ecr('g'), far());
  t.match(badType.unavailable[0]?.why, /cannot decode \(\/cacheKeyType: must be equal to one of the allowed values\)/);
  const extra = await providers([spec({ auth: { 'x.io': { username: 'u', password: 'hunter2', token: 'zzz' } as never } })]).provide(ecr('g'), far());
  t.match(extra.unavailable[0]?.why, /cannot decode \(\/auth: unknown field\)/);
  t.notMatch(JSON.stringify([garbage, badType, extra]), /hunter2|zzz/);
});

t.test('several providers matching one image all run; their entries come in config order', async (t) => {
  const a = spec({ auth: { '*.dkr.ecr.*.amazonaws.com': { username: 'AWS', password: 'from-a' } } });
  const b = spec({ auth: { '*.dkr.ecr.*.amazonaws.com': { username: 'AWS', password: 'from-b' } } });
  const out = await providers([a, b]).provide(ecr('both'), far());
  t.same(out.entries.map((e) => e.password), ['from-a', 'from-b']);
  t.same(out.matched, [a.name, b.name]);
});

t.test('a provider with tokenAttributes (KEP-4412) is not run: its images say why', async (t) => {
  const s = spec({ tokenAttributes: true });
  const out = await providers([s]).provide(ecr('sa'), far());
  t.same(out.entries, []);
  t.match(out.unavailable, [{ provider: s.name, why: /service-account tokens \(tokenAttributes, KEP-4412\)/ }]);
  t.same(executions(s.countFile), []);
});

t.test('a plugin binary that cannot be executed is a failure, not a crash', async (t) => {
  const s = { ...spec(), path: join(dir, 'missing-binary') };
  const out = await providers([s]).provide(ecr('missing'), far());
  t.match(out.unavailable, [{ why: /could not run .*missing-binary \(ENOENT\)/ }]);
});

t.test('what is logged names the provider, the image and the registries, never a password or token', async (t) => {
  const logged: unknown[] = [];
  const log = { warn: (o: object) => logged.push(o), debug: (o: object) => logged.push(o) };
  const good = spec({ auth: { 'r.example.com': { username: 'AWS', password: 'logged-never-1' } } });
  const bad = spec({ args: ['--fail'], auth: { 'r.example.com': { username: 'AWS', password: 'logged-never-2' } } });
  const p = createCredentialProviders([good, bad], { log });
  open.push(p);
  const out = await p.provide(ecr('logs'), far());
  t.equal(out.entries[0]?.password, 'logged-never-1', 'the credential is handed over');
  t.equal(logged.length, 2, 'one line per execution');
  const of = (name: string) => logged.find((l) => (l as { provider?: string }).provider === name);
  t.match(of(good.name), { provider: good.name, image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/logs', registries: ['r.example.com'] });
  t.match(of(bad.name), { provider: bad.name, why: /exited with status 1/ });
  t.notMatch(JSON.stringify(logged), /logged-never/);
});

t.test('stderr is reduced to one printable line with long token-like runs removed', async (t) => {
  t.equal(sanitiseStderr('\n  first line\nsecond'), 'first line');
  t.equal(sanitiseStderr(`token ${'A'.repeat(40)} rejected`), 'token [redacted] rejected');
  t.equal(sanitiseStderr('bell\x07 é'), 'bell? ?');
  t.equal(sanitiseStderr('y '.repeat(200)).length, 160);
});
