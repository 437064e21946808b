// Against a real Distribution registry with token auth (Docker Hub protocol, in-process token server):
// anonymous pulls, private repositories, rejected and accepted credentials in order, OAuth2 identity tokens,
// registry tokens, token reuse and expiry on an injected clock, and realms that must not get secrets.
import t from 'tap';
import { Agent, request } from 'undici';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import type { PullCredential } from '../../src/registry/resolution.ts';
import { clientFor, cred, ref } from './registry-fixture.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';

let reg: TestRegistry;

t.before(async () => {
  reg = await startRegistry({
    auth: 'token',
    // alice may pull anything; bob is a real user who may not pull team/*; anonymous may pull public/*.
    access: (user, repository) => {
      if (user === 'alice') return ['pull', 'push', 'delete', '*'];
      if (user === 'bob') return repository.startsWith('team/') ? [] : ['pull', 'push'];
      return repository.startsWith('public/') ? ['pull'] : [];
    },
  });
  await pushImage(reg, { repository: 'public/tool', tag: '1.0', platforms: [{ os: 'linux', architecture: 'amd64' }] });
  await pushImage(reg, { repository: 'team/app', tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64' }] });
});
t.teardown(() => reg.stop());

const tokenRequests = () => reg.tokenServer!.requests;
const alice = () => cred('secret team/alice', reg.users[0]!);
const bob = () => cred('secret team/bob', reg.users[1]!);
const wrong = () => cred('secret team/stale', { username: 'alice', password: 'expired-password' });
const client = (deps = {}) => clientFor({ [reg.host]: { caFile: reg.caFile } }, deps);

t.test('a public repository resolves anonymously with an anonymous token', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const before = tokenRequests().length;
  const r = await c.resolve(ref(`${reg.host}/public/tool:1.0`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.same(r.credentialsTried, ['anonymous']);
  t.equal(r.credentialUsed, 'anonymous');
  const asked = tokenRequests().slice(before);
  t.equal(asked.length, 1);
  t.equal(asked[0]?.authScheme, undefined, 'no Authorization on an anonymous token request');
  t.same(asked[0]?.scopes, ['repository:public/tool:pull'], 'pull scope only');
  t.equal(asked[0]?.service, reg.tokenServer!.service);
});

t.test('a private repository without credentials is AuthRequired', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/team/app:v1`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'AuthRequired', r.detail ?? '');
  t.equal(r.status, 401);
  t.match(r.detail, /private or does not exist/);
  t.match(r.detail, /Docker Hub/);
});

t.test('wrong credentials are CredentialsRejected by the token endpoint', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/team/app:v1`), { platforms: [], credentials: [wrong()] });
  t.equal(r.reason, 'CredentialsRejected', r.detail ?? '');
  t.same(r.credentialsTried, ['secret team/stale'], 'no anonymous try after a matching credential, as the kubelet');
  t.match(r.registryMessage, /401/);
  t.notMatch(JSON.stringify(r), /expired-password/);
});

t.test('a first wrong and a second right credential resolve, with both recorded', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/team/app:v1`), { platforms: [], credentials: [wrong(), alice()] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.same(r.credentialsTried, ['secret team/stale', 'secret team/alice']);
  t.equal(r.credentialUsed, 'secret team/alice');
});

t.test('accepted credentials without pull access are AccessDenied', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/team/app:v1`), { platforms: [], credentials: [bob()] });
  t.equal(r.reason, 'AccessDenied', r.detail ?? '');
  t.match(r.detail, /secret team\/bob/);
  t.same(r.credentialsTried, ['secret team/bob'], 'no anonymous try after a matching credential, as the kubelet');
});

t.test('an identity token is exchanged by OAuth2 POST (grant_type=refresh_token)', async (t) => {
  // What `docker login` stores as identitytoken: a refresh token from the realm.
  const agent = new Agent({ connect: { ca: reg.caPem } });
  t.teardown(() => agent.close());
  const u = new URL(reg.tokenServer!.realm);
  u.searchParams.set('service', reg.tokenServer!.service);
  u.searchParams.set('offline_token', 'true');
  u.searchParams.set('client_id', 'test');
  const res = await request(u, { dispatcher: agent, headers: { authorization: `Basic ${Buffer.from('alice:alice-secret').toString('base64')}` } });
  const refresh = ((await res.body.json()) as { refresh_token: string }).refresh_token;
  t.ok(refresh, 'got a refresh token');

  const c = client();
  t.teardown(() => c.close());
  const identity: PullCredential = { source: 'docker-config /root/.docker/config.json', key: reg.host, identityToken: refresh };
  const before = tokenRequests().length;
  const r = await c.resolve(ref(`${reg.host}/team/app:v1`), { platforms: [], credentials: [identity] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.equal(r.credentialUsed, 'docker-config /root/.docker/config.json');
  const asked = tokenRequests().slice(before);
  t.equal(asked.length, 1);
  t.equal(asked[0]?.method, 'POST');
  t.equal(asked[0]?.grantType, 'refresh_token');
  t.equal(asked[0]?.clientId, 'pullguard');
  t.equal(asked[0]?.user, 'alice');

  const bad = await c.resolve(ref(`${reg.host}/team/app:v1`), { platforms: [], credentials: [{ ...identity, identityToken: 'revoked' }] });
  t.equal(bad.reason, 'CredentialsRejected', 'a refused refresh token is rejected credentials');
});

t.test('a registry token is sent as the bearer token directly', async (t) => {
  const token = reg.tokenServer!.mint('alice', [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
  const c = client();
  t.teardown(() => c.close());
  const before = tokenRequests().length;
  const r = await c.resolve(ref(`${reg.host}/team/app:v1`), { platforms: [], credentials: [{ source: 'registrytoken', key: reg.host, registryToken: token }] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.equal(tokenRequests().length, before, 'the token server was not asked');
});

t.test('tokens are reused until they expire (minus a margin) on the injected clock', async (t) => {
  let now = Date.now();
  const c = client({ clock: () => now });
  t.teardown(() => c.close());
  const opts = { platforms: [], credentials: [alice()] };
  const count = () => tokenRequests().filter((x) => x.user === 'alice' && x.scopes.includes('repository:team/app:pull')).length;
  const before = count();
  t.equal((await c.resolve(ref(`${reg.host}/team/app:v1`), opts)).reason, 'Resolved');
  t.equal((await c.resolve(ref(`${reg.host}/team/app:v1`), opts)).reason, 'Resolved');
  t.equal(count() - before, 1, 'one token for two resolutions');
  // The harness issues 300 s tokens; a token is trusted until expires_in minus at most 10 s.
  now += 289_000;
  t.equal((await c.resolve(ref(`${reg.host}/team/app:v1`), opts)).reason, 'Resolved');
  t.equal(count() - before, 1, 'still fresh at 289 s');
  now += 2_000;
  t.equal((await c.resolve(ref(`${reg.host}/team/app:v1`), opts)).reason, 'Resolved');
  t.equal(count() - before, 2, 'a new token at 291 s');
});

t.test('tokens are cached per credential: another user gets their own', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const before = tokenRequests().length;
  await c.resolve(ref(`${reg.host}/public/tool:1.0`), { platforms: [], credentials: [alice()] });
  await c.resolve(ref(`${reg.host}/public/tool:1.0`), { platforms: [], credentials: [bob()] });
  await c.resolve(ref(`${reg.host}/public/tool:1.0`), { platforms: [], credentials: [] });
  t.same(tokenRequests().slice(before).map((x) => x.user ?? 'anonymous'), ['alice', 'bob', 'anonymous']);
});

t.test('a plain-HTTP realm on another host never receives credentials', async (t) => {
  const plain = await startRegistry({ auth: 'token', tls: false });
  t.teardown(() => plain.stop());
  await pushImage(plain, { repository: 'public/tool', tag: '1.0', platforms: [{ os: 'linux', architecture: 'amd64' }] });
  await pushImage(plain, { repository: 'team/app', tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64' }] });
  const c = clientFor({ [plain.host]: { plainHTTP: true } });
  t.teardown(() => c.close());
  const before = plain.tokenServer!.requests.length;
  const r = await c.resolve(ref(`${plain.host}/team/app:v1`), { platforms: [], credentials: [cred('secret x/alice', plain.users[0]!)] });
  t.equal(verdictOf(r.reason), 'unknown', 'we cannot tell without sending them, so no deny');
  t.match(r.detail, /refusing to send credentials to the plain-HTTP token realm/);
  t.notOk(plain.tokenServer!.requests.slice(before).some((x) => x.authScheme !== undefined), 'no Authorization reached the realm');
  const anon = await c.resolve(ref(`${plain.host}/public/tool:1.0`), { platforms: [], credentials: [] });
  t.equal(anon.reason, 'Resolved', 'anonymous tokens over http are fine');
});
