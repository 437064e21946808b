// Against a real Distribution registry with htpasswd (Basic) auth: right, wrong and missing credentials,
// credentials tried in order, and what each answer records.
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { clientFor, cred, ref } from './registry-fixture.ts';
import { verdictOf } from '../../src/verdict/reasons.ts';

let reg: TestRegistry;
let digest: string;

t.before(async () => {
  reg = await startRegistry({ auth: 'basic' });
  digest = (await pushImage(reg, { repository: 'team/app', tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64' }] })).digest;
});
t.teardown(() => reg.stop());

const alice = () => cred('secret default/alice', reg.users[0]!);
const wrong = () => cred('secret default/wrong', { username: 'alice', password: 'not-her-password' });

t.test('the right credentials resolve the tag to its digest', async (t) => {
  const client = clientFor({ [reg.host]: { caFile: reg.caFile } });
  t.teardown(() => client.close());
  const r = await client.resolve(ref(`${reg.host}/team/app:v1`), { platforms: [], credentials: [alice()] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.equal(verdictOf(r.reason), 'allow');
  t.equal(r.digest, digest);
  t.equal(r.mediaType, 'application/vnd.oci.image.manifest.v1+json');
  t.same(r.credentialsTried, ['secret default/alice']);
  t.equal(r.credentialUsed, 'secret default/alice');
  t.equal(r.reference, `${reg.host}/team/app:v1`);
});

t.test('wrong credentials are CredentialsRejected, and anonymous is not tried after them (the kubelet does not)', async (t) => {
  const client = clientFor({ [reg.host]: { caFile: reg.caFile } });
  t.teardown(() => client.close());
  const r = await client.resolve(ref(`${reg.host}/team/app:v1`), { platforms: [], credentials: [wrong()] });
  t.equal(r.reason, 'CredentialsRejected', r.detail ?? '');
  t.equal(verdictOf(r.reason), 'deny');
  t.equal(r.status, 401);
  t.same(r.credentialsTried, ['secret default/wrong']);
  t.equal(r.credentialUsed, undefined);
  t.notMatch(JSON.stringify(r), /not-her-password/, 'the password appears nowhere in the answer');
});

t.test('no credentials is AuthRequired, saying private or missing', async (t) => {
  const client = clientFor({ [reg.host]: { caFile: reg.caFile } });
  t.teardown(() => client.close());
  const r = await client.resolve(ref(`${reg.host}/team/app:v1`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'AuthRequired');
  t.same(r.credentialsTried, ['anonymous']);
  t.match(r.detail, /private or does not exist/);
});

t.test('a wrong credential followed by a right one resolves, recording both', async (t) => {
  const client = clientFor({ [reg.host]: { caFile: reg.caFile } });
  t.teardown(() => client.close());
  const r = await client.resolve(ref(`${reg.host}/team/app:v1`), { platforms: [], credentials: [wrong(), alice()] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  t.same(r.credentialsTried, ['secret default/wrong', 'secret default/alice']);
  t.equal(r.credentialUsed, 'secret default/alice');
});

t.test('with node credentials, a refusal is NodeCredentialsAssumed (unknown), not a deny', async (t) => {
  const client = clientFor({ [reg.host]: { caFile: reg.caFile } });
  t.teardown(() => client.close());
  const r = await client.resolve(ref(`${reg.host}/team/app:v1`), { platforms: [], credentials: [], nodeCredentials: true });
  t.equal(r.reason, 'NodeCredentialsAssumed');
  t.equal(verdictOf(r.reason), 'unknown');
  const viaConfig = clientFor({ [reg.host]: { caFile: reg.caFile, nodeCredentials: true } });
  t.teardown(() => viaConfig.close());
  t.equal((await viaConfig.resolve(ref(`${reg.host}/team/app:v1`), { platforms: [], credentials: [] })).reason, 'NodeCredentialsAssumed', 'also from the registry config');
});

t.test('a missing tag on a Basic registry is TagNotFound with suggestions', async (t) => {
  const client = clientFor({ [reg.host]: { caFile: reg.caFile } });
  t.teardown(() => client.close());
  const r = await client.resolve(ref(`${reg.host}/team/app:v2`), { platforms: [], credentials: [alice()] });
  t.equal(r.reason, 'TagNotFound', r.detail ?? '');
  t.same(r.suggestions, ['v1']);
  t.equal(r.registryMessage, '404 MANIFEST_UNKNOWN: manifest unknown');
});
