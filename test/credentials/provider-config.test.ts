// The kubelet's CredentialProviderConfig as pullguard reads it: a file or a directory merged in lexicographic
// order, decoded strictly, validated with the kubelet's rules, each plugin executable found in the bin dir.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { loadCredentialProviderConfig, parseGoDuration } from '../../src/credentials/provider-config.ts';
import { installFakePlugin, providerConfig } from '../harness/credential-plugin-kit.ts';

const root = mkdtempSync(join(tmpdir(), 'pullguard-provider-config-'));
t.teardown(() => rmSync(root, { recursive: true, force: true }));
const bin = join(root, 'bin');
mkdirSync(bin);
for (const name of ['ecr-credential-provider', 'gcp-credential-provider', 'acr-credential-provider']) installFakePlugin(bin, name);

let n = 0;
function file(text: string, ext = 'yaml'): string {
  const path = join(root, `config-${++n}.${ext}`);
  writeFileSync(path, text);
  return path;
}

const ECR_YAML = `apiVersion: kubelet.config.k8s.io/v1
kind: CredentialProviderConfig
providers:
  - name: ecr-credential-provider
    matchImages:
      - "*.dkr.ecr.*.amazonaws.com"
      - "*.dkr.ecr.*.amazonaws.com.cn"
    defaultCacheDuration: "12h"
    apiVersion: credentialprovider.kubelet.k8s.io/v1
    args: [get-credentials]
    env:
      - name: AWS_PROFILE
        value: node
`;

t.test('the EKS node config reads as the kubelet reads it', async (t) => {
  const got = loadCredentialProviderConfig(file(ECR_YAML), bin);
  if (!got.ok) return t.fail(got.errors.join('\n'));
  t.equal(got.providers.length, 1);
  t.match(got.providers[0], {
    name: 'ecr-credential-provider',
    matchImages: ['*.dkr.ecr.*.amazonaws.com', '*.dkr.ecr.*.amazonaws.com.cn'],
    defaultCacheDurationMs: 12 * 3_600_000,
    apiVersion: 'credentialprovider.kubelet.k8s.io/v1',
    args: ['get-credentials'],
    env: [{ name: 'AWS_PROFILE', value: 'node' }],
    tokenAttributes: false,
    path: join(bin, 'ecr-credential-provider'),
  });
});

t.test('a directory: *.json, *.yaml, *.yml in lexicographic order, providers concatenated; other files ignored', async (t) => {
  const dir = join(root, 'conf.d');
  mkdirSync(dir);
  writeFileSync(join(dir, '20-gcp.json'), providerConfig([{ name: 'gcp-credential-provider', matchImages: ['*-docker.pkg.dev'] }]));
  writeFileSync(join(dir, '10-ecr.yaml'), ECR_YAML);
  writeFileSync(join(dir, '30-acr.yml'), ECR_YAML.replaceAll('ecr-credential-provider', 'acr-credential-provider').replace('apiVersion: kubelet.config.k8s.io/v1', 'apiVersion: kubelet.config.k8s.io/v1beta1'));
  writeFileSync(join(dir, 'README.md'), 'not a config');
  mkdirSync(join(dir, 'sub.yaml'));
  const got = loadCredentialProviderConfig(dir, bin);
  if (!got.ok) return t.fail(got.errors.join('\n'));
  t.same(got.providers.map((p) => p.name), ['ecr-credential-provider', 'gcp-credential-provider', 'acr-credential-provider']);

  writeFileSync(join(dir, '40-dup.yaml'), ECR_YAML);
  const dup = loadCredentialProviderConfig(dir, bin);
  t.match(dup, { ok: false, errors: [/duplicate provider name "ecr-credential-provider"/] }, 'a name in two files is an error, as in the kubelet');

  const empty = join(root, 'empty.d');
  mkdirSync(empty);
  t.match(loadCredentialProviderConfig(empty, bin), { ok: false, errors: [/no configuration files found in directory/] });
});

t.test('what the kubelet refuses, pullguard refuses at start-up with the reason', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['unknown field', ECR_YAML.replace('defaultCacheDuration', 'cacheDuration'), /unknown field "cacheDuration"/],
    ['wrong kind', ECR_YAML.replace('kind: CredentialProviderConfig', 'kind: KubeletConfiguration'), /kind: must be CredentialProviderConfig/],
    ['wrong config apiVersion', ECR_YAML.replace('kubelet.config.k8s.io/v1', 'kubelet.config.k8s.io/v2'), /apiVersion: must be one of kubelet.config.k8s.io\/v1, /],
    ['plugin apiVersion', ECR_YAML.replace('credentialprovider.kubelet.k8s.io/v1', 'credentialprovider.kubelet.k8s.io/v2'), /apiVersion "credentialprovider.kubelet.k8s.io\/v2" is not supported/],
    ['no matchImages', ECR_YAML.replace(/matchImages:\n.*\n.*\n/, 'matchImages: []\n'), /at least 1 item in matchImages is required/],
    ['bad matchImage', ECR_YAML.replace('"*.dkr.ecr.*.amazonaws.com"', '"bad host%zz"'), /match image "bad host%zz" is invalid/],
    ['no defaultCacheDuration', ECR_YAML.replace('    defaultCacheDuration: "12h"\n', ''), /defaultCacheDuration is required/],
    ['bad duration', ECR_YAML.replace('"12h"', '"12 hours"'), /"12 hours" is not a duration/],
    ['negative duration', ECR_YAML.replace('"12h"', '"-1m"'), /must be greater than or equal to 0/],
    ['name with a slash', ECR_YAML.replace('name: ecr-credential-provider', 'name: ../ecr'), /cannot contain '\/'/],
    ['no providers', 'apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders: []\n', /at least 1 item in providers is required/],
    ['missing binary', ECR_YAML.replaceAll('ecr-credential-provider', 'not-installed'), /plugin binary executable .*not-installed did not exist/],
    ['not YAML', 'providers: [', /not valid YAML or JSON/],
    ['a list', '- 1\n', /must be a CredentialProviderConfig object/],
    ['duplicate key', ECR_YAML.replace('    args: [get-credentials]\n', '    args: [a]\n    args: [b]\n'), /not valid YAML or JSON/],
    ['tokenAttributes with v1beta1', ECR_YAML.replace('credentialprovider.kubelet.k8s.io/v1', 'credentialprovider.kubelet.k8s.io/v1beta1') + '    tokenAttributes:\n      serviceAccountTokenAudience: sts.amazonaws.com\n', /tokenAttributes is only supported for credentialprovider.kubelet.k8s.io\/v1/],
  ];
  for (const [name, text, says] of cases) {
    const got = loadCredentialProviderConfig(file(text), bin);
    t.equal(got.ok, false, name);
    if (!got.ok) t.match(got.errors.join('\n'), says, name);
  }
  t.match(loadCredentialProviderConfig(join(root, 'nope.yaml'), bin), { ok: false, errors: [/cannot read it \(ENOENT\)/] });
  t.match(loadCredentialProviderConfig(file(ECR_YAML), join(root, 'no-bin')), { ok: false, errors: [/plugin binary directory .* did not exist/] });
  t.match(loadCredentialProviderConfig(file(ECR_YAML), ''), { ok: false, errors: [/bin dir is not set/] });
});

t.test('a provider with tokenAttributes loads, marked as service-account-token mode', async (t) => {
  const got = loadCredentialProviderConfig(file(`${ECR_YAML}    tokenAttributes:\n      serviceAccountTokenAudience: sts.amazonaws.com\n      requireServiceAccount: true\n      cacheType: ServiceAccount\n`), bin);
  t.match(got, { ok: true, providers: [{ tokenAttributes: true }] });
});

t.test('durations parse as Go\'s time.ParseDuration', async (t) => {
  const cases: [string, number | undefined][] = [['0', 0], ['0s', 0], ['12h', 43_200_000], ['1h30m', 5_400_000], ['1.5s', 1500], ['300ms', 300], ['-1m', -60_000], ['', undefined], ['1', undefined], ['1d', undefined], ['h', undefined], ['1h 30m', undefined]];
  for (const [text, ms] of cases) t.equal(parseGoDuration(text), ms, JSON.stringify(text));
});
