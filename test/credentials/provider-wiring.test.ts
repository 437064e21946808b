// How credential providers are switched on: the credentialProviders config key, the kubelet's own flag names on
// every command, start-up errors for a config the kubelet would refuse, `pullguard resolve` with the flags against
// a real registry, and the rule that turns a refusal into CredentialProviderUnavailable.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import t from 'tap';
import { pino } from 'pino';
import { loadConfig, DEFAULT_CONFIG } from '../../src/config.ts';
import { createMetrics } from '../../src/metrics.ts';
import { configFrom, parse, COMMON_OPTIONS, SERVE_OPTIONS, CHECK_OPTIONS } from '../../src/cli/flags.ts';
import { buildRuntime } from '../../src/cli/runtime.ts';
import { runResolve } from '../../src/cli/resolve.ts';
import { withProviderGap } from '../../src/verdict/check.ts';
import type { ProviderOutcome } from '../../src/credentials/provider.ts';
import { resolution } from '../../src/verdict/classify.ts';
import type { ReasonCode } from '../../src/verdict/reasons.ts';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { installFakePlugin, providerConfig } from '../harness/credential-plugin-kit.ts';
import { makeDir, writeRegistryConfig } from '../verdict/check-env.ts';

const work = makeDir();
t.teardown(() => work.remove());
const silent = pino({ level: 'silent' });

t.test('the kubelet\'s flag names set credentialProviders on serve, check and resolve; the file key does the same', async (t) => {
  for (const options of [SERVE_OPTIONS, CHECK_OPTIONS, COMMON_OPTIONS]) {
    const parsed = parse(['--image-credential-provider-config', '/etc/kubernetes/credential-providers.yaml', '--image-credential-provider-bin-dir', '/usr/libexec/kubernetes/kubelet-plugins/credential-provider/exec'], options);
    if (!parsed.ok) return t.fail(parsed.error);
    const cfg = configFrom(parsed.values, {});
    t.match(cfg, { ok: true, config: { credentialProviders: { config: '/etc/kubernetes/credential-providers.yaml', binDir: '/usr/libexec/kubernetes/kubelet-plugins/credential-provider/exec' } } });
  }
  const file = join(work.dir, 'pullguard.yaml');
  writeFileSync(file, 'credentialProviders:\n  config: /etc/cp.yaml\n  binDir: /opt/bin\n');
  t.match(loadConfig({ file }), { ok: true, config: { credentialProviders: { config: '/etc/cp.yaml', binDir: '/opt/bin' } } });
  writeFileSync(file, 'credentialProviders:\n  configFile: /etc/cp.yaml\n');
  t.match(loadConfig({ file }), { ok: false, errors: [/credentialProviders: unknown key "configFile"/] });
  t.same(DEFAULT_CONFIG.credentialProviders, { config: '', binDir: '' }, 'off unless asked for');
});

t.test('a provider config the kubelet would refuse stops start-up with the reason', async (t) => {
  const config = structuredClone(DEFAULT_CONFIG);
  config.kubernetes.enabled = false;
  const bad = join(work.dir, 'bad.yaml');
  writeFileSync(bad, providerConfig([{ name: 'absent', matchImages: ['*.azurecr.io'] }]));
  config.credentialProviders = { config: bad, binDir: work.dir };
  t.match(buildRuntime(config, { log: silent }), { ok: false, errors: [/plugin binary executable .*absent did not exist/] });
  config.credentialProviders = { config: bad, binDir: '' };
  t.match(buildRuntime(config, { log: silent }), { ok: false, errors: [/bin dir is not set/] });
});

t.test('plugin executions are counted by provider and result', async (t) => {
  const bin = join(work.dir, 'metrics-bin');
  mkdirSync(bin);
  installFakePlugin(bin, 'good');
  installFakePlugin(bin, 'bad');
  const conf = join(work.dir, 'metrics-providers.json');
  writeFileSync(conf, providerConfig([{ name: 'good', matchImages: ['127.0.0.1:1'] }, { name: 'bad', matchImages: ['127.0.0.1:1'], args: ['--fail'] }]));
  const config = structuredClone(DEFAULT_CONFIG);
  config.kubernetes.enabled = false;
  config.registry.requestTimeoutMs = 500;
  config.credentialProviders = { config: conf, binDir: bin };
  const metrics = createMetrics({ defaultMetrics: false });
  const built = buildRuntime(config, { log: silent, metrics });
  if (!built.ok) return t.fail(built.errors.join('\n'));
  try {
    const target = { containerName: 'c', field: 'containers' as const, image: '127.0.0.1:1/team/app:1.0', fieldPath: 'spec.containers[0].image', pullPolicy: 'IfNotPresent' as const, pullPolicyDefaulted: false };
    const { findings } = await built.runtime.checker.check({ namespace: 'demo', isTemplate: false, serviceAccountName: '', imagePullSecrets: [], nodeSelector: {} }, [target], Date.now() + 10_000);
    t.equal(findings[0]?.resolution.verdict, 'unknown', 'a closed port: unknown');
    const text = await metrics.registry.getSingleMetricAsString('pullguard_credential_provider_executions_total');
    t.match(text, 'pullguard_credential_provider_executions_total{provider="good",result="ok"} 1');
    t.match(text, 'pullguard_credential_provider_executions_total{provider="bad",result="error"} 1');
  } finally {
    await built.runtime.close();
  }
});

t.test('an auth refusal becomes CredentialProviderUnavailable only for images a provider matched', async (t) => {
  const none: ProviderOutcome = { matched: [], entries: [], unavailable: [] };
  const failed: ProviderOutcome = { matched: ['p'], entries: [], unavailable: [{ provider: 'p', why: 'exited with status 1' }] };
  const answered: ProviderOutcome = { matched: ['p'], entries: [{ key: 'r.io', source: 'credential provider p', username: 'AWS', password: 'x' }], unavailable: [] };
  const cases: [string, ReasonCode, ProviderOutcome | undefined, ReasonCode][] = [
    ['no provider', 'AuthRequired', undefined, 'AuthRequired'],
    ['no provider matched', 'AuthRequired', none, 'AuthRequired'],
    ['provider failed, 401', 'AuthRequired', failed, 'CredentialProviderUnavailable'],
    ['provider failed, 404 repository', 'RepositoryNotFound', failed, 'CredentialProviderUnavailable'],
    ['provider failed, tag missing on a registry that let us in', 'TagNotFound', failed, 'TagNotFound'],
    ['provider answered, refused', 'CredentialsRejected', answered, 'CredentialProviderUnavailable'],
    ['provider answered, no access', 'AccessDenied', answered, 'CredentialProviderUnavailable'],
    ['provider answered, repository missing', 'RepositoryNotFound', answered, 'RepositoryNotFound'],
    ['provider answered, tag missing', 'TagNotFound', answered, 'TagNotFound'],
    ['provider failed, registry down', 'RegistryUnreachable', failed, 'RegistryUnreachable'],
  ];
  for (const [name, reason, outcome, want] of cases) {
    const r = withProviderGap(resolution(reason, 'r.io/app:1'), outcome);
    t.equal(r.reason, want, name);
    if (want === 'CredentialProviderUnavailable') t.equal(r.verdict, 'unknown', `${name}: unknown, never deny`);
  }
});

t.test('pullguard resolve with the kubelet\'s flags checks an image behind a provider', async (t) => {
  let reg: TestRegistry | undefined;
  try {
    reg = await startRegistry({ auth: 'basic', users: [{ username: 'AWS', password: 'cli-token' }] });
    await pushImage(reg, { repository: 'team/app', tag: '1.0', platforms: [{ os: 'linux', architecture: 'amd64' }] });
    const bin = join(work.dir, 'cli-bin');
    mkdirSync(bin);
    installFakePlugin(bin, 'ecr-credential-provider');
    const conf = join(work.dir, 'cli-providers.yaml');
    writeFileSync(conf, providerConfig([{ name: 'ecr-credential-provider', matchImages: [reg.host], env: [{ name: 'PLUGIN_AUTH', value: JSON.stringify({ [reg.host]: { username: 'AWS', password: 'cli-token' } }) }] }]));
    const registryConfig = writeRegistryConfig(work.dir, [reg]);
    const run = async (image: string, withProvider: boolean): Promise<{ code: number; out: string }> => {
      let out = '';
      const sink = new Writable({ write(chunk, _e, cb) { out += String(chunk); cb(); } });
      const flags = withProvider ? ['--image-credential-provider-config', conf, '--image-credential-provider-bin-dir', bin] : [];
      const code = await runResolve([image, '--registry-config', registryConfig, '--json', ...flags], sink, sink);
      return { code, out };
    };
    const ok = await run(`${reg.host}/team/app:1.0`, true);
    t.equal(ok.code, 0, ok.out);
    t.match(ok.out, /"reason": "Resolved"/);
    const typo = await run(`${reg.host}/team/app:1.1`, true);
    t.not(typo.code, 0);
    t.match(typo.out, /"reason": "TagNotFound"/);
    t.notMatch(typo.out + ok.out, /cli-token/, 'the token is never printed');
    const without = await run(`${reg.host}/team/app:1.0`, false);
    t.match(without.out, /"reason": "AuthRequired"/, 'without the flags the same image needs credentials');
  } finally {
    await reg?.stop();
  }
});
