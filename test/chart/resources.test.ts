// The pod's size: V8's old-space limit derived from the memory limit (NODE_OPTIONS), and the optional
// HorizontalPodAutoscaler with the Deployment's replicas and the PodDisruptionBudget kept consistent with it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Deployment, V1HorizontalPodAutoscaler } from '@kubernetes/client-node';
import t from 'tap';
import YAML from 'yaml';
import { chartDir, repoRoot } from './helm.ts';
import { lint, merge, template, templateError, tlsVariants, type Values } from './render.ts';

const base = tlsVariants['helm']!;

function nodeOptions(values: Values): string | undefined {
  const d = template(merge(base, values)).one<V1Deployment>('Deployment');
  const env = d.spec?.template.spec?.containers[0]?.env ?? [];
  const found = env.filter((e) => e.name === 'NODE_OPTIONS');
  if (found.length > 1) throw new Error('NODE_OPTIONS set twice');
  return found[0]?.value;
}

t.test('by default the old-space limit is v8.maxOldSpaceSizePercent of the chart\'s memory limit, beside the image\'s own V8 flag', async (t) => {
  const defaults = YAML.parse(readFileSync(join(chartDir, 'values.yaml'), 'utf8')) as { resources: { limits: { memory: string } }; v8: { maxOldSpaceSizePercent: number } };
  const limitMiB = Number(/^(\d+)Mi$/.exec(defaults.resources.limits.memory)?.[1]);
  t.ok(limitMiB > 0, `the default limit is in Mi (${defaults.resources.limits.memory})`);
  const value = nodeOptions({});
  t.ok(defaults.v8.maxOldSpaceSizePercent >= 25 && defaults.v8.maxOldSpaceSizePercent <= 80, 'leaves room for code, buffers and TLS');
  t.match(value, new RegExp(`--max-old-space-size=${Math.floor((limitMiB * defaults.v8.maxOldSpaceSizePercent) / 100)}(\\s|$)`));
  // The variable replaces the image's ENV NODE_OPTIONS: every flag the Dockerfile sets must still be there.
  const dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  const imageFlags = /NODE_OPTIONS=(\S+)/.exec(dockerfile)?.[1]?.split(',') ?? [];
  t.ok(imageFlags.length > 0, 'the Dockerfile sets NODE_OPTIONS');
  for (const flag of imageFlags) t.ok(value?.split(' ').includes(flag), `keeps the image's ${flag}`);
});

t.test('the old-space limit follows the memory limit in every unit, or the value that overrides it', async (t) => {
  const cases: [string, Values, RegExp | undefined][] = [
    ['75 % of 1Gi', { resources: { limits: { memory: '1Gi' } }, v8: { maxOldSpaceSizePercent: 75 } }, /--max-old-space-size=768$/],
    ['75 % of 500M (decimal)', { resources: { limits: { memory: '500M' } }, v8: { maxOldSpaceSizePercent: 75 } }, /--max-old-space-size=357$/],
    ['75 % of 524288Ki', { resources: { limits: { memory: '524288Ki' } }, v8: { maxOldSpaceSizePercent: 75 } }, /--max-old-space-size=384$/],
    ['50 % of 512Mi', { resources: { limits: { memory: '512Mi' } }, v8: { maxOldSpaceSizePercent: 50 } }, /--max-old-space-size=256$/],
    ['v8.maxOldSpaceSize wins', { resources: { limits: { memory: '1Gi' } }, v8: { maxOldSpaceSize: 100 } }, /--max-old-space-size=100$/],
    ['no memory limit: V8 keeps its default', { resources: { limits: null } }, undefined],
  ];
  for (const [why, values, expected] of cases) {
    const value = nodeOptions(values);
    if (expected) t.match(value, expected, why);
    else t.equal(value, undefined, why);
  }
  t.equal(nodeOptions({ extraEnv: [{ name: 'NODE_OPTIONS', value: '--max-old-space-size=999' }] }), '--max-old-space-size=999', 'NODE_OPTIONS in extraEnv is the operator\'s, and the only one');
  t.match(templateError(merge(base, { v8: { maxOldSpaceSizePercent: 120 } })), /maxOldSpaceSizePercent/, 'a percentage above 95 is refused');
});

t.test('without autoscaling there is no HorizontalPodAutoscaler and the Deployment keeps replicaCount', async (t) => {
  const r = template(base);
  t.notOk(r.has('HorizontalPodAutoscaler'));
  t.equal(r.one<V1Deployment>('Deployment').spec?.replicas, 2);
  t.ok(r.has('PodDisruptionBudget'));
});

t.test('autoscaling renders an autoscaling/v2 HPA on CPU and leaves replicas to it; the PDB follows minReplicas', async (t) => {
  const values = merge(base, { autoscaling: { enabled: true, minReplicas: 3, maxReplicas: 10, targetCPUUtilizationPercentage: 60 } });
  const r = template(values);
  const hpa = r.one<V1HorizontalPodAutoscaler & { apiVersion: string; spec: { metrics: unknown[] } }>('HorizontalPodAutoscaler');
  const d = r.one<V1Deployment>('Deployment');
  t.equal(hpa.apiVersion, 'autoscaling/v2');
  t.match(hpa.spec, {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata?.name },
    minReplicas: 3,
    maxReplicas: 10,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 60 } } }],
  });
  t.equal(d.spec?.replicas, undefined, 'the Deployment does not fight the autoscaler over replicas');
  t.ok(r.has('PodDisruptionBudget'), 'minReplicas 3: a PDB');
  const lone = template(merge(base, { replicaCount: 2, autoscaling: { enabled: true, minReplicas: 1 } }));
  t.notOk(lone.has('PodDisruptionBudget'), 'minReplicas 1: no PDB, which would block every drain at one replica');
  const run = lint(values);
  t.ok(run.ok, `helm lint --strict passes with autoscaling on: ${run.stderr}${run.stdout}`);
});

t.test('an autoscaler whose minimum exceeds its maximum is refused with a message naming both', async (t) => {
  t.match(templateError(merge(base, { autoscaling: { enabled: true, minReplicas: 7, maxReplicas: 3 } })), /autoscaling\.minReplicas \(7\) is more than autoscaling\.maxReplicas \(3\)/);
  t.match(templateError(merge(base, { autoscaling: { enabled: true, minReplicas: 0 } })), /minReplicas/, 'at least one replica');
});
