// containerd hosts.toml read as containerd 2.x reads it: the examples of containerd's docs/hosts.md as a table
// (file → the hosts tried, in order, with capabilities, ns= and TLS files), the directory search order
// (`host_port_`, `host:port`, `_default`), Docker certificate files, and files containerd would ignore.
import t, { type Test } from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyHosts, hostPaths, loadHostsDir, parseHostsToml } from '../../src/registry/hosts-toml.ts';
import { planEndpoints } from '../../src/registry/endpoints.ts';
import { withDefaults } from '../../src/registry/config.ts';
import { ref } from './registry-fixture.ts';
import { makeTempDir } from '../harness/lifecycle.ts';

interface Row {
  file: string;
  image: string;
  /** host, scheme, path, pull/resolve, ns */
  hosts: [string, 'https' | 'http', string, string, string | undefined][];
  extra?: (t: Test, hosts: ReturnType<typeof applyHosts>['hosts']) => void;
}

const base = '/etc/containerd/certs.d/docker.io';
const caps = (pull: boolean, resolve: boolean) => `${pull ? 'pull' : ''}${pull && resolve ? '+' : ''}${resolve ? 'resolve' : ''}`;

const docs: Record<string, Row> = {
  'Simple (default) Host Config for Docker: the host, then server with ns=docker.io': {
    file: 'server = "https://docker.io"\n\n[host."https://registry-1.docker.io"]\n  capabilities = ["pull", "resolve"]\n',
    image: 'nginx:1.27',
    hosts: [
      ['registry-1.docker.io', 'https', '/v2', 'pull+resolve', undefined],
      ['docker.io', 'https', '/v2', 'pull+resolve', undefined],
    ],
  },
  'Setup a Local Mirror for Docker: a pull-only public mirror, a private mirror with a relative ca, then the upstream': {
    file: 'server = "https://registry-1.docker.io"    # Exclude this to not use upstream\n\n[host."https://public-mirror.example.com"]\n  capabilities = ["pull"]\n[host."https://docker-mirror.internal"]\n  capabilities = ["pull", "resolve"]\n  ca = "docker-mirror.crt"\n',
    image: 'nginx:1.27',
    hosts: [
      ['public-mirror.example.com', 'https', '/v2', 'pull', 'docker.io'],
      ['docker-mirror.internal', 'https', '/v2', 'pull+resolve', 'docker.io'],
      ['registry-1.docker.io', 'https', '/v2', 'pull+resolve', undefined],
    ],
    extra: (t, hosts) => t.same(hosts[1]?.caFiles, [`${base}/docker-mirror.crt`], 'a relative ca is relative to the hosts.toml directory'),
  },
  'Setup Default Mirror for All Registries: the mirror, then the image\'s own registry': {
    file: '[host."https://registry.example.com"]\n  capabilities = ["pull", "resolve"]\n',
    image: 'quay.io/team/app:v1',
    hosts: [
      ['registry.example.com', 'https', '/v2', 'pull+resolve', 'quay.io'],
      ['quay.io', 'https', '/v2', 'pull+resolve', undefined],
    ],
  },
  'only the mirror: server is the mirror, the upstream is never asked': {
    file: 'server = "https://registry.example.com"\n',
    image: 'quay.io/team/app:v1',
    hosts: [['registry.example.com', 'https', '/v2', 'pull+resolve', 'quay.io']],
  },
  'Bypass TLS Verification: an http mirror with skip_verify (push ignored), then the upstream': {
    file: 'server = "https://registry-1.docker.io"\n\n[host."http://192.168.31.250:5000"]\n  capabilities = ["pull", "resolve", "push"]\n  skip_verify = true\n',
    image: 'nginx',
    hosts: [
      ['192.168.31.250:5000', 'http', '/v2', 'pull+resolve', 'docker.io'],
      ['registry-1.docker.io', 'https', '/v2', 'pull+resolve', undefined],
    ],
    extra: (t, hosts) => t.equal(hosts[0]?.skipVerify, true),
  },
  'ca as a list, client as pairs, headers as a string and a list': {
    file: '[host."https://test-1.example.com"]\n  ca = ["/etc/certs/test-1-ca.pem", "/etc/certs/special.pem"]\n  client = [["/etc/certs/client.cert", "/etc/certs/client.key"],["/etc/certs/client.pem", ""]]\n  [host."https://test-1.example.com".header]\n    x-custom-1 = "custom header"\n    x-custom-2 = ["part a", "part b"]\n',
    image: 'example.com/app:v1',
    hosts: [
      ['test-1.example.com', 'https', '/v2', 'pull+resolve', 'example.com'],
      ['example.com', 'https', '/v2', 'pull+resolve', undefined],
    ],
    extra: (t, hosts) => {
      t.same(hosts[0]?.caFiles, ['/etc/certs/test-1-ca.pem', '/etc/certs/special.pem']);
      t.same(hosts[0]?.clientPairs, [['/etc/certs/client.cert', '/etc/certs/client.key'], ['/etc/certs/client.pem', '']]);
      t.same(hosts[0]?.headers, { 'x-custom-1': ['custom header'], 'x-custom-2': ['part a', 'part b'] });
    },
  },
  'override_path: the URL path is the API root; without it /v2 is appended to a path': {
    file: '[host."https://test-1.example.com/custom/api"]\n  override_path = true\n[host."https://test-2.example.com/prefix"]\n[host."https://test-3.example.com/prefix/v2/"]\n',
    image: 'example.com/app:v1',
    hosts: [
      ['test-1.example.com', 'https', '/custom/api', 'pull+resolve', 'example.com'],
      ['test-2.example.com', 'https', '/prefix/v2', 'pull+resolve', 'example.com'],
      ['test-3.example.com', 'https', '/prefix/v2', 'pull+resolve', 'example.com'],
      ['example.com', 'https', '/v2', 'pull+resolve', undefined],
    ],
  },
  'a host without a scheme is https; hosts keep file order, not alphabetical': {
    file: '[host."zz.example.com"]\n  capabilities = ["resolve"]\n[host."aa.example.com"]\n',
    image: 'example.com/app:v1',
    hosts: [
      ['zz.example.com', 'https', '/v2', 'resolve', 'example.com'],
      ['aa.example.com', 'https', '/v2', 'pull+resolve', 'example.com'],
      ['example.com', 'https', '/v2', 'pull+resolve', undefined],
    ],
  },
};

for (const [name, row] of Object.entries(docs)) {
  t.test(`docs/hosts.md: ${name}`, async (t) => {
    const parsed = parseHostsToml(row.file, base);
    if (!parsed.ok) return t.fail(parsed.error);
    const plan = applyHosts(parsed.hosts, ref(row.image), 'test');
    t.same(
      plan.hosts.map((h) => [h.host, h.scheme, h.path, caps(h.pull, h.resolve), h.ns]),
      row.hosts,
    );
    row.extra?.(t, plan.hosts);
  });
}

const invalid: Record<string, [string, RegExp]> = {
  'an unknown capability': ['[host."https://m.example.com"]\n  capabilities = ["pull", "fetch"]\n', /unknown capability "fetch"/],
  'ca of the wrong type': ['[host."https://m.example.com"]\n  ca = 5\n', /invalid type for "ca"/],
  'a client pair of three': ['[host."https://m.example.com"]\n  client = [["a", "b", "c"]]\n', /invalid pair/],
  'skip_verify as a string': ['skip_verify = "yes"\n', /"skip_verify" must be true or false/],
  'a header with a line break': ['[host."https://m.example.com".header]\n  x-a = "1\\r\\nInjected: yes"\n', /line break/],
  'not TOML at all': ['server = \n[[[', /invalid TOML/],
  'a server that is not a URL': ['server = "https://exa mple.com:99999"\n', /unable to parse server/],
};
t.test('files containerd would refuse are refused with the reason', async (t) => {
  for (const [name, [text, why]] of Object.entries(invalid)) {
    const parsed = parseHostsToml(text, base);
    t.equal(parsed.ok, false, name);
    if (!parsed.ok) t.match(parsed.error, why, name);
  }
});

t.test('directories are searched as host_port_, host:port, then _default', async (t) => {
  t.same(hostPaths('myregistry.io:5000'), ['myregistry.io_5000_', 'myregistry.io:5000', '_default']);
  t.same(hostPaths('docker.io'), ['docker.io', '_default']);
});

t.test('a config_path tree: per-registry directories, _default for the rest, certificate files, broken files', async (t) => {
  const dir = makeTempDir('hosts');
  const put = (sub: string, file: string, text: string) => {
    mkdirSync(join(dir, sub), { recursive: true });
    writeFileSync(join(dir, sub, file), text);
  };
  put('myregistry.io_5000_', 'hosts.toml', '[host."https://mirror.example.com"]\n');
  put('_default', 'hosts.toml', 'server = "https://catch-all.example.com"\n');
  put('certs.example.com', 'ca.crt', 'PEM');
  put('certs.example.com', 'client.cert', 'PEM');
  put('certs.example.com', 'client.key', 'PEM');
  put('broken.example.com', 'hosts.toml', '[host."https://m.example.com"]\n  capabilities = ["fly"]\n');
  const loaded = loadHostsDir(dir);
  if (!loaded.ok) return t.fail(loaded.errors.join('; '));
  const { registries, warnings } = loaded.value;
  const hosts = (image: string) => registries.plan(ref(image))?.hosts.map((h) => h.host);

  t.same(hosts('myregistry.io:5000/team/app:v1'), ['mirror.example.com', 'myregistry.io:5000'], 'host_port_ directory');
  t.same(hosts('quay.io/team/app:v1'), ['catch-all.example.com'], '_default when no directory matches');
  const certs = registries.plan(ref('certs.example.com/app:v1'))?.hosts;
  t.same(certs?.map((h) => [h.host, h.caFiles, h.clientPairs]), [['certs.example.com', [join(dir, 'certs.example.com', 'ca.crt')], [[join(dir, 'certs.example.com', 'client.cert'), join(dir, 'certs.example.com', 'client.key')]]]], 'Docker certificate files without hosts.toml');
  t.same(hosts('broken.example.com/app:v1'), ['broken.example.com'], 'a file containerd cannot decode is ignored: the registry itself');
  t.match(warnings.join('\n'), /broken\.example\.com\/hosts\.toml: host "https:\/\/m\.example\.com": unknown capability "fly"; containerd ignores it/);
  t.match(registries.plan(ref('quay.io/team/app:v1'))?.source, /_default$/);

  t.test('a missing directory is a clear error', async (t) => {
    const r = loadHostsDir(join(dir, 'nope'));
    t.equal(r.ok, false);
    if (!r.ok) t.match(r.errors[0], /hosts dir .*nope: ENOENT/);
  });
});

t.test('endpoints from a plan: capabilities, credentials only for the registry itself, ns=', async (t) => {
  const parsed = parseHostsToml('server = "https://registry-1.docker.io"\n[host."https://public-mirror.example.com"]\n  capabilities = ["pull"]\n[host."https://docker-mirror.internal"]\n', base);
  if (!parsed.ok) return t.fail(parsed.error);
  const node = { plan: (r: Parameters<typeof applyHosts>[1]) => applyHosts(parsed.hosts, r, 'hosts.toml test') };
  const config = withDefaults({ node });
  const byTag = planEndpoints(ref('nginx:1.27'), config);
  t.same(byTag.endpoints.map((e) => [e.host, e.credentials, e.query?.['ns']]), [['docker-mirror.internal', false, 'docker.io'], ['registry-1.docker.io', true, undefined]], 'a tag skips the pull-only mirror');
  const byDigest = planEndpoints(ref(`nginx@sha256:${'a'.repeat(64)}`), config);
  t.same(byDigest.endpoints.map((e) => e.host), ['public-mirror.example.com', 'docker-mirror.internal', 'registry-1.docker.io'], 'a digest may come from the pull-only mirror');

  const pullOnly = parseHostsToml('server = "https://mirror.example.com"\ncapabilities = ["pull"]\n', base);
  if (!pullOnly.ok) return t.fail(pullOnly.error);
  const only = withDefaults({ node: { plan: (r) => applyHosts(pullOnly.hosts, r, 'hosts.toml only') } });
  const refused = planEndpoints(ref('quay.io/team/app:v1'), only);
  t.equal(refused.refused?.reason, 'RegistryBlocked', 'no host may resolve a tag: containerd fails "no resolve hosts"');
  t.match(refused.refused?.detail, /no host with the "resolve" capability.*pin the image by digest/);
  t.equal(planEndpoints(ref(`quay.io/team/app@sha256:${'b'.repeat(64)}`), only).endpoints.length, 1, 'by digest it is pulled');
});
