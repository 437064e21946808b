// Answers that contradict each other, or that one credential gets and another would not: none of them may become
// a certain denial, because the kubelet could still pull.
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { startFaultProxy, type FaultProxy } from '../harness/fault-proxy.ts';
import { clientFor, cred, ref } from './registry-fixture.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';

let reg: TestRegistry;
let proxy: FaultProxy;
let index: Awaited<ReturnType<typeof pushImage>>;
const both = [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }];

t.before(async () => {
  reg = await startRegistry({ auth: 'basic' });
  proxy = await startFaultProxy(reg);
  index = await pushImage(reg, { repository: 'team/app', tag: 'v1', platforms: both });
});
t.teardown(async () => {
  await proxy.stop();
  await reg.stop();
});

const basic = (u: { username: string; password: string }) => `Basic ${Buffer.from(`${u.username}:${u.password}`).toString('base64')}`;

t.test('a 404 for content of a tag that just resolved is unknown, not TagNotFound', async (t) => {
  proxy.reset();
  // HEAD of the tag answers; the GET of the index by digest (a replica behind) answers 404.
  proxy.setFault((r) => (r.method === 'GET' && r.path.includes(`/manifests/${index.digest}`)
    ? { kind: 'status', status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }) }
    : { kind: 'pass' }));
  const c = clientFor({ [proxy.host]: { caFile: reg.caFile } });
  t.teardown(async () => {
    await c.close();
    proxy.reset();
  });
  const r = await c.resolve(ref(`${proxy.host}/team/app:v1`), { platforms: [{ os: 'linux', architecture: 'arm64' }], credentials: [cred('secret default/alice', reg.users[0]!)] });
  t.equal(verdictOf(r.reason), 'unknown', r.detail ?? '');
  t.equal(r.reason, 'RegistryError');
  t.match(r.detail, /resolved .* but then answered/);
});

t.test('a credential that is told "not found" does not stop the next one, which the kubelet would also try', async (t) => {
  proxy.reset();
  const alice = reg.users[0]!;
  const bob = reg.users[1]!;
  // Like GitLab or Harbor hiding a private project from an account without access: 404 to alice only.
  proxy.setFault((r) => (r.path.includes('/manifests/') && r.headers['authorization'] === basic(alice)
    ? { kind: 'status', status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }) }
    : { kind: 'pass' }));
  const c = clientFor({ [proxy.host]: { caFile: reg.caFile } });
  t.teardown(async () => {
    await c.close();
    proxy.reset();
  });
  const image = ref(`${proxy.host}/team/app:v1`);
  const r = await c.resolve(image, { platforms: [], credentials: [cred('secret default/alice', alice), cred('secret default/bob', bob)] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.same(r.credentialsTried, ['secret default/alice', 'secret default/bob']);
  t.equal(r.credentialUsed, 'secret default/bob');

  const only = await c.resolve(image, { platforms: [], credentials: [cred('secret default/alice', alice)] });
  t.equal(only.reason, 'RepositoryNotFound', 'with nothing better to try, the not-found stands');
  t.equal(verdictOf(only.reason), 'deny');
});
