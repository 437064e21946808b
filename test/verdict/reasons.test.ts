import { readFileSync } from 'node:fs';
import t from 'tap';
import { REASON_CODES, REASONS, verdictOf, type ReasonCode } from '../../src/verdict/reasons.ts';
import { resolution } from '../../src/verdict/classify.ts';
import type { Finding } from '../../src/verdict/finding.ts';

function finding(reason: ReasonCode): Finding {
  return {
    target: { containerName: 'app', field: 'containers', image: 'team/app:v2', fieldPath: 'spec.containers[0].image', pullPolicy: 'IfNotPresent', pullPolicyDefaulted: true },
    resolution: resolution(reason, 'team/app:v2', { reference: 'docker.io/team/app:v2', suggestions: ['v1'], platforms: [{ os: 'linux', architecture: 'arm64' }] }),
    namespace: 'demo',
    secrets: [{ name: 'regcred', namespace: 'demo', from: 'pod', status: 'ok' }],
    serviceAccountName: 'default',
    eligiblePlatforms: [{ os: 'linux', architecture: 'amd64' }],
    platformSource: 'nodes',
  };
}

t.test('every reason code has a row with a verdict and non-empty wording', async (t) => {
  t.ok(REASON_CODES.length >= 19);
  for (const reason of REASON_CODES) {
    const row = REASONS[reason];
    const f = finding(reason);
    t.ok(['allow', 'deny', 'unknown'].includes(row.verdict), `${reason}: verdict`);
    t.ok(row.meaning.length > 10, `${reason}: meaning`);
    t.ok(row.what(f).length > 5, `${reason}: what`);
    t.ok(row.short(f).length > 3, `${reason}: short`);
    if (reason === 'Resolved') continue;
    t.ok(row.fix(f).length > 10, `${reason}: fix`);
    t.ok(row.firstFix(f).lead.length > 3, `${reason}: first fix`);
  }
});

t.test('the README reason table lists exactly the codes, each with its verdict', async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Reason codes and verdicts'));
  t.ok(section, 'README has a "Reason codes and verdicts" section');
  const rows = [...(section ?? '').matchAll(/^\| `(\w+)` \| (\w+) \|/gm)].map((m) => [m[1], m[2]]);
  t.same(rows.map(([code]) => code).sort(), [...REASON_CODES].sort(), 'the same codes, none missing, none extra');
  for (const [code, verdict] of rows) t.equal(verdict, verdictOf(code as ReasonCode), `${code}: verdict`);
});

t.test('a cached copy standing in for an index no node takes says to build for the nodes, not to push again', async (t) => {
  const f = finding('CachedOnNodes');
  const platform: Finding = { ...f, resolution: { ...f.resolution, cachedInsteadOf: 'PlatformMismatch' } };
  t.equal(REASONS.CachedOnNodes.short(platform), 'no entry the nodes take; cached on some nodes');
  t.equal(REASONS.CachedOnNodes.fix(platform), 'Not denied. Build the image for linux/amd64 (multi-arch) so that every node can pull it.');
  t.equal(REASONS.CachedOnNodes.firstFix(platform).lead, 'build it for the nodes\' platform');
  const missing: Finding = { ...f, resolution: { ...f.resolution, cachedInsteadOf: 'TagNotFound' } };
  t.equal(REASONS.CachedOnNodes.short(missing), 'not in registry; cached on some nodes');
  t.match(REASONS.CachedOnNodes.fix(missing), 'Push the image again');
});
