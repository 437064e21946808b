// Token fetches across the images of one run (issue #13): a Docker token is scoped to one repository, so images of
// one repository share one token and images of other repositories each need their own, never one broader token.
import t from 'tap';
import { pushImage } from '../harness/push.ts';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { clientFor, ref } from './registry-fixture.ts';

let reg: TestRegistry;
const amd64 = [{ os: 'linux', architecture: 'amd64' }];

t.before(async () => {
  reg = await startRegistry({ auth: 'token' });
  for (let r = 0; r < 4; r++) for (let v = 0; v < 3; v++) await pushImage(reg, { repository: `public/svc${r}`, tag: `v${v}`, platforms: amd64 });
});
t.teardown(() => reg?.stop());

t.test('12 concurrent images in 4 repositories fetch 4 anonymous tokens, one per repository scope', async (t) => {
  const c = clientFor({ [reg.host]: { caFile: reg.caFile } });
  t.teardown(() => c.close());
  const before = reg.tokenServer!.requests.length;
  const images = Array.from({ length: 12 }, (_, i) => `${reg.host}/public/svc${i % 4}:v${Math.floor(i / 4)}`);
  const all = await Promise.all(images.map((image) => c.resolve(ref(image), { platforms: amd64, credentials: [] })));
  t.same(all.map((r) => r.reason), images.map(() => 'Resolved'));
  const asked = reg.tokenServer!.requests.slice(before);
  t.equal(asked.length, 4);
  t.same(asked.map((r) => r.scopes).sort(), [0, 1, 2, 3].map((r) => [`repository:public/svc${r}:pull`]), 'each token is for exactly one repository');

  // Later images of those repositories reuse the cached tokens.
  await c.resolve(ref(`${reg.host}/public/svc2:v0`), { platforms: [], credentials: [] });
  t.equal(reg.tokenServer!.requests.length - before, 4, 'no token request for a repository already holding one');
});
