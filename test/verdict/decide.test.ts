import t from 'tap';
import { decide, effectiveMode, fitWarnings, WARNINGS_MAX_RUNES } from '../../src/verdict/decide.ts';
import { explain, shortWarning, WARNING_MAX_CHARS, WARNING_TARGET_CHARS } from '../../src/verdict/explain.ts';
import type { Finding } from '../../src/verdict/finding.ts';
import { REASON_CODES, type ReasonCode } from '../../src/verdict/reasons.ts';
import { resolution } from '../../src/verdict/classify.ts';

function finding(reason: ReasonCode, extra: Partial<Finding> = {}, res: Parameters<typeof resolution>[2] = {}): Finding {
  return {
    target: { containerName: 'app', field: 'containers', image: 'nginx:lates', fieldPath: 'spec.template.spec.containers[0].image', pullPolicy: 'IfNotPresent', pullPolicyDefaulted: true },
    resolution: resolution(reason, 'nginx:lates', { reference: 'docker.io/library/nginx:lates', ...res }),
    namespace: 'demo',
    secrets: [],
    serviceAccountName: 'default',
    eligiblePlatforms: [{ os: 'linux', architecture: 'amd64' }],
    platformSource: 'nodes',
    ...extra,
  };
}

t.test('the workload annotation beats the namespace label, which beats the config', async (t) => {
  t.same(effectiveMode({ global: 'enforce' }, 'pullguard.io/mode'), { mode: 'enforce', source: 'config' });
  t.same(effectiveMode({ global: 'enforce', namespaceLabel: 'warn' }, 'l'), { mode: 'warn', source: 'namespace' });
  t.same(effectiveMode({ global: 'warn', namespaceLabel: 'warn', workloadAnnotation: 'off' }, 'l'), { mode: 'off', source: 'workload' });
  const bad = effectiveMode({ global: 'enforce', workloadAnnotation: 'block' }, 'pullguard.io/mode');
  t.equal(bad.mode, 'enforce');
  t.match(bad.invalid, /annotation pullguard.io\/mode="block" is not one of enforce, warn, off/);
});

t.test('enforce denies when an image certainly cannot be pulled, naming container, field, reason and fix', async (t) => {
  const d = decide([finding('TagNotFound', {}, { suggestions: ['latest', '1.25'], registryMessage: '404 MANIFEST_UNKNOWN: manifest unknown' })], 'enforce');
  t.equal(d.allowed, false);
  t.match(d.message, /^pullguard: 1 image cannot be pulled:\n- container "app" \(spec\.template\.spec\.containers\[0\]\.image\): image "nginx:lates": TagNotFound: /);
  t.match(d.message, /The registry said: 404 MANIFEST_UNKNOWN/);
  t.match(d.message, /closest: latest, 1\.25/);
  t.equal(d.auditAnnotations['result'], 'denied');
});

t.test('unknown never denies, in either mode', async (t) => {
  for (const mode of ['enforce', 'warn'] as const) {
    const d = decide([finding('RegistryTimeout'), finding('RateLimited')], mode);
    t.equal(d.allowed, true, mode);
    t.equal(d.warnings.length, 2);
    t.equal(d.auditAnnotations['result'], 'unknown');
  }
});

t.test('warn admits and turns every problem into a short warning and an audit annotation', async (t) => {
  const d = decide([finding('TagNotFound', {}, { suggestions: ['latest'] }), finding('Resolved')], 'warn');
  t.equal(d.allowed, true);
  t.equal(d.message, undefined);
  t.equal(d.warnings.length, 1);
  t.equal(d.warnings[0], 'container app: nginx:lates: TagNotFound (would deny): tag not found; try latest');
  t.match(d.auditAnnotations['image-0'], /TagNotFound/);
  t.equal(d.auditAnnotations['result'], 'would-deny');
});

t.test('every reason code has a short warning within 256 characters (120 for a short image) and a full explanation', async (t) => {
  // A secret to create names itself, its namespace and its registry: that fix needs more than 120 characters.
  const longFix = new Set<ReasonCode>(['AuthRequired', 'AccessDenied']);
  for (const reason of REASON_CODES) {
    const short = shortWarning(finding(reason, {}, { suggestions: ['latest', '1.25'], platforms: [{ os: 'linux', architecture: 'arm64' }], detail: 'y'.repeat(500) }));
    t.ok(short.length <= (longFix.has(reason) ? WARNING_MAX_CHARS : WARNING_TARGET_CHARS), `${reason}: ${short}`);
    const f = finding(reason, {}, { suggestions: ['a'.repeat(100), 'b'], platforms: [{ os: 'linux', architecture: 'arm64' }], detail: 'y'.repeat(500) });
    f.resolution = { ...f.resolution, image: 'x'.repeat(300) };
    const w = shortWarning(f);
    t.ok(w.length <= WARNING_MAX_CHARS, `${reason}: ${w.length} chars`);
    t.match(explain(f), new RegExp(`: ${reason}: `), reason);
  }
});

t.test('warnings stay under the API server total, with a last line saying how many were cut', async (t) => {
  const lines = Array.from({ length: 100 }, (_, i) => `${i} ${'w'.repeat(110)}`);
  const out = fitWarnings(lines);
  const total = out.reduce((n, l) => n + [...l].length, 0);
  t.ok(total <= WARNINGS_MAX_RUNES, `total ${total}`);
  t.match(out.at(-1), /more image problem\(s\)/);
  t.ok(out.length < 100);
});

t.test('AuthRequired says private or missing and gives the kubectl command for the namespace', async (t) => {
  const d = decide([finding('AuthRequired')], 'enforce');
  t.match(d.message, /private, or it does not exist/);
  t.match(d.message, /kubectl create secret docker-registry regcred --docker-server=https:\/\/index\.docker\.io\/v1\/ .* -n demo/);
  const missing = decide([finding('AuthRequired', { secrets: [{ name: 'regcred', namespace: 'demo', from: 'pod', status: 'NotFound' }] })], 'enforce');
  t.match(missing.message, /regcred: does not exist in namespace demo/);
  t.match(missing.message, /Fix: create the secret: kubectl create secret docker-registry regcred/);
});

t.test('PlatformMismatch lists the image platforms and the nodes platforms', async (t) => {
  const d = decide([finding('PlatformMismatch', {}, { platforms: [{ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm', variant: 'v7' }] })], 'enforce');
  t.match(d.message, /offers linux\/arm64, linux\/arm\/v7, but the nodes this pod may land on run linux\/amd64/);
  t.match(d.message, /nodeSelector/);
});

t.test('hostile image strings cannot break the message lines', async (t) => {
  const f = finding('InvalidReference', {}, { detail: 'bad' });
  f.resolution = { ...f.resolution, image: 'evil\nWarning: injected\u0007' };
  const text = explain(f);
  t.notMatch(text, /\n/);
  t.notMatch(shortWarning(f), /\n/);
});

t.test('a very long list of denials is capped with a count of the rest', async (t) => {
  const many = Array.from({ length: 200 }, () => finding('TagNotFound', {}, { suggestions: ['latest'] }));
  const d = decide(many, 'enforce');
  t.ok((d.message ?? '').length < 7000);
  t.match(d.message, /… and \d+ more/);
});

t.test('nothing to say: admitted with no warnings and the two audit annotations, in either mode', async (t) => {
  for (const mode of ['enforce', 'warn'] as const) {
    const d = decide([finding('Resolved'), finding('Resolved', {}, { digest: 'sha256:00' })], mode);
    t.same(d, { allowed: true, warnings: [], auditAnnotations: { mode, result: 'allowed' }, denied: [], unknown: [] }, mode);
    t.same(Object.keys(d.auditAnnotations), ['mode', 'result'], 'in that order');
    t.same(decide([], mode), { allowed: true, warnings: [], auditAnnotations: { mode, result: 'allowed' }, denied: [], unknown: [] }, `${mode}, no findings`);
  }
  const noted = decide([finding('Resolved')], 'enforce', ['pullguard: 3 of 203 images were not checked']);
  t.same(noted.warnings, ['pullguard: 3 of 203 images were not checked'], 'a note is still said');
});
