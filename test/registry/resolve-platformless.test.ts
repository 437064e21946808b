// Index entries that name no platform, against a real registry: containerd reads the child's config (pullguard does
// too), while CRI-O takes such an entry of an OCI index when nothing matches (containers/image oci_index.go), so the
// resolution counts them for the verdict; a Docker list's entry without a platform decodes as an empty one, which
// containers/image never takes, and is not counted.
import t from 'tap';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { openSession, pushImage, type PushedImage } from '../harness/push.ts';
import { parsePlatform } from '../../src/reference/platform.ts';
import type { Platform } from '../../src/registry/resolution.ts';
import { clientFor, ref } from './registry-fixture.ts';

let reg: TestRegistry;
let child: PushedImage;
const P = (s: string): Platform => parsePlatform(s)!;

async function putList(tag: string, mediaType: string, entryType: string): Promise<void> {
  const session = openSession(reg);
  try {
    const got = await session.request('GET', `/v2/bare/app/manifests/${child.digest}`, { repository: 'bare/app', headers: { accept: child.mediaType } });
    const body = JSON.stringify({ schemaVersion: 2, mediaType, manifests: [{ mediaType: entryType, digest: child.digest, size: got.body.length }] });
    const put = await session.request('PUT', `/v2/bare/app/manifests/${tag}`, { repository: 'bare/app', headers: { 'content-type': mediaType }, body });
    if (put.status !== 201) throw new Error(`${tag}: ${put.status} ${put.body.toString()}`);
  } finally {
    await session.close();
  }
}

t.before(async () => {
  reg = await startRegistry({ auth: 'none' });
  child = await pushImage(reg, { repository: 'bare/app', tag: 'single', format: 'oci', platforms: [P('linux/amd64')] });
  await putList('oci', 'application/vnd.oci.image.index.v1+json', child.mediaType);
  const docker = await pushImage(reg, { repository: 'bare/app', tag: 'single-docker', format: 'docker', platforms: [P('linux/amd64')] });
  child = docker;
  await putList('docker', 'application/vnd.docker.distribution.manifest.list.v2+json', docker.mediaType);
});
t.teardown(() => reg.stop());

const client = () => clientFor({ [reg.host]: { caFile: reg.caFile } });

t.test('an OCI index entry without a platform is read from its config and counted', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const miss = await c.resolve(ref(`${reg.host}/bare/app:oci`), { platforms: [P('linux/arm64')], credentials: [] });
  t.equal(miss.reason, 'PlatformMismatch', miss.detail ?? '');
  t.same(miss.platforms, [P('linux/amd64')], 'the child config says amd64');
  t.equal(miss.platformless, 1);
  const hit = await c.resolve(ref(`${reg.host}/bare/app:oci`), { platforms: [P('linux/amd64')], credentials: [] });
  t.equal(hit.reason, 'Resolved');
  t.equal(hit.platformless, 1, 'counted on a match too: the verdict asks each node\'s runtime');
});

t.test('a Docker list entry without a platform is read from its config but not counted', async (t) => {
  const c = client();
  t.teardown(() => c.close());
  const r = await c.resolve(ref(`${reg.host}/bare/app:docker`), { platforms: [P('linux/arm64')], credentials: [] });
  t.equal(r.reason, 'PlatformMismatch', r.detail ?? '');
  t.same(r.platforms, [P('linux/amd64')]);
  t.equal(r.platformless, undefined);
});
