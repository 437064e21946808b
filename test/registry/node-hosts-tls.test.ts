// hosts.toml's per-host connection settings reach the wire: `[header]` values on every request to the host, and
// `client` certificate pairs presented in the TLS handshake (a mirror that asks for a client certificate and
// logs what it got). A client file that cannot be read is a clear RegistryError for that host, never a crash.
import t from 'tap';
import { createServer, type Server } from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRegistry, type TestRegistry } from '../harness/registry.ts';
import { pushImage } from '../harness/push.ts';
import { makeTestPki } from '../harness/pki.ts';
import { createRegistryClient } from '../../src/registry/client.ts';
import { hostDirectory, loadHostsDir } from '../../src/registry/hosts-toml.ts';
import { Dispatchers } from '../../src/registry/dispatcher.ts';
import { RegistryError } from '../../src/registry/errors.ts';
import { ref } from './registry-fixture.ts';
import { makeTempDir } from '../harness/lifecycle.ts';

interface Seen {
  path: string;
  custom?: string | string[];
  peer: boolean;
}

let upstream: TestRegistry;
let server: Server;
let mirrorHost = '';
const seen: Seen[] = [];

t.before(async () => {
  upstream = await startRegistry({ auth: 'none' });
  await pushImage(upstream, { repository: 'team/app', tag: 'v1', platforms: [{ os: 'linux', architecture: 'amd64' }] });
  const pki = await makeTestPki();
  // Asks for a client certificate without insisting, and records whether one came: an empty mirror (404s).
  server = createServer({ cert: pki.certPem, key: pki.keyPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate();
    seen.push({ path: req.url ?? '', custom: req.headers['x-custom'], peer: peer !== null && Object.keys(peer).length > 0 });
    if (req.url === '/v2/') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  mirrorHost = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});
t.teardown(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await upstream?.stop();
});

t.test('[header] values and client certificates reach the mirror; the upstream answers what the mirror lacks', async (t) => {
  const pki = await makeTestPki();
  const dir = makeTempDir('certs.d');
  const sub = join(dir, hostDirectory(upstream.host));
  mkdirSync(sub);
  writeFileSync(join(sub, 'ca.pem'), pki.caPem);
  writeFileSync(join(sub, 'client.cert'), pki.certPem);
  writeFileSync(join(sub, 'client.key'), pki.keyPem);
  writeFileSync(join(sub, 'hosts.toml'), `ca = "ca.pem"\n[host."https://${mirrorHost}"]\n  ca = ["ca.pem"]\n  client = [["client.cert", "client.key"]]\n  [host."https://${mirrorHost}".header]\n    x-custom = ["a", "b"]\n`);
  const loaded = loadHostsDir(dir);
  if (!loaded.ok) return t.fail(loaded.errors.join('; '));
  const c = createRegistryClient({ registries: {}, defaults: { requestTimeoutMs: 5000 }, node: loaded.value.registries }, { env: {} });
  t.teardown(() => c.close());
  const before = seen.length;
  const r = await c.resolve(ref(`${upstream.host}/team/app:v1`), { platforms: [], credentials: [] });
  t.equal(r.reason, 'Resolved', r.detail ?? '');
  const got = seen.slice(before).filter((s) => s.path.includes('/manifests/'));
  t.ok(got.length > 0, 'the mirror was asked');
  t.ok(got.every((s) => s.custom === 'a, b'), `every request carried the header: ${JSON.stringify(got.map((s) => s.custom))}`);
  t.ok(got.every((s) => s.peer), 'the client certificate was presented');
});

t.test('a client certificate or key that cannot be read is a RegistryError naming the file', async (t) => {
  const settings = { host: 'mirror.example.com', plainHTTP: false, insecureSkipVerify: false, maxConcurrency: 1 };
  const missing = new Dispatchers({ ...settings, clientPairs: [['/nonexistent/client.cert', '']] }, { env: {}, requestTimeoutMs: 1000 }).for(new URL('https://mirror.example.com/v2/'));
  t.ok(missing instanceof RegistryError);
  if (missing instanceof RegistryError) t.match(missing.message, /cannot read client certificate file \/nonexistent\/client\.cert for mirror\.example\.com/);
  const dir = makeTempDir('client');
  writeFileSync(join(dir, 'junk.pem'), 'not a certificate');
  const junk = new Dispatchers({ ...settings, clientPairs: [[join(dir, 'junk.pem'), join(dir, 'junk.pem')]] }, { env: {}, requestTimeoutMs: 1000 }).for(new URL('https://mirror.example.com/v2/'));
  t.ok(junk instanceof RegistryError);
  if (junk instanceof RegistryError) t.match(junk.message, /junk\.pem.*for mirror\.example\.com cannot be used/);
  const caList = new Dispatchers({ ...settings, caFiles: ['/nonexistent/second-ca.pem'] }, { env: {}, requestTimeoutMs: 1000 }).for(new URL('https://mirror.example.com/v2/'));
  t.ok(caList instanceof RegistryError);
  if (caList instanceof RegistryError) t.match(caList.message, /cannot read CA file \/nonexistent\/second-ca\.pem/);
});
