// A review's end cancels its work (the hostile-input issue, "work cancelled when a review's deadline passes"):
// after the webhook answers, the review's registry requests are closed and no new one starts, unless another
// review still waits for the same lookup, which then gets the registry's own answer. Counted at the fault proxy
// in front of the real registry.
import t from 'tap';
import { startEnv, type Env } from '../admission/env.ts';
import type { FaultProxyRequest } from '../harness/fault-proxy.ts';
import { podReview, type ReviewAnswer } from './reviews.ts';

let env: Env;
t.before(async () => {
  env = await startEnv();
});
t.teardown(() => env?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const manifestOf = (tag: string) => (r: FaultProxyRequest) => r.path.includes(`/manifests/${tag}`);

/** Waits (at most `ms`) until every logged request has ended. */
async function allEnded(ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    if (env.proxy.requests.every((r) => env.proxy.endOf(r) !== undefined)) return true;
    await sleep(20);
  }
  return false;
}

t.test('after the answer, a review\'s stalled registry requests are closed and no further request starts', async (t) => {
  env.proxy.reset();
  t.teardown(() => env.proxy.reset());
  env.proxy.setFault((req) => (req.path.includes('/manifests/') ? { kind: 'stall' } : { kind: 'pass' }));
  const app = env.app();
  // ?timeout=2s: answered by about 1 s; the registry's own request timeout here is 3 s.
  const res = await app.inject({ method: 'POST', url: '/validate?timeout=2s', payload: podReview([env.proxied('team/app:stalled'), env.proxied('team/sidecar:stalled')]) });
  const answeredAt = performance.now();
  const out = res.json<ReviewAnswer>();
  t.equal(out.response.allowed, true, 'unknown is admitted');
  t.match(out.response.warnings?.join('\n'), /RegistryTimeout|deadline/);
  const startedBeforeAnswer = env.proxy.requests.length;
  t.ok(env.proxy.requests.some(manifestOf('stalled')), 'the manifest requests reached the registry');
  t.ok(await allEnded(2000), 'every request ended well before the registry request timeout');
  for (const r of env.proxy.requests.filter(manifestOf('stalled'))) {
    const end = env.proxy.endOf(r);
    t.equal(end?.closedByClient, true, `${r.method} ${r.path} was closed by pullguard`);
    t.ok(end !== undefined && end.at - answeredAt < 2000, `closed ${Math.round((end?.at ?? 0) - answeredAt)} ms after the answer`);
  }
  await sleep(500);
  t.equal(env.proxy.requests.length, startedBeforeAnswer, 'no registry request started after the answer');
});

t.test('a lookup shared with a review that still waits goes on when the first review ends, and the second gets the registry\'s answer', async (t) => {
  env.proxy.reset();
  t.teardown(() => env.proxy.reset());
  let delayed = false;
  env.proxy.setFault((req) => {
    if (!delayed && req.path.includes('/manifests/shared-missing')) {
      delayed = true;
      return { kind: 'delay', ms: 1500 };
    }
    return { kind: 'pass' };
  });
  const app = env.app();
  const image = env.proxied('team/app:shared-missing');
  const short = app.inject({ method: 'POST', url: '/validate?timeout=2s', payload: podReview([image]) });
  while (!env.proxy.requests.some(manifestOf('shared-missing'))) await sleep(5);
  const long = app.inject({ method: 'POST', url: '/validate?timeout=10s', payload: podReview([image]) });
  const first = (await short).json<ReviewAnswer>();
  t.equal(first.response.allowed, true, 'the review whose deadline came first is answered unknown (admitted)');
  t.match(first.response.warnings?.join('\n'), /RegistryTimeout|deadline/);
  const second = (await long).json<ReviewAnswer>();
  t.equal(second.response.allowed, false, 'the review still waiting gets the registry\'s answer');
  t.match(second.response.status?.message, /TagNotFound/);
  const sharedRequest = env.proxy.requests.find(manifestOf('shared-missing'))!;
  t.equal(sharedRequest.fault, 'delay');
  t.equal(sharedRequest.status, 404, 'the shared request was answered, not aborted with the first review');
  t.equal(env.proxy.endOf(sharedRequest)?.closedByClient, false);
  t.equal(env.proxy.requests.filter((r) => r.path.includes('/manifests/shared-missing') && r.method === sharedRequest.method).length, 1, 'and not asked twice');
});

t.test('a lookup every review gave up on is aborted, and the next review asks the registry afresh', async (t) => {
  env.proxy.reset();
  t.teardown(() => env.proxy.reset());
  env.proxy.setFault((req) => (req.path.includes('/manifests/') ? { kind: 'stall' } : { kind: 'pass' }));
  const app = env.app();
  const image = env.proxied('team/app:abandoned');
  const answers = await Promise.all([0, 1].map(() => app.inject({ method: 'POST', url: '/validate?timeout=2s', payload: podReview([image]) })));
  for (const a of answers) t.equal(a.json<ReviewAnswer>().response.allowed, true, 'unknown is admitted');
  const stalled = env.proxy.requests.filter(manifestOf('abandoned'));
  t.equal(stalled.length, 1, 'both reviews shared one request');
  t.ok(await allEnded(2000));
  t.equal(env.proxy.endOf(stalled[0]!)?.closedByClient, true, 'aborted once neither review waited');

  env.proxy.setFault({ kind: 'pass' });
  const next = (await app.inject({ method: 'POST', url: '/validate?timeout=10s', payload: podReview([image]) })).json<ReviewAnswer>();
  t.equal(next.response.allowed, false, 'nothing of the aborted lookup was kept: the registry is asked and answers');
  t.match(next.response.status?.message, /TagNotFound/);
  t.ok(env.proxy.requests.filter(manifestOf('abandoned')).length > 1, 'a new request');
});
