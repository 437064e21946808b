// Whether a request is looked at at all: named rules, each with the reason it gives.
import t from 'tap';
import { DEFAULT_CONFIG, type Config } from '../../src/config.ts';
import { SKIP_RULES } from '../../src/admission/review.ts';
import type { AdmissionRequest } from '../../src/admission/schema.ts';

const config: Config = { ...structuredClone(DEFAULT_CONFIG), exclude: { ...DEFAULT_CONFIG.exclude, namespaces: ['kube-system'] } };

function req(fields: Partial<AdmissionRequest>): AdmissionRequest {
  return { uid: 'u', kind: { kind: 'Pod' }, operation: 'CREATE', namespace: 'demo', ...fields } as AdmissionRequest;
}

function skipped(r: AdmissionRequest): [string, string] | undefined {
  for (const rule of SKIP_RULES) {
    const why = rule.applies(r, config);
    if (why !== undefined) return [rule.name, why];
  }
  return undefined;
}

t.test('each skip rule has a name and gives its reason', async (t) => {
  const cases: [string, AdmissionRequest, [string, string] | undefined][] = [
    ['a deletion pulls nothing', req({ operation: 'DELETE' }), ['operation', 'operation DELETE']],
    ['exec and attach pull nothing', req({ operation: 'CONNECT' }), ['operation', 'operation CONNECT']],
    ['a status update carries no new image', req({ operation: 'UPDATE', subResource: 'status' }), ['subresource', 'subresource status']],
    ['a Deployment scale update carries no new image', req({ operation: 'UPDATE', kind: { kind: 'Scale' }, subResource: 'scale' }), ['subresource', 'subresource scale']],
    ['an ephemeral container of a Pod is checked', req({ operation: 'UPDATE', subResource: 'ephemeralcontainers' }), undefined],
    ['an excluded namespace is not checked', req({ namespace: 'kube-system' }), ['excluded-namespace', 'namespace kube-system is excluded']],
    ['a Pod created in another namespace is checked', req({}), undefined],
  ];
  for (const [name, r, want] of cases) t.same(skipped(r), want, name);
  t.same(SKIP_RULES.map((r) => r.name), ['operation', 'subresource', 'excluded-namespace']);
});
