import t from 'tap';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { checkKey, cleanCheckTtlMs, isClean, memoizeCleanChecks } from '../../src/verdict/check-memo.ts';
import type { CheckResult, Checker, PodPullSpec } from '../../src/verdict/check.ts';
import { resolution } from '../../src/verdict/classify.ts';
import type { Finding, ImageTarget } from '../../src/verdict/finding.ts';
import type { ReasonCode } from '../../src/verdict/reasons.ts';

const SPEC: PodPullSpec = {
  namespace: 'demo',
  isTemplate: true,
  serviceAccountName: 'default',
  imagePullSecrets: ['regcred'],
  runtimeClassName: 'kata',
  standalone: false,
  nodeName: '',
  nodeSelector: { 'kubernetes.io/arch': 'amd64' },
  affinity: { nodeAffinity: {} },
  toleratesUnschedulable: false,
  tolerations: [{ key: 'gpu', operator: 'Exists' }],
};

const TARGET: ImageTarget = { containerName: 'app', field: 'containers', image: 'registry.example/app:v1', fieldPath: 'spec.template.spec.containers[0].image', pullPolicy: 'IfNotPresent', pullPolicyDefaulted: true };

function finding(reason: ReasonCode, extra: Partial<Finding> = {}): Finding {
  return {
    target: TARGET,
    resolution: resolution(reason, TARGET.image, { reference: TARGET.image }),
    namespace: 'demo',
    secrets: [{ name: 'regcred', namespace: 'demo', from: 'pod', status: 'ok' }],
    serviceAccountName: 'default',
    eligiblePlatforms: [],
    platformSource: 'any',
    ...extra,
  };
}

/** A checker answering `next()` and counting its calls. */
function counting(next: () => CheckResult): Checker & { calls: number } {
  const c = {
    calls: 0,
    async check() {
      c.calls++;
      return next();
    },
  };
  return c;
}

const clean = (): CheckResult => ({ findings: [finding('Resolved')], excluded: [] });

t.test('a clean check is reused for the same pod spec within the TTL, and checked again after it', async (t) => {
  let now = 1000;
  let hits = 0;
  const inner = counting(clean);
  const memo = memoizeCleanChecks(inner, { ttlMs: 1000, clock: () => now, onHit: () => hits++ });
  const first = await memo.check(SPEC, [TARGET], 0);
  const again = await memo.check({ ...SPEC, imagePullSecrets: [...SPEC.imagePullSecrets] }, [{ ...TARGET }], 0);
  t.equal(inner.calls, 1, 'an equal spec (other objects, same content) is answered from the memo');
  t.equal(again, first, 'with the same result');
  t.equal(hits, 1, 'and counted');
  now += 999;
  await memo.check(SPEC, [TARGET], 0);
  t.equal(inner.calls, 1, 'still within the TTL');
  now += 1;
  await memo.check(SPEC, [TARGET], 0);
  t.equal(inner.calls, 2, 'expired: checked again');
  t.equal(hits, 2);
});

t.test('only a clean result is kept: a denial, an unknown, a note, an unchecked image or an unread secret is checked afresh every time', async (t) => {
  const unclean: [string, () => CheckResult][] = [
    ['a denial', () => ({ findings: [finding('TagNotFound')], excluded: [] })],
    ['an unknown', () => ({ findings: [finding('RegistryUnreachable')], excluded: [] })],
    ['an image that only warns', () => ({ findings: [finding('NodeCredentialsAssumed')], excluded: [] })],
    ['a review note', () => ({ ...clean(), notes: ['pullguard: something to say'] })],
    ['an image left unchecked', () => ({ ...clean(), notChecked: [TARGET] })],
    ['a pull secret that could not be read', () => ({ findings: [finding('Resolved', { secrets: [{ name: 'regcred', namespace: 'demo', from: 'pod', status: 'Unavailable' }] })], excluded: [] })],
    ['no image at all', () => ({ findings: [], excluded: [TARGET] })],
  ];
  for (const [what, next] of unclean) {
    t.notOk(isClean(next()), `${what} is not clean`);
    const inner = counting(next);
    const memo = memoizeCleanChecks(inner, { ttlMs: 60_000 });
    await memo.check(SPEC, [TARGET], 0);
    await memo.check(SPEC, [TARGET], 0);
    t.equal(inner.calls, 2, `${what}: checked twice`);
  }
  t.ok(isClean(clean()));
});

t.test('every field of the pod spec and of each target is part of the key', async (t) => {
  const base = checkKey(SPEC, [TARGET]);
  t.type(base, 'string');
  const specChanges: Partial<PodPullSpec>[] = [
    { namespace: 'other' }, { isTemplate: false }, { serviceAccountName: 'builder' }, { imagePullSecrets: [] }, { runtimeClassName: undefined },
    { standalone: true }, { nodeName: 'node-1' }, { nodeSelector: {} }, { affinity: undefined }, { toleratesUnschedulable: true }, { tolerations: [] },
  ];
  // Every field of the sample spec is changed once above (the compiler forces checkKey to name every field).
  t.same(new Set(specChanges.flatMap((c) => Object.keys(c))), new Set(Object.keys(SPEC)), 'the table covers every field');
  for (const change of specChanges) t.not(checkKey({ ...SPEC, ...change }, [TARGET]), base, `spec ${Object.keys(change)[0]}`);
  const targetChanges: Partial<ImageTarget>[] = [
    { containerName: 'sidecar' }, { field: 'initContainers' }, { image: 'registry.example/app:v2' }, { fieldPath: 'spec.template.spec.containers[1].image' }, { pullPolicy: 'Always' }, { pullPolicyDefaulted: false },
  ];
  t.same(new Set(targetChanges.flatMap((c) => Object.keys(c))), new Set(Object.keys(TARGET)), 'the table covers every target field');
  for (const change of targetChanges) t.not(checkKey(SPEC, [{ ...TARGET, ...change }]), base, `target ${Object.keys(change)[0]}`);
  t.not(checkKey(SPEC, [TARGET, TARGET]), base, 'the number of targets');
});

t.test('a review too big to be worth keeping is never memoized', async (t) => {
  t.equal(checkKey(SPEC, []), undefined, 'no targets');
  t.equal(checkKey(SPEC, Array.from({ length: 65 }, () => TARGET)), undefined, 'more targets than maxTargets');
  t.type(checkKey(SPEC, Array.from({ length: 64 }, () => TARGET)), 'string', 'up to maxTargets');
  const hostile = { ...SPEC, affinity: { blob: 'x'.repeat(20_000) } };
  t.equal(checkKey(hostile, [TARGET]), undefined, 'a key longer than maxKeyChars');
  const inner = counting(clean);
  const memo = memoizeCleanChecks(inner, { ttlMs: 60_000 });
  await memo.check(hostile, [TARGET], 0);
  await memo.check(hostile, [TARGET], 0);
  t.equal(inner.calls, 2);
});

t.test('the memo holds at most maxEntries results, dropping the oldest', async (t) => {
  const inner = counting(clean);
  const memo = memoizeCleanChecks(inner, { ttlMs: 60_000, maxEntries: 2 });
  const spec = (ns: string): PodPullSpec => ({ ...SPEC, namespace: ns });
  for (const ns of ['a', 'b', 'c']) await memo.check(spec(ns), [TARGET], 0);
  t.equal(inner.calls, 3);
  await memo.check(spec('c'), [TARGET], 0);
  await memo.check(spec('b'), [TARGET], 0);
  t.equal(inner.calls, 3, 'the newest two are kept');
  await memo.check(spec('a'), [TARGET], 0);
  t.equal(inner.calls, 4, 'the oldest was dropped');
});

t.test('a TTL of 0 is no memo at all', async (t) => {
  const inner = counting(clean);
  const memo = memoizeCleanChecks(inner, { ttlMs: 0 });
  await memo.check(SPEC, [TARGET], 0);
  await memo.check(SPEC, [TARGET], 0);
  t.equal(inner.calls, 2);
});

t.test('clear() forgets every result', async (t) => {
  const inner = counting(clean);
  const memo = memoizeCleanChecks(inner, { ttlMs: 60_000 });
  await memo.check(SPEC, [TARGET], 0);
  memo.clear();
  await memo.check(SPEC, [TARGET], 0);
  t.equal(inner.calls, 2);
});

t.test('an error from the check is passed on and nothing is kept', async (t) => {
  let fail = true;
  const inner = counting(() => {
    if (fail) throw new Error('boom');
    return clean();
  });
  const memo = memoizeCleanChecks(inner, { ttlMs: 60_000 });
  await t.rejects(memo.check(SPEC, [TARGET], 0), /boom/);
  fail = false;
  await memo.check(SPEC, [TARGET], 0);
  t.equal(inner.calls, 2);
});

t.test('the memo never outlives the caches below it: cache.cleanCheckTtlMs, at most the tag TTL and, with a cluster, the secret TTL', async (t) => {
  const config = structuredClone(DEFAULT_CONFIG);
  t.equal(config.cache.cleanCheckTtlMs, 1000, 'one second by default');
  t.equal(cleanCheckTtlMs(config, true), 1000);
  t.equal(cleanCheckTtlMs({ ...config, kubernetes: { ...config.kubernetes, secretTtlSeconds: 0 } }, true), 0, 'secrets seen at once: no memo');
  t.equal(cleanCheckTtlMs({ ...config, kubernetes: { ...config.kubernetes, secretTtlSeconds: 0 } }, false), 1000, 'no cluster: the secret TTL does not count');
  t.equal(cleanCheckTtlMs({ ...config, cache: { ...config.cache, tagTtlSeconds: 0 } }, false), 0, 'tags seen at once: no memo');
  t.equal(cleanCheckTtlMs({ ...config, cache: { ...config.cache, cleanCheckTtlMs: 0 } }, true), 0, 'turned off');
  t.equal(cleanCheckTtlMs({ ...config, cache: { ...config.cache, cleanCheckTtlMs: 60_000 } }, true), 5000, 'capped by the 5 s secret TTL');
});
