// Issue #17: warnings a person can act on, within what the API server passes on whole.
import t from 'tap';
import { decide, WARNINGS_MAX_RUNES } from '../../src/verdict/decide.ts';
import type { Finding } from '../../src/verdict/finding.ts';
import { REASON_CODES, REASONS, type ReasonCode } from '../../src/verdict/reasons.ts';
import { groupProblems, problemWarning, WARNING_MAX_CHARS, WARNING_TARGET_CHARS } from '../../src/verdict/warnings.ts';
import { resolution } from '../../src/verdict/classify.ts';

const HOST = 'registry.build-cluster.internal.example.com:5000';
/** A long but valid reference: 200 characters of registry and path before the tag. */
const LONG = (() => {
  let path = `${HOST}/platform-team`;
  while (path.length < 186) path += '/service-group';
  return `${path.slice(0, 193)}/app`.padEnd(200, 'x') + ':v9.9.9';
})();
const CRONJOB = 'spec.jobTemplate.spec.template.spec.initContainers[11].image';

function finding(reason: ReasonCode, name: string, image = LONG, extra: Partial<Finding> = {}): Finding {
  return {
    target: { containerName: name, field: 'initContainers', image, fieldPath: CRONJOB, pullPolicy: 'IfNotPresent', pullPolicyDefaulted: true },
    resolution: resolution(reason, image, {
      reference: image,
      suggestions: ['v9.9.8', 'v9.9.0', 'v9.8.12', 'latest'],
      platforms: [{ os: 'linux', architecture: 'arm64' }, { os: 'linux', architecture: 'arm', variant: 'v7' }],
      registryMessage: '404 MANIFEST_UNKNOWN: manifest unknown',
      detail: 'the image reference is not valid',
      status: 503,
    }),
    namespace: 'payments-production',
    secrets: reason === 'AuthRequired' ? [{ name: 'payments-registry-credentials', namespace: 'payments-production', from: 'pod', status: 'NotFound' }]
      : [{ name: 'payments-registry-credentials', namespace: 'payments-production', from: 'pod', status: 'ok', failsPulls: reason === 'InvalidPullSecret' }],
    serviceAccountName: 'default',
    eligiblePlatforms: [{ os: 'linux', architecture: 'amd64' }],
    platformSource: 'nodes',
    ...extra,
  };
}

const runes = (s: string): number => [...s].length;

t.test('LONG is a 200-character registry/path with a tag', async (t) => {
  t.equal(LONG.indexOf(':v9.9.9'), 200);
  t.match(LONG, /^[a-z0-9.:-]+(\/[a-z0-9-]+)+:v9\.9\.9$/);
});

t.test('every reason: a long image, the deepest CronJob path, containers sharing the image — each warning carries name, image tag, reason and first fix', async (t) => {
  for (const reason of REASON_CODES.filter((r) => r !== 'Resolved')) {
    const names = ['database-migrations', 'schema-check', 'cache-warmer'];
    const group = names.map((n) => finding(reason, n));
    const warnings = groupProblems(group).map(problemWarning);
    t.equal(warnings.length, 1, `${reason}: containers sharing an image and a reason share one warning`);
    const w = warnings[0] as string;
    t.ok(runes(w) <= WARNING_MAX_CHARS, `${reason}: ${runes(w)} runes: ${w}`);
    for (const n of names) t.ok(w.includes(n), `${reason}: names ${n}`);
    t.ok(w.startsWith('init containers database-migrations'), `${reason}: leads with the containers' names, not the field path`);
    t.notMatch(w, /spec\.jobTemplate/, `${reason}: no field path`);
    t.ok(w.includes(`${reason} (`), `${reason}: the reason`);
    t.ok(w.includes(':v9.9.9:'), `${reason}: the image keeps its tag`);
    t.ok(w.includes(HOST.slice(0, 20)), `${reason}: the image keeps its registry`);
    const fix = REASONS[reason].firstFix(group[0] as Finding);
    t.ok(w.includes(fix.lead.trim()), `${reason}: the first fix: ${fix.lead}`);
    if (fix.items[0]) t.ok(w.includes(fix.items[0]), `${reason}: the fix's first item ${fix.items[0]}`);
    t.notMatch(w, /[\n\r]/);
  }
});

t.test('the fixes a person needs: closest tags, the secret to create or renew, the platforms the image has', async (t) => {
  t.match(problemWarning([finding('TagNotFound', 'app')]), /TagNotFound \(would deny\): .*try v9\.9\.8, v9\.9\.0/);
  t.match(problemWarning([finding('AuthRequired', 'app')]), /create pull secret payments-registry-credentials for registry\.build-cluster\.internal\.example\.com:5000/);
  t.match(problemWarning([finding('CredentialsRejected', 'app')]), /renew pull secret payments-registry-credentials/);
  t.match(problemWarning([finding('PlatformMismatch', 'app')]), /PlatformMismatch \(would deny\): .*nodes run linux\/amd64, image has linux\/arm64, linux\/arm\/v7/);
});

t.test('a short image keeps the warning under 120 characters, whole', async (t) => {
  const w = problemWarning([finding('TagNotFound', 'app', 'nginx:lates', { resolution: resolution('TagNotFound', 'nginx:lates', { reference: 'docker.io/library/nginx:lates', suggestions: ['latest', '1.27'] }) })]);
  t.equal(w, 'init container app: nginx:lates: TagNotFound (would deny): tag not found; try latest, 1.27');
  t.ok(w.length < WARNING_TARGET_CHARS);
});

t.test('a long image is shortened in the middle, never in its tag', async (t) => {
  const w = problemWarning([finding('RepositoryNotFound', 'app')]);
  const image = w.split(': ')[1] as string;
  t.ok(image.length < LONG.length, image);
  t.match(image, /^registry\.build-cluster.*….*\/app.*:v9\.9\.9$/);
});

t.test('the whole set stays within the API server budget; the last warning says how many more and where', async (t) => {
  const findings = Array.from({ length: 80 }, (_, i) => finding(i % 2 ? 'TagNotFound' : 'RegistryTimeout', `c${i}`, `${LONG.slice(0, 190)}${i}:v${i}`));
  for (const mode of ['warn', 'enforce'] as const) {
    const d = decide(findings, mode, ['pullguard: a note'], { uid: '705ab4f5-6393-11e8-b7cc-42010a800002' });
    const total = d.warnings.reduce((n, w) => n + runes(w), 0);
    t.ok(total <= WARNINGS_MAX_RUNES, `${mode}: ${total} runes`);
    t.ok(total <= 4096);
    t.ok(d.warnings.every((w) => runes(w) <= WARNING_MAX_CHARS));
    const last = d.warnings.at(-1) as string;
    const more = Number(/(\d+) more image problems not shown/.exec(last)?.[1]);
    const problems = mode === 'warn' ? 80 : 40;
    t.equal(d.warnings.length - 2 + more, problems, `${mode}: shown + more = all problems`);
    t.match(last, /the full text is in (the audit annotations image-\d+…image-19 and )?the webhook's log line for uid 705ab4f5-6393-11e8-b7cc-42010a800002$/);
  }
});

t.test('problems left out that have an audit annotation are named by its key', async (t) => {
  const findings = Array.from({ length: 40 }, (_, i) => finding('AuthRequired', `c${i}`, `${LONG.slice(0, 190)}${i}:v${i}`));
  const d = decide(findings, 'warn', [], { uid: 'u-1' });
  const shown = d.warnings.length - 1;
  t.ok(shown < 20, `${shown} shown`);
  t.equal(d.warnings.at(-1), `pullguard: ${40 - shown} more image problems not shown; the full text is in the audit annotations image-${shown}…image-19 and the webhook's log line for uid u-1`);
  t.ok(d.auditAnnotations[`image-${shown}`]?.includes(`c${shown}`));
});

t.test('enforce mode: unknown images get the same warning form, denials keep the message', async (t) => {
  const d = decide([finding('TagNotFound', 'app'), finding('RegistryTimeout', 'sidecar', 'nginx:1.27')], 'enforce');
  t.equal(d.allowed, false);
  t.match(d.message, /^pullguard: 1 image cannot be pulled:\n- init container "app" \(spec\.jobTemplate\.spec\.template\.spec\.initContainers\[11\]\.image\): image "registry\.build-cluster[^"]*": TagNotFound: the tag does not exist\./);
  t.same(d.warnings, ['init container sidecar: nginx:1.27: RegistryTimeout (not denied): registry timed out; the nodes may fail the same way']);
});

t.test('different problems of one image stay apart; one problem of several containers is said once', async (t) => {
  const d = decide([finding('TagNotFound', 'a', 'nginx:lates'), finding('TagNotFound', 'b', 'nginx:lates'), finding('RegistryTimeout', 'c', 'nginx:lates')], 'warn');
  t.equal(d.warnings.length, 2);
  t.match(d.warnings[0], /^init containers a, b: nginx:lates: TagNotFound/);
  t.match(d.warnings[1], /^init container c: nginx:lates: RegistryTimeout/);
});
