import t from 'tap';
import { existsSync } from 'node:fs';
import { Agent, request } from 'undici';
import { startRegistry, type TestRegistry } from './registry.ts';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function getV2(reg: TestRegistry, authorization?: string): Promise<{ status: number; challenge: string | undefined; apiVersion: unknown }> {
  const agent = new Agent({ connect: { ca: reg.caPem } });
  try {
    const res = await request(`${reg.url}/v2/`, { dispatcher: agent, headers: authorization ? { authorization } : {} });
    await res.body.dump();
    const challenge = res.headers['www-authenticate'];
    return { status: res.statusCode, challenge: Array.isArray(challenge) ? challenge.join(', ') : challenge, apiVersion: res.headers['docker-distribution-api-version'] };
  } finally {
    await agent.close();
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('without auth the registry answers GET /v2/ with 200 over HTTPS on 127.0.0.1', async (t) => {
  const reg = await startRegistry();
  t.teardown(() => reg.stop());
  t.match(reg.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  t.equal(reg.url, `https://${reg.host}`);
  t.equal(reg.auth, 'none');
  t.equal(reg.pushCredentials, undefined);
  t.same(await getV2(reg), { status: 200, challenge: undefined, apiVersion: 'registry/2.0' });
});

t.test('basic auth challenges with Basic and accepts only the right password', async (t) => {
  const reg = await startRegistry({ auth: 'basic' });
  t.teardown(() => reg.stop());
  t.same(reg.pushCredentials, reg.users[0]);
  const anonymous = await getV2(reg);
  t.equal(anonymous.status, 401);
  t.equal(anonymous.challenge, 'Basic realm="pullguard-test"');
  t.equal((await getV2(reg, basic('alice', 'alice-secret'))).status, 200);
  t.equal((await getV2(reg, basic('bob', 'bob-secret'))).status, 200);
  t.equal((await getV2(reg, basic('alice', 'wrong'))).status, 401);
  t.equal((await getV2(reg, basic('mallory', 'alice-secret'))).status, 401);
});

t.test('custom users replace the defaults, and pushUser picks who pushes', async (t) => {
  const reg = await startRegistry({ auth: 'basic', users: [{ username: 'ro', password: 'p1' }, { username: 'rw', password: 'p2' }], pushUser: 'rw' });
  t.teardown(() => reg.stop());
  t.equal(reg.pushCredentials?.username, 'rw');
  t.equal((await getV2(reg, basic('rw', 'p2'))).status, 200);
  t.equal((await getV2(reg, basic('alice', 'alice-secret'))).status, 401);
});

t.test('token auth challenges with Bearer naming the token server realm and service', async (t) => {
  const reg = await startRegistry({ auth: 'token' });
  t.teardown(() => reg.stop());
  const res = await getV2(reg);
  t.equal(res.status, 401);
  t.ok(reg.tokenServer);
  t.match(reg.tokenServer!.realm, /^https:\/\/127\.0\.0\.1:\d+\/token$/);
  t.equal(res.challenge, `Bearer realm="${reg.tokenServer!.realm}",service="${reg.tokenServer!.service}"`);
});

t.test('tls: false serves plain HTTP', async (t) => {
  const reg = await startRegistry({ tls: false, auth: 'token' });
  t.teardown(() => reg.stop());
  t.match(reg.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  t.match(reg.tokenServer!.realm, /^http:\/\//);
  t.equal((await getV2(reg)).status, 401);
});

t.test('registries started together get their own ports', async (t) => {
  const regs = await Promise.all([startRegistry(), startRegistry(), startRegistry()]);
  t.teardown(() => Promise.all(regs.map((r) => r.stop())));
  t.equal(new Set(regs.map((r) => r.host)).size, 3);
});

t.test('stop ends the registry process and removes its directory, and may be called twice', async (t) => {
  const reg = await startRegistry();
  t.ok(alive(reg.pid));
  t.ok(existsSync(reg.dir));
  await reg.stop();
  await reg.stop();
  t.notOk(alive(reg.pid));
  t.notOk(existsSync(reg.dir));
});

t.test('a registry that cannot start fails with its own output in the error', async (t) => {
  await t.rejects(startRegistry({ extraConfig: { storage: { inmemory: {} } } }), /exited before listening[\s\S]*docker-registry output[\s\S]*storage/);
});
