// helm lint --strict passes for every supported combination of values.
import t from 'tap';
import { helmVersion } from './helm.ts';
import { lint, merge, modes, testCA, tlsVariants, type Values } from './render.ts';

t.comment(`helm: ${helmVersion()}`);

const cases: Record<string, Values> = {
  defaults: {},
  'monitoring and network policy on': {
    monitoring: { serviceMonitor: { enabled: true } },
    networkPolicy: { enabled: true, metricsFrom: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
  },
  'webhook outside the cluster': { webhook: { url: 'https://10.0.0.5:8443/validate', external: true }, tls: { caBundle: testCA } },
  'pull secrets readable in two namespaces only': { rbac: { secretsNamespaces: ['team-a', 'team-b'] } },
};
for (const [tlsName, tls] of Object.entries(tlsVariants)) {
  for (const mode of modes) cases[`tls ${tlsName}, ${mode} mode`] = merge(tls, { config: { mode } });
}

for (const [name, values] of Object.entries(cases)) {
  t.test(`the chart lints cleanly with ${name}`, async (t) => {
    const run = lint(values);
    if (!run.ok) t.comment(run.stdout + run.stderr);
    t.equal(run.ok, true, 'helm lint --strict passes');
  });
}
