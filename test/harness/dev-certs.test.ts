import t from 'tap';
import { execFile } from 'node:child_process';
import { chmodSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { makeTempDir } from './lifecycle.ts';
import { makeSharedPki, makeTestPki, readPki, runDevCerts, SHARED_PKI_ROOT, sharedPki, usablePki, type TestPki } from './pki.ts';

const run = promisify(execFile);

async function x509Text(file: string): Promise<string> {
  return (await run('openssl', ['x509', '-in', file, '-noout', '-text'])).stdout;
}

async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of ['ca.crt', 'ca.key', 'tls.crt', 'tls.key']) out[f] = await readFile(join(dir, f), 'utf8');
  return out;
}

t.test('the serving certificate names localhost, the loopback IPs and every in-cluster service name', async (t) => {
  const dir = makeTempDir('devcerts');
  await runDevCerts(dir, { SERVICE: 'pg', NAMESPACE: 'infra' });
  const text = await x509Text(join(dir, 'tls.crt'));
  for (const san of ['DNS:localhost', 'IP Address:127.0.0.1', 'IP Address:0:0:0:0:0:0:0:1', 'DNS:pg,', 'DNS:pg.infra,', 'DNS:pg.infra.svc,', 'DNS:pg.infra.svc.cluster.local']) {
    t.ok(text.includes(san), `SAN ${san}`);
  }
  t.match(text, /TLS Web Server Authentication/);
  t.match(text, /CA:FALSE/);
  t.match(await x509Text(join(dir, 'ca.crt')), /CA:TRUE/);
  await run('openssl', ['verify', '-CAfile', join(dir, 'ca.crt'), join(dir, 'tls.crt')]);
});

t.test('the defaults are service pullguard in namespace pullguard', async (t) => {
  const pki = await makeTestPki();
  t.match(await x509Text(pki.certFile), /DNS:pullguard\.pullguard\.svc\.cluster\.local/);
});

t.test('keys are readable by their owner only', async (t) => {
  const pki = await makeTestPki();
  for (const f of ['ca.key', 'tls.key']) t.equal((await stat(join(pki.dir, f))).mode & 0o777, 0o600, f);
});

t.test('a second run changes nothing; --force regenerates everything', async (t) => {
  const dir = makeTempDir('devcerts');
  await runDevCerts(dir);
  const first = await snapshot(dir);
  const again = await runDevCerts(dir);
  t.match(again.stdout, /is current/);
  t.same(await snapshot(dir), first);
  await runDevCerts(dir, {}, ['--force']);
  const forced = await snapshot(dir);
  for (const f of Object.keys(first)) t.not(forced[f], first[f], `${f} regenerated`);
});

t.test('a certificate valid for a day or less is re-issued from the same CA', async (t) => {
  const dir = makeTempDir('devcerts');
  await runDevCerts(dir, { DAYS: '1' });
  const first = await snapshot(dir);
  const out = await runDevCerts(dir);
  t.match(out.stdout, /re-issued/);
  const second = await snapshot(dir);
  t.equal(second['ca.crt'], first['ca.crt']);
  t.not(second['tls.crt'], first['tls.crt']);
  t.match(await run('openssl', ['x509', '-in', join(dir, 'tls.crt'), '-noout', '-checkend', '86400']).then((r) => r.stdout), /will not expire/);
});

t.test('a different service name re-issues the serving certificate', async (t) => {
  const dir = makeTempDir('devcerts');
  await runDevCerts(dir);
  await runDevCerts(dir, { SERVICE: 'other' });
  t.match(await x509Text(join(dir, 'tls.crt')), /DNS:other\.pullguard\.svc/);
});

t.test('a missing or mismatched key means regeneration, not a broken pair', async (t) => {
  const dir = makeTempDir('devcerts');
  await runDevCerts(dir);
  // Another pair's key: the shared test PKI's.
  await run('cp', [(await makeTestPki()).keyFile, join(dir, 'tls.key')]);
  const out = await runDevCerts(dir);
  t.notMatch(out.stdout, /is current/);
  const pub = async (args: string[]) => (await run('openssl', args)).stdout;
  t.equal(await pub(['x509', '-in', join(dir, 'tls.crt'), '-noout', '-pubkey']), await pub(['pkey', '-in', join(dir, 'tls.key'), '-pubout']));
});

t.test('an unknown argument is refused', async (t) => {
  const dir = makeTempDir('devcerts');
  await t.rejects(runDevCerts(dir, {}, ['--bogus']), { code: 2 });
});

t.test('the test PKI is made once and shared: published in node_modules/.cache, read back by every later process', async (t) => {
  const pki = await makeTestPki();
  t.equal(realpathSync(join(pki.dir, '..')), realpathSync(SHARED_PKI_ROOT));
  t.ok(usablePki(pki));
  const again = await sharedPki();
  t.equal(again.dir, pki.dir, 'a later process finds the published PKI and builds none');
  t.equal(again.keyPem, pki.keyPem);
  const tokenCa = await makeSharedPki('token-ca');
  t.ok(usablePki(tokenCa));
  t.not(tokenCa.caPem, pki.caPem, 'the token signer has a CA of its own');
});

// One temp cache root for the next three, so they cost four runs of the script between them.
const sharedRoot = makeTempDir('shared-pki');
let published: TestPki | undefined;
let replaced: TestPki | undefined;

t.test('processes racing to make the shared PKI all end up with the one published', async (t) => {
  const racers = await Promise.all([sharedPki(sharedRoot), sharedPki(sharedRoot)]);
  const names = readdirSync(sharedRoot).sort();
  t.equal(names.filter((n) => n.startsWith('pki-')).length, 1, 'the loser dropped what it built');
  t.equal(names.filter((n) => n.startsWith('.link-')).length, 0, 'no half-published link');
  const links = names.filter((n) => n.startsWith('current-'));
  t.equal(links.length, 1);
  const target = realpathSync(join(sharedRoot, readlinkSync(join(sharedRoot, links[0]!))));
  for (const pki of racers) t.equal(pki.dir, target);
  t.ok(usablePki(racers[0]!));
  published = racers[0];
});

t.test('a shared PKI that is no longer usable is rebuilt, and the one it replaces is kept until it expires', async (t) => {
  const first = published!;
  // Shorten it to a day, as time would.
  await runDevCerts(first.dir, { DAYS: '1' }, ['--force']);
  replaced = await readPki(first.dir);
  t.notOk(usablePki(replaced), 'valid for a day or less is not usable');
  const next = await sharedPki(sharedRoot);
  t.not(next.dir, first.dir);
  t.ok(usablePki(next));
  t.ok(readdirSync(sharedRoot).includes(basename(first.dir)), 'a process may still be serving from the old one');
  published = next;
});

t.test('a PKI is usable only when whole: key of the certificate, keys private, CA signature', async (t) => {
  const good = published!;
  const other = replaced!;
  t.ok(usablePki(good));
  t.notOk(usablePki({ ...good, keyPem: other.keyPem }), "another certificate's key");
  t.notOk(usablePki({ ...good, caPem: other.caPem }), 'another CA');
  chmodSync(join(good.dir, 'ca.key'), 0o640);
  t.notOk(usablePki(good), 'a group-readable CA key');
  chmodSync(join(good.dir, 'ca.key'), 0o600);
  t.notOk(usablePki({ ...good, certPem: other.certPem }), 'a certificate that does not match its key');
  t.ok(usablePki(good));
});
