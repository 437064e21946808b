// The memo of clean checks (src/verdict/check-memo.ts) wired as in production: the same pod spec reviewed again within
// cache.cleanCheckTtlMs is answered from the first check when every image resolved, and checked afresh otherwise.
import t from 'tap';
import { containers, reviewOf, startEnv, type Env } from './env.ts';

let env: Env;
t.before(async () => {
  // The kit reads secrets with no TTL (every change seen at once), which turns the memo off: production's 5 s here.
  env = await startEnv((c) => {
    c.kubernetes.secretTtlSeconds = 5;
  });
});
t.teardown(() => env.close());

const hits = async (): Promise<number> => (await env.metrics.registry.getSingleMetric('pullguard_check_memo_hits_total')!.get()).values[0]?.value ?? 0;

async function post(review: Record<string, unknown>): Promise<{ uid: string; allowed: boolean; warnings?: string[]; auditAnnotations?: Record<string, string> }> {
  const app = env.app();
  try {
    const res = await app.inject({ method: 'POST', url: '/validate?timeout=10s', payload: review });
    t.equal(res.statusCode, 200);
    return (res.json() as { response: { uid: string; allowed: boolean; warnings?: string[]; auditAnnotations?: Record<string, string> } }).response;
  } finally {
    await app.close();
  }
}

t.test('a ReplicaSet\'s pods, one after another: the second is answered from the first check, with the same answer', async (t) => {
  const before = await hits();
  const spec = { containers: containers(env.image('team/app:1.0')) };
  const first = await post(reviewOf('Pod', spec));
  const second = await post(reviewOf('Pod', spec));
  t.equal(await hits(), before + 1, 'one memo hit');
  t.equal(first.allowed, true);
  t.not(second.uid, first.uid, 'each answer carries its own uid');
  t.same({ ...second, uid: first.uid }, first, 'and is otherwise the same answer');
});

t.test('another spec (one more container, another policy, another namespace) is checked on its own', async (t) => {
  const before = await hits();
  await post(reviewOf('Deployment', { containers: containers(env.image('team/app:2.0')) }));
  await post(reviewOf('Deployment', { containers: containers(env.image('team/app:2.0'), env.image('team/sidecar:1.0')) }));
  await post(reviewOf('Deployment', { containers: [{ name: 'c0', image: env.image('team/app:2.0'), imagePullPolicy: 'Always' }] }));
  await post(reviewOf('Deployment', { containers: containers(env.image('team/app:2.0')) }, { namespace: 'relaxed' }));
  t.equal(await hits(), before, 'no hit');
});

t.test('a denial is never reused: each review of a missing tag is checked, and denied', async (t) => {
  const before = await hits();
  const spec = { containers: containers(env.image('team/app:9.9')) };
  for (let i = 0; i < 3; i++) {
    const r = await post(reviewOf('Deployment', spec));
    t.equal(r.allowed, false);
  }
  t.equal(await hits(), before, 'no hit');
});

t.test('an unknown is never reused: once the registry is back, the next review resolves', async (t) => {
  const before = await hits();
  const spec = { containers: containers(env.proxied('team/sidecar:1.0')) };
  env.proxy.setFault({ kind: 'status', status: 503 });
  try {
    const down = await post(reviewOf('Deployment', spec));
    t.equal(down.allowed, true, 'admitted');
    t.match(down.auditAnnotations, { result: 'unknown' });
  } finally {
    env.proxy.setFault({ kind: 'pass' });
  }
  const up = await post(reviewOf('Deployment', spec));
  t.match(up.auditAnnotations, { result: 'allowed' }, 'checked again, not answered from the unknown');
  t.equal(await hits(), before, 'no hit');
});
