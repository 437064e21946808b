// Bad input of every kind gets a clear 400 (or a safe verdict), never a crash or a hang.
import t from 'tap';
import { pino } from 'pino';
import { DEFAULT_CONFIG } from '../../src/config.ts';
import { createMetrics } from '../../src/metrics.ts';
import { buildWebhookApp } from '../../src/admission/server.ts';
import { disconnectedClusterReader } from '../../src/cluster/reader.ts';
import type { Checker } from '../../src/verdict/check.ts';
import { fixture } from './env.ts';

const checks: string[] = [];
// The check itself is not under test here: it records what it was asked and finds nothing wrong.
const checker: Checker = {
  async check(_spec, targets) {
    checks.push(...targets.map((x) => x.image));
    return { findings: [], excluded: [] };
  },
};
const config = structuredClone(DEFAULT_CONFIG);
config.server.bodyLimitBytes = 256 * 1024;
const app = buildWebhookApp({ config, checker, cluster: disconnectedClusterReader(), metrics: createMetrics({ defaultMetrics: false }), logger: pino({ level: 'silent' }) });
t.teardown(() => app.close());

const good = fixture('v1.26', 'pod');
const withRequest = (patch: Record<string, unknown>) => ({ ...good, request: { ...good.request, ...patch } });

const malformed: [string, string | object, string?][] = [
  ['empty body', ''],
  ['not JSON', 'hello'],
  ['truncated JSON', JSON.stringify(good).slice(0, 200)],
  ['JSON null', 'null'],
  ['JSON number', '42'],
  ['JSON string', '"AdmissionReview"'],
  ['JSON array', '[]'],
  ['empty object', {}],
  ['missing request', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }],
  ['request is null', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: null }],
  ['request is a string', { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: 'x' }],
  ['v1beta1 apiVersion', { ...good, apiVersion: 'admission.k8s.io/v1beta1' }],
  ['wrong apiVersion', { ...good, apiVersion: 'v1' }],
  ['wrong kind', { ...good, kind: 'Pod' }],
  ['missing apiVersion', { kind: good['kind'], request: good.request }],
  ['missing uid', withRequest({ uid: undefined })],
  ['empty uid', withRequest({ uid: '' })],
  ['uid is a number', withRequest({ uid: 7 })],
  ['absurd uid', withRequest({ uid: 'u'.repeat(10_000) })],
  ['missing kind', withRequest({ kind: undefined })],
  ['kind is a string', withRequest({ kind: 'Pod' })],
  ['kind without kind', withRequest({ kind: { group: '', version: 'v1' } })],
  ['unknown operation', withRequest({ operation: 'PATCH' })],
  ['operation missing', withRequest({ operation: undefined })],
  ['object is an array', withRequest({ object: [] })],
  ['object is a string', withRequest({ object: 'pod' })],
  ['dryRun is a string', withRequest({ dryRun: 'yes' })],
  ['namespace is a number', withRequest({ namespace: 5 })],
  ['oversized body', { ...good, padding: 'x'.repeat(300 * 1024) }],
  ['deeply nested junk', `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":${'['.repeat(5000)}${']'.repeat(5000)}}`],
  ['duplicate-key confusion', '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","kind":"Nope","request":{}}'],
  ['proto pollution attempt', '{"__proto__":{"allowed":true},"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}'],
];

t.test(`${malformed.length} malformed reviews get a 400 with a clear error`, async (t) => {
  t.ok(malformed.length >= 30);
  for (const [what, body] of malformed) {
    const res = await app.inject({
      method: 'POST',
      url: '/validate?timeout=10s',
      headers: { 'content-type': 'application/json' },
      payload: typeof body === 'string' ? body : JSON.stringify(body),
    });
    t.equal(res.statusCode, 400, what);
    const json = res.json() as { message?: string; code?: string };
    t.type(json.message, 'string', `${what}: has a message`);
    t.ok((json.message ?? '').length < 2000, `${what}: message is bounded`);
  }
});

t.test('a wrong content type is refused with 400', async (t) => {
  const res = await app.inject({ method: 'POST', url: '/validate', headers: { 'content-type': 'text/plain' }, payload: JSON.stringify(good) });
  t.equal(res.statusCode, 400);
  t.match(res.json(), { code: 'UnsupportedMediaType' });
});

t.test('odd but valid reviews get a safe verdict', async (t) => {
  const odd: [string, object][] = [
    ['an unknown kind', withRequest({ kind: { group: 'example.com', version: 'v1', kind: 'Widget' } })],
    ['a Pod without spec', withRequest({ object: { kind: 'Pod', metadata: {} } })],
    ['containers not a list', withRequest({ object: { kind: 'Pod', spec: { containers: 'nginx' } } })],
    ['an image that is a number', withRequest({ object: { kind: 'Pod', spec: { containers: [{ name: 'a', image: 5 }] } } })],
    ['a missing object', withRequest({ object: undefined })],
    ['a null object', withRequest({ object: null })],
    ['a bad timeout', good],
  ];
  for (const [what, body] of odd) {
    const res = await app.inject({ method: 'POST', url: `/validate?timeout=${what === 'a bad timeout' ? 'soon' : '10s'}`, payload: body });
    t.equal(res.statusCode, 200, what);
    t.equal((res.json() as { response: { allowed: boolean } }).response.allowed, true, `${what}: admitted`);
  }
});

t.test('a bug in the check admits with a warning instead of blocking the deploy', async (t) => {
  const broken: Checker = { check: async () => { throw new Error('boom'); } };
  const app2 = buildWebhookApp({ config, checker: broken, cluster: disconnectedClusterReader(), metrics: createMetrics({ defaultMetrics: false }), logger: pino({ level: 'silent' }) });
  t.teardown(() => app2.close());
  const res = await app2.inject({ method: 'POST', url: '/validate', payload: good });
  t.equal(res.statusCode, 200);
  const out = res.json() as { response: { allowed: boolean; uid: string; warnings: string[] } };
  t.equal(out.response.allowed, true);
  t.equal(out.response.uid, good.request['uid']);
  t.match(out.response.warnings[0], /internal error/);
});

t.test('a review function given in the deps answers in place of the review (the bench\'s webhook without its review)', async (t) => {
  const asked: string[] = [];
  const app2 = buildWebhookApp({
    config, checker, cluster: disconnectedClusterReader(), metrics: createMetrics({ defaultMetrics: false }), logger: pino({ level: 'silent' }),
    review: async (req) => {
      asked.push(req.uid);
      return { response: { uid: req.uid, allowed: false, status: { code: 403, reason: 'Forbidden', message: 'canned' } }, kind: req.kind.kind, mode: 'enforce' };
    },
  });
  t.teardown(() => app2.close());
  checks.length = 0;
  const res = await app2.inject({ method: 'POST', url: '/validate', payload: good });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { response: { uid: good.request['uid'], allowed: false, status: { message: 'canned' } } });
  t.same(asked, [good.request['uid']]);
  t.same(checks, [], 'the check was not asked');
});

t.test('the fixtures reached the check with their images', async (t) => {
  checks.length = 0;
  const res = await app.inject({ method: 'POST', url: '/validate', payload: good });
  t.equal(res.statusCode, 200);
  t.same(checks, ['nginx:1.25']);
});
