// What the webhook logs: one structured line per problem review with the request uid, and never a secret,
// at every level, whatever the secrets in the cluster hold.
import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { containers, reviewOf, startEnv, type Env } from './env.ts';

const lines: string[] = [];
const sink = new Writable({
  write(chunk, _enc, done) {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    done();
  },
});
const PASSWORD = 'hunter2-very-secret';
const AUTH = Buffer.from(`alice:${PASSWORD}`).toString('base64');

let env: Env;
const logger = pino({ level: 'trace' }, sink);
t.before(async () => {
  env = await startEnv(() => {}, { logger });
  const config = JSON.stringify({ auths: { [env.registry.host]: { auth: AUTH }, 'docker.io': { username: 'alice', password: PASSWORD } } });
  env.api.setSecret('demo', 'regcred', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': config });
  env.api.setSecret('demo', 'broken', 'kubernetes.io/dockerconfigjson', { '.dockerconfigjson': `{"auths":{"x":{"auth":"${PASSWORD}"` });
});
t.teardown(() => env?.close());

t.test('problem reviews are logged with the uid, container, field, reason and explanation; no secret ever', async (t) => {
  const app = env.app();
  const reviews = [
    reviewOf('Pod', { containers: containers(env.image('team/app:1.0')), imagePullSecrets: [{ name: 'regcred' }] }),
    reviewOf('Deployment', { containers: containers(env.image('team/app:nope')), imagePullSecrets: [{ name: 'regcred' }] }),
    reviewOf('Pod', { containers: containers(env.image('team/app:1.0')), imagePullSecrets: [{ name: 'broken' }] }),
  ];
  for (const review of reviews) {
    const res = await app.inject({ method: 'POST', url: '/validate?timeout=10s', payload: review, headers: { authorization: `Bearer ${PASSWORD}` } });
    t.equal(res.statusCode, 200);
  }
  const denied = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'denied');
  t.ok(denied, 'the denial is logged');
  t.equal(denied?.['uid'], (reviews[1]!['request'] as { uid: string }).uid);
  t.match(denied, { kind: 'Deployment', namespace: 'demo', problems: [{ container: 'c0', field: 'spec.template.spec.containers[0].image', reason: 'TagNotFound', verdict: 'deny' }] });
  const all = lines.join('\n');
  t.ok(lines.length >= 2, `${lines.length} log lines`);
  t.notMatch(all, PASSWORD, 'no password');
  t.notMatch(all, AUTH, 'no base64 auth');
});

t.test('a review makes no child logger: its lines carry the uid on the server\'s own logger', async (t) => {
  const app = env.app();
  await app.ready();
  const child = logger.child.bind(logger);
  let children = 0;
  logger.child = ((...args: Parameters<typeof child>) => {
    children++;
    return child(...args);
  }) as typeof logger.child;
  t.teardown(() => {
    logger.child = child;
  });
  const before = lines.length;
  const review = reviewOf('Deployment', { containers: containers(env.image('team/app:gone')) });
  const res = await app.inject({ method: 'POST', url: '/validate?timeout=10s', payload: review });
  t.equal(res.statusCode, 200);
  t.equal(children, 0, 'no pino child per request');
  const denied = lines.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'denied');
  t.equal(denied?.['uid'], (review['request'] as { uid: string }).uid, 'the denial still names the review');
});
