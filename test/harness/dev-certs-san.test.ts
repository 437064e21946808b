// certs/dev-certs.sh --san: extra names and addresses for the serving certificate, so the chart's off-cluster flow
// (webhook.url=https://<my IP>:8443/validate with tls.caBundle from the dev CA) passes the API server's TLS check.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { makeTempDir } from './lifecycle.ts';
import { runDevCerts } from './pki.ts';
import { template } from '../chart/render.ts';

const run = promisify(execFile);
const x509 = async (file: string, ...args: string[]) => (await run('openssl', ['x509', '-in', file, '-noout', ...args])).stdout;

t.test('--san adds IP addresses and DNS names to the defaults', async (t) => {
  const dir = makeTempDir('devcerts-san');
  await runDevCerts(dir, {}, ['--san', 'IP:192.168.1.20', '--san=DNS:foo.example']);
  const crt = join(dir, 'tls.crt');
  t.match(await x509(crt, '-checkip', '192.168.1.20'), /does match/);
  t.match(await x509(crt, '-checkhost', 'foo.example'), /does match/);
  const names = await x509(crt, '-ext', 'subjectAltName');
  for (const san of ['DNS:localhost', 'DNS:pullguard.pullguard.svc', 'IP Address:127.0.0.1', 'IP Address:192.168.1.20', 'DNS:foo.example']) t.match(names, san);
  t.match(await x509(crt, '-checkip', '192.168.1.21'), /does NOT match/, 'only the names asked for');
});

t.test('a run without --san keeps a certificate that has them; a new --san re-issues it from the same CA', async (t) => {
  const dir = makeTempDir('devcerts-san');
  await runDevCerts(dir, {}, ['--san', 'IP:192.168.1.20']);
  const ca = readFileSync(join(dir, 'ca.crt'), 'utf8');
  t.match((await runDevCerts(dir)).stdout, /is current/, 'npm start re-runs the script without --san');
  t.match((await runDevCerts(dir, {}, ['--san', 'IP:192.168.1.20'])).stdout, /is current/);
  t.match((await runDevCerts(dir, {}, ['--san', 'IP:10.1.2.3'])).stdout, /re-issued/);
  t.match(await x509(join(dir, 'tls.crt'), '-checkip', '10.1.2.3'), /does match/);
  t.equal(readFileSync(join(dir, 'ca.crt'), 'utf8'), ca, 'a caBundle already handed out keeps working');
});

t.test('a --san that is not IP:<address> or DNS:<name> is refused', async (t) => {
  for (const bad of ['192.168.1.20', 'IP:', 'DNS:', 'URI:https://x', 'IP:1.2.3.4,DNS:evil', 'DNS:a b']) {
    await t.rejects(runDevCerts(makeTempDir('devcerts-san'), {}, ['--san', bad]), { code: 2 }, bad);
  }
  await t.rejects(runDevCerts(makeTempDir('devcerts-san'), {}, ['--san']), { code: 2 }, 'no value');
});

t.test("the chart README's off-cluster flow: the API server would trust the URL's certificate", async (t) => {
  const dir = makeTempDir('devcerts-san');
  await runDevCerts(dir, {}, ['--san', 'IP:192.168.1.20']);
  // As written in charts/pullguard/README.md: --set tls.caBundle="$(base64 -w0 certs/out/ca.crt)".
  const caBundle = (await run('base64', ['-w0', join(dir, 'ca.crt')])).stdout;
  const url = 'https://192.168.1.20:8443/validate';
  const r = template({ webhook: { external: true, url }, tls: { caBundle } });
  t.notOk(r.has('Deployment'), 'only the webhook configuration');
  const hook = r.one<V1ValidatingWebhookConfiguration>('ValidatingWebhookConfiguration').webhooks?.[0];
  t.equal(hook?.clientConfig.url, url);
  const bundle = join(dir, 'bundle.pem');
  writeFileSync(bundle, Buffer.from(hook?.clientConfig.caBundle ?? '', 'base64'));
  // What the API server checks: the chain to caBundle, and the URL's host among the certificate's names.
  const host = new URL(url).hostname;
  const verified = await run('openssl', ['verify', '-CAfile', bundle, '-purpose', 'sslserver', '-verify_ip', host, join(dir, 'tls.crt')]);
  t.match(verified.stdout, /: OK/);
  await t.rejects(run('openssl', ['verify', '-CAfile', bundle, '-verify_ip', '192.168.1.99', join(dir, 'tls.crt')]), 'another address fails');
  const readme = readFileSync(join(import.meta.dirname, '../../charts/pullguard/README.md'), 'utf8');
  t.match(readme, 'bash certs/dev-certs.sh --san IP:192.168.1.20', 'the README makes the certificate this way');
  t.match(readme, 'webhook.url=https://192.168.1.20:8443/validate');
});
