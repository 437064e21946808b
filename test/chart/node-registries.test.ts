// The chart's registryConfig values, rendered and linted with the real helm: a containerd hosts.toml tree or a
// CRI-O registries.conf (with drop-ins) in a ConfigMap, mounted at the nodes' layout through volume items, and
// config.yaml pointing at it. The files as mounted (laid out here from the items) load with pullguard's own readers.
import type { V1ConfigMap, V1Deployment } from '@kubernetes/client-node';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { parseConfigText } from '../../src/config.ts';
import { loadHostsDir } from '../../src/registry/hosts-toml.ts';
import { loadRegistriesConf } from '../../src/registry/registries-conf.ts';
import { parseReference } from '../../src/reference/reference.ts';
import { lint, template, templateError, type Rendered, type Values } from './render.ts';

const work = mkdtempSync(join(tmpdir(), 'pullguard-chart-node-registries-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

/** Lays the node-registries ConfigMap out as the kubelet mounts it (items: key → path); returns the mount dir. */
function mount(r: Rendered, name: string): { dir: string; mountPath: string; registry: Record<string, unknown> } {
  const cm = r.all<V1ConfigMap>('ConfigMap').find((c) => c.metadata?.name === 'rel-pullguard-node-registries');
  const dep = r.one<V1Deployment>('Deployment');
  const spec = dep.spec?.template.spec;
  const volume = spec?.volumes?.find((v) => v.name === 'node-registries');
  const vm = spec?.containers[0]?.volumeMounts?.find((m) => m.name === 'node-registries');
  if (!cm || !volume?.configMap || !vm) throw new Error('node-registries ConfigMap, volume or mount missing');
  if (volume.configMap.name !== cm.metadata?.name) throw new Error('the volume names another ConfigMap');
  const dir = join(work, name);
  for (const item of volume.configMap.items ?? []) {
    const file = join(dir, item.path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, cm.data?.[item.key] ?? '');
  }
  const main = r.all<V1ConfigMap>('ConfigMap').find((c) => c.metadata?.name === 'rel-pullguard');
  const parsed = parseConfigText(main?.data?.['config.yaml'] ?? '', 'config.yaml');
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return { dir, mountPath: vm.mountPath, registry: (parsed.value as { registry: Record<string, unknown> }).registry };
}

const ref = (s: string) => {
  const p = parseReference(s);
  if (!p.ok) throw new Error(s);
  return p.reference;
};

t.test('hostsToml: one file per host directory at <mount>/certs.d/<host>/hosts.toml; config.yaml names the tree', async (t) => {
  const values: Values = {
    registryConfig: {
      hostsToml: {
        'docker.io': 'server = "https://registry-1.docker.io"\n[host."https://mirror.internal"]\n  capabilities = ["pull", "resolve"]\n',
        'registry.example.com_5000_': '[host."https://mirror.internal"]\n',
        _default: 'server = "https://catch-all.internal"\n',
      },
    },
  };
  const r = template(values);
  const m = mount(r, 'hosts');
  t.equal(m.registry['hostsDir'], `${m.mountPath}/certs.d`);
  t.equal(m.registry['registriesConf'], undefined);
  const loaded = loadHostsDir(join(m.dir, 'certs.d'));
  if (!loaded.ok) return t.fail(loaded.errors.join('; '));
  t.same(loaded.value.warnings, []);
  t.same(loaded.value.registries.plan(ref('nginx'))?.hosts.map((h) => h.host), ['mirror.internal', 'registry-1.docker.io']);
  t.same(loaded.value.registries.plan(ref('registry.example.com:5000/a:1'))?.hosts.map((h) => h.host), ['mirror.internal', 'registry.example.com:5000']);
  t.same(loaded.value.registries.plan(ref('quay.io/a:1'))?.hosts.map((h) => h.host), ['catch-all.internal']);
  const run = lint(values);
  if (!run.ok) t.comment(run.stdout + run.stderr);
  t.equal(run.ok, true, 'helm lint --strict passes');
});

t.test('registriesConf with drop-ins: registries.conf and registries.conf.d/<name> beside it; config.yaml names the file', async (t) => {
  const values: Values = {
    registryConfig: {
      registriesConf: 'unqualified-search-registries = ["docker.io"]\n[[registry]]\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "mirror.internal/quay"\n',
      registriesConfD: { '50-blocked.conf': '[[registry]]\nlocation = "evil.example.com"\nblocked = true\n', '99-mode.conf': 'short-name-mode = "enforcing"\n' },
    },
  };
  const r = template(values);
  const m = mount(r, 'crio');
  t.equal(m.registry['registriesConf'], `${m.mountPath}/registries.conf`);
  t.equal(m.registry['hostsDir'], undefined);
  const loaded = loadRegistriesConf(join(m.dir, 'registries.conf'));
  if (!loaded.ok) return t.fail(loaded.errors.join('; '));
  t.equal(loaded.value.files.length, 3, 'the file and both drop-ins');
  t.equal(loaded.value.conf.shortNameMode, 'enforcing');
  t.same(loaded.value.registries.plan(ref('quay.io/a/b:1'), 'quay.io/a/b:1')?.hosts.map((h) => `${h.host}/${h.repository}`), ['mirror.internal/quay/a/b', 'quay.io/a/b']);
  t.equal(loaded.value.registries.plan(ref('evil.example.com/x:1'), 'evil.example.com/x:1')?.refused?.reason, 'RegistryBlocked');
  const run = lint(values);
  if (!run.ok) t.comment(run.stdout + run.stderr);
  t.equal(run.ok, true, 'helm lint --strict passes');
});

t.test('registriesConf with certsD: the Secret is mounted as CRI-O\'s certs.d, its items at <host[:port]>/<file>', async (t) => {
  const values: Values = {
    registryConfig: {
      registriesConf: '[[registry]]\nlocation = "quay.io"\n[[registry.mirror]]\nlocation = "registry.example.com:5000/quay"\n',
      certsD: { secretName: 'pullguard-certs', items: [{ key: 'mirror-ca', path: 'registry.example.com:5000/ca.crt' }, { key: 'mirror-cert', path: 'registry.example.com:5000/client.cert' }, { key: 'mirror-key', path: 'registry.example.com:5000/client.key' }] },
    },
  };
  const r = template(values);
  const m = mount(r, 'crio-certs');
  const spec = r.one<V1Deployment>('Deployment').spec?.template.spec;
  const volume = spec?.volumes?.find((v) => v.name === 'node-certs');
  const vm = spec?.containers[0]?.volumeMounts?.find((x) => x.name === 'node-certs');
  t.equal(volume?.secret?.secretName, 'pullguard-certs');
  t.equal(m.registry['certsDir'], vm?.mountPath, 'config.yaml names the mounted tree');
  // Lay the Secret out as the kubelet would, then read it with pullguard's loader.
  const certs = join(work, 'crio-certs.d');
  for (const item of volume?.secret?.items ?? []) {
    mkdirSync(dirname(join(certs, item.path)), { recursive: true });
    writeFileSync(join(certs, item.path), item.key);
  }
  const loaded = loadRegistriesConf(join(m.dir, 'registries.conf'), { certsDir: certs });
  if (!loaded.ok) return t.fail(loaded.errors.join('; '));
  t.same(loaded.value.warnings, []);
  const mirror = loaded.value.registries.plan(ref('quay.io/a/b:1'), 'quay.io/a/b:1')?.hosts[0];
  t.same([mirror?.host, mirror?.caFiles?.length, mirror?.clientPairs?.length], ['registry.example.com:5000', 1, 1]);
  const run = lint(values);
  if (!run.ok) t.comment(run.stdout + run.stderr);
  t.equal(run.ok, true, 'helm lint --strict passes');
});

t.test('without registryConfig nothing is rendered or mounted and config.yaml names neither', async (t) => {
  const r = template({});
  t.equal(r.all<V1ConfigMap>('ConfigMap').length, 1);
  t.notOk(r.one<V1Deployment>('Deployment').spec?.template.spec?.volumes?.some((v) => v.name === 'node-registries'));
  const own = r.one<V1ConfigMap>('ConfigMap');
  const parsed = parseConfigText(own.data?.['config.yaml'] ?? '', 'config.yaml');
  if (!parsed.ok) return t.fail(parsed.errors.join('\n'));
  t.same(Object.keys((parsed.value as { registry: object }).registry).sort(), ['configFile', 'requestTimeoutMs'], 'empty hostsDir/registriesConf are left out');
  const mine = template({ config: { registry: { hostsDir: '/mnt/nodes/certs.d' } } }).one<V1ConfigMap>('ConfigMap');
  t.match(mine.data?.['config.yaml'], /hostsDir: \/mnt\/nodes\/certs\.d/, 'a tree mounted with extraVolumes can be named directly');
});

t.test('values the chart refuses, with the reason', async (t) => {
  t.match(templateError({ registryConfig: { hostsToml: { 'docker.io': '' }, registriesConf: 'x = 1' } }), /give hostsToml \(containerd\) or registriesConf \(CRI-O\), not both/);
  t.match(templateError({ registryConfig: { registriesConfD: { 'a.conf': '' } } }), /registriesConfD needs registryConfig.registriesConf/);
  t.match(templateError({ registryConfig: { hostsToml: { 'registry.example.com:5000': '' } } }), /invalid propertyName 'registry\.example\.com:5000'/, 'a ":" cannot be a ConfigMap key: write the port as _5000_');
  t.match(templateError({ registryConfig: { registriesConfD: { 'notes.txt': '' }, registriesConf: 'x = 1' } }), /'notes\.txt' does not match pattern/, 'containers/image reads only *.conf drop-ins');
  t.match(templateError({ registryConfig: { hostToml: {} } }), /hostToml/, 'a misspelt key');
  t.match(templateError({ registryConfig: { hostsToml: { 'docker.io': '' }, certsD: { secretName: 's', items: [] } } }), /certsD needs registryConfig.registriesConf/);
  t.match(templateError({ registryConfig: { registriesConf: 'x = 1', certsD: { secretName: 's', items: [{ key: 'k', path: 'ca.crt' }] } } }), /does not match pattern/, 'an item goes under a host directory');
});
