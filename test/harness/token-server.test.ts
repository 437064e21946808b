import t from 'tap';
import { Agent, request } from 'undici';
import { pushImage } from './push.ts';
import { startRegistry, type TestRegistry } from './registry.ts';
import { decodeJwt } from './token-signer.ts';

const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

async function call(reg: TestRegistry, agent: Agent, opts: { method?: 'GET' | 'POST'; query?: string; form?: Record<string, string>; authorization?: string }): Promise<Answer> {
  const res = await request(`${reg.tokenServer!.realm}${opts.query ? `?${opts.query}` : ''}`, {
    method: opts.method ?? 'GET',
    dispatcher: agent,
    headers: {
      ...(opts.authorization ? { authorization: opts.authorization } : {}),
      ...(opts.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    ...(opts.form ? { body: new URLSearchParams(opts.form).toString() } : {}),
  });
  return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
}

async function getManifest(reg: TestRegistry, agent: Agent, repository: string, token: string | undefined): Promise<{ status: number; challenge: unknown }> {
  const res = await request(`${reg.url}/v2/${repository}/manifests/latest`, {
    dispatcher: agent,
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
  });
  await res.body.dump();
  return { status: res.statusCode, challenge: res.headers['www-authenticate'] };
}

t.test('token server', async (t) => {
  const reg = await startRegistry({ auth: 'token', tokenTtlSeconds: 120 });
  const agent = new Agent({ connect: { ca: reg.caPem } });
  t.teardown(async () => {
    await agent.close();
    await reg.stop();
  });
  const service = reg.tokenServer!.service;
  await pushImage(reg, { repository: 'team/app', platforms: [{ os: 'linux', architecture: 'amd64' }] });
  await pushImage(reg, { repository: 'public/base', platforms: [{ os: 'linux', architecture: 'amd64' }] });

  t.test('a 401 from the registry names realm, service and the scope needed', async (t) => {
    const res = await getManifest(reg, agent, 'team/app', undefined);
    t.equal(res.status, 401);
    t.equal(res.challenge, `Bearer realm="${reg.tokenServer!.realm}",service="${service}",scope="repository:team/app:pull"`);
  });

  t.test('a user gets the actions asked for, in a token the registry accepts', async (t) => {
    reg.tokenServer!.requests.length = 0;
    const res = await call(reg, agent, { query: `service=${service}&scope=repository:team/app:pull,push`, authorization: basic('alice', 'alice-secret') });
    t.equal(res.status, 200);
    t.equal(res.body.token, res.body.access_token);
    t.equal(res.body.expires_in, 120);
    t.type(res.body.issued_at, 'string');
    t.equal(res.body.refresh_token, undefined);
    const { header, claims } = decodeJwt(res.body.token as string);
    t.equal(header.alg, 'ES256');
    t.ok(Array.isArray(header.x5c));
    t.equal(claims.sub, 'alice');
    t.equal(claims.aud, service);
    t.equal(claims.iss, reg.tokenServer!.issuer);
    t.equal(claims.exp - claims.iat, 120, 'exp is iat + ttl');
    t.equal(claims.nbf, claims.iat);
    t.equal(Date.parse(res.body.issued_at as string) / 1000, claims.iat);
    t.same(claims.access, [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }]);
    t.equal((await getManifest(reg, agent, 'team/app', res.body.token as string)).status, 200);
    t.same(reg.tokenServer!.requests, [
      { method: 'GET', scopes: ['repository:team/app:pull,push'], service, user: 'alice', grantType: undefined, clientId: undefined, offline: false, authScheme: 'basic', status: 200, granted: claims.access },
    ]);
  });

  t.test('several scope parameters give one token covering all of them', async (t) => {
    const res = await call(reg, agent, { query: `service=${service}&scope=repository:team/app:pull&scope=repository:public/base:pull`, authorization: basic('bob', 'bob-secret') });
    const { claims } = decodeJwt(res.body.token as string);
    t.same(claims.access.map((a) => a.name), ['team/app', 'public/base']);
    t.equal((await getManifest(reg, agent, 'public/base', res.body.token as string)).status, 200);
  });

  t.test('anonymous callers get pull on public/ only; elsewhere an empty grant the registry refuses', async (t) => {
    const pub = await call(reg, agent, { query: `service=${service}&scope=repository:public/base:pull,push` });
    t.same(decodeJwt(pub.body.token as string).claims.access, [{ type: 'repository', name: 'public/base', actions: ['pull'] }]);
    t.equal(decodeJwt(pub.body.token as string).claims.sub, '');
    t.equal((await getManifest(reg, agent, 'public/base', pub.body.token as string)).status, 200);

    const priv = await call(reg, agent, { query: `service=${service}&scope=repository:team/app:pull` });
    t.equal(priv.status, 200);
    t.same(decodeJwt(priv.body.token as string).claims.access, [{ type: 'repository', name: 'team/app', actions: [] }]);
    const refused = await getManifest(reg, agent, 'team/app', priv.body.token as string);
    t.equal(refused.status, 401);
    t.match(String(refused.challenge), /error="insufficient_scope"/);
  });

  t.test('a wrong password is a 401 with details, as Docker Hub answers', async (t) => {
    const res = await call(reg, agent, { query: `service=${service}&scope=repository:team/app:pull`, authorization: basic('alice', 'nope') });
    t.equal(res.status, 401);
    t.same(res.body, { details: 'incorrect username or password' });
  });

  t.test('an unknown service or a malformed scope is a 400', async (t) => {
    t.equal((await call(reg, agent, { query: 'service=elsewhere&scope=repository:team/app:pull' })).status, 400);
    t.equal((await call(reg, agent, { query: `service=${service}&scope=team/app` })).status, 400);
  });

  t.test('OAuth2 password grant, then a refresh token that stands for the same user', async (t) => {
    const first = await call(reg, agent, {
      method: 'POST',
      form: { grant_type: 'password', username: 'bob', password: 'bob-secret', client_id: 'pullguard', access_type: 'offline', service, scope: 'repository:team/app:pull' },
    });
    t.equal(first.status, 200);
    t.equal(first.body.scope, 'repository:team/app:pull');
    t.equal(first.body.expires_in, 120);
    t.type(first.body.refresh_token, 'string');
    t.equal(decodeJwt(first.body.access_token as string).claims.sub, 'bob');

    const refreshed = await call(reg, agent, {
      method: 'POST',
      form: { grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string, client_id: 'pullguard', service, scope: 'repository:team/app:pull repository:public/base:pull' },
    });
    t.equal(refreshed.status, 200);
    t.equal(refreshed.body.refresh_token, undefined, 'no new refresh token without access_type=offline');
    const { claims } = decodeJwt(refreshed.body.access_token as string);
    t.equal(claims.sub, 'bob');
    t.same(claims.access.map((a) => a.name), ['team/app', 'public/base']);
    t.equal((await getManifest(reg, agent, 'team/app', refreshed.body.access_token as string)).status, 200);
    const log = reg.tokenServer!.requests.slice(-2);
    t.same(log.map((l) => [l.method, l.grantType, l.user, l.clientId, l.offline]), [
      ['POST', 'password', 'bob', 'pullguard', true],
      ['POST', 'refresh_token', 'bob', 'pullguard', false],
    ]);
  });

  t.test('GET with offline_token=true hands an authenticated caller a refresh token', async (t) => {
    const res = await call(reg, agent, { query: `service=${service}&scope=repository:team/app:pull&offline_token=true&client_id=x`, authorization: basic('alice', 'alice-secret') });
    t.type(res.body.refresh_token, 'string');
  });

  t.test('OAuth2 failures: bad password, unknown refresh token, no client_id, unknown grant', async (t) => {
    const base = { client_id: 'pullguard', service, scope: 'repository:team/app:pull' };
    const badPassword = await call(reg, agent, { method: 'POST', form: { ...base, grant_type: 'password', username: 'alice', password: 'x' } });
    t.equal(badPassword.status, 401);
    t.match(badPassword.body, { errors: [{ code: 'UNAUTHORIZED' }] });
    t.equal((await call(reg, agent, { method: 'POST', form: { ...base, grant_type: 'refresh_token', refresh_token: 'forged' } })).status, 401);
    t.equal((await call(reg, agent, { method: 'POST', form: { grant_type: 'password', username: 'alice', password: 'alice-secret', service } })).status, 400);
    t.equal((await call(reg, agent, { method: 'POST', form: { ...base, grant_type: 'client_credentials' } })).status, 400);
  });

  t.test('an expired token (past the registry\'s 60 s leeway) is refused by the registry', async (t) => {
    const now = Math.floor(Date.now() / 1000);
    const expired = reg.tokenServer!.mint('alice', [{ type: 'repository', name: 'team/app', actions: ['pull'] }], { issuedAt: now - 3600, ttlSeconds: 300 });
    const res = await getManifest(reg, agent, 'team/app', expired);
    t.equal(res.status, 401);
    t.match(String(res.challenge), /error="invalid_token"/);
  });

  t.test('a token for another audience is refused', async (t) => {
    const other = await startRegistry({ auth: 'token', service: 'someone-else' });
    t.teardown(() => other.stop());
    const token = other.tokenServer!.mint('alice', [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    t.equal((await getManifest(reg, agent, 'team/app', token)).status, 401);
  });
});

t.test('tokens with a kid header instead of x5c are accepted too', async (t) => {
  const reg = await startRegistry({ auth: 'token', tokenKeyReference: 'kid' });
  t.teardown(() => reg.stop());
  const pushed = await pushImage(reg, { repository: 'team/app', platforms: [{ os: 'linux', architecture: 'amd64' }] });
  t.match(pushed.digest, /^sha256:/);
  const { header } = decodeJwt(reg.tokenServer!.mint('alice', []));
  t.match(header.kid, /^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/);
  t.equal(header.x5c, undefined);
});

t.test('a custom access policy decides the grant, and tokenClock dates the tokens', async (t) => {
  const clock = () => Date.UTC(2030, 0, 1);
  const reg = await startRegistry({
    auth: 'token',
    tokenClock: clock,
    access: (user, repository, requested) => (user === 'alice' && repository === 'only/this' ? requested.filter((a) => a === 'pull') : []),
  });
  const agent = new Agent({ connect: { ca: reg.caPem } });
  t.teardown(async () => {
    await agent.close();
    await reg.stop();
  });
  const res = await call(reg, agent, {
    query: `service=${reg.tokenServer!.service}&scope=repository:only/this:pull,push&scope=repository:other:pull`,
    authorization: basic('alice', 'alice-secret'),
  });
  const { claims } = decodeJwt(res.body.token as string);
  t.same(claims.access, [
    { type: 'repository', name: 'only/this', actions: ['pull'] },
    { type: 'repository', name: 'other', actions: [] },
  ]);
  t.equal(claims.iat, Date.UTC(2030, 0, 1) / 1000);
  t.equal(res.body.issued_at, '2030-01-01T00:00:00.000Z');
});
