import t from 'tap';
import { resolution as registryAnswer, type RegistryOutcome } from '../../src/registry/index.ts';
import { classify, resolution } from '../../src/verdict/classify.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';

// Every outcome the registry can report, with whether it is a definite answer about the image.
const OUTCOMES: [RegistryOutcome, boolean][] = [
  ['Resolved', true],
  ['TagNotFound', true],
  ['DigestNotFound', true],
  ['RepositoryNotFound', true],
  ['AuthRequired', true],
  ['CredentialsRejected', true],
  ['AccessDenied', true],
  ['PlatformMismatch', true],
  ['UnsupportedManifest', true],
  ['RegistryBlocked', true],
  ['AmbiguousShortName', false],
  ['NodeCredentialsAssumed', false],
  ['RateLimited', false],
  ['PullBudgetLow', false],
  ['RegistryUnreachable', false],
  ['RegistryTimeout', false],
  ['RegistryError', false],
];

t.test('the registry reports whether an outcome is definite, and the table alone gives its verdict', async (t) => {
  for (const [outcome, definite] of OUTCOMES) {
    const answer = registryAnswer(outcome, 'team/app:v2', { reference: 'docker.io/team/app:v2', status: 404 });
    t.equal(answer.definite, definite, `${outcome}: definite`);
    t.notOk('verdict' in answer, `${outcome}: the registry chooses no verdict`);
    const r = classify(answer);
    t.equal(r.verdict, verdictOf(outcome), `${outcome}: verdict from the table`);
    t.same(r, { credentialsTried: [], reference: 'docker.io/team/app:v2', status: 404, reason: outcome, image: 'team/app:v2', verdict: verdictOf(outcome) }, `${outcome}: evidence kept`);
  }
});

t.test('a definite answer is never an unknown verdict, and a temporary one never denies', async (t) => {
  for (const [outcome, definite] of OUTCOMES) t.equal(verdictOf(outcome) !== 'unknown', definite, outcome);
});

t.test('a pod-level reason gets its verdict from the table too', async (t) => {
  t.equal(resolution('InvalidReference', 'Bad:Image').verdict, 'deny');
  t.equal(resolution('NeverPull', 'app:1').verdict, 'unknown');
  t.equal(resolution('CachedOnNodes', 'app:1', { reference: 'docker.io/library/app:1' }).reference, 'docker.io/library/app:1');
});
