// Serving certificates made in the test with openssl, signed by a dev-certs.sh CA: valid for a chosen window
// (already expired, not yet valid, expiring soon) and with an EC or RSA key, to feed the webhook bad pairs.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { TestPki } from '../harness/pki.ts';

const run = promisify(execFile);

export interface Issued {
  certFile: string;
  keyFile: string;
  certPem: string;
}

/** openssl ca's date form: YYYYMMDDHHMMSSZ. */
function asn1Time(ms: number): string {
  return `${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

let serial = 0;

/** A certificate for 127.0.0.1 and localhost, signed by `ca`, valid from `notBefore` to `notAfter` (epoch ms). */
export async function issue(ca: TestPki, dir: string, name: string, opts: { notBefore: number; notAfter: number; key?: 'ec' | 'rsa' }): Promise<Issued> {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  const csr = join(dir, `${name}.csr`);
  const conf = join(dir, `${name}.cnf`);
  const db = join(dir, `${name}.index`);
  writeFileSync(db, '');
  writeFileSync(join(dir, `${name}.serial`), `${(++serial + 0x1000).toString(16)}\n`);
  writeFileSync(conf, [
    '[ca]', 'default_ca = testca',
    '[testca]', `database = ${db}`, `new_certs_dir = ${dir}`, `serial = ${join(dir, `${name}.serial`)}`, 'default_md = sha256', 'policy = any', 'unique_subject = no',
    '[any]', 'commonName = supplied',
    '[ext]', 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature,keyEncipherment', 'extendedKeyUsage = serverAuth', 'subjectAltName = IP:127.0.0.1,DNS:localhost',
    '',
  ].join('\n'));
  if (opts.key === 'rsa') await run('openssl', ['genrsa', '-out', keyFile, '2048']);
  else await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
  await run('openssl', ['req', '-new', '-key', keyFile, '-subj', `/CN=${name}`, '-out', csr]);
  await run('openssl', ['ca', '-batch', '-config', conf, '-cert', ca.caFile, '-keyfile', join(ca.dir, 'ca.key'),
    '-in', csr, '-out', certFile, '-startdate', asn1Time(opts.notBefore), '-enddate', asn1Time(opts.notAfter), '-extensions', 'ext', '-notext']);
  return { certFile, keyFile, certPem: readFileSync(certFile, 'utf8') };
}

/** A lone key (not belonging to any certificate). */
export async function lonelyKey(dir: string, name: string, type: 'ec' | 'rsa'): Promise<string> {
  const keyFile = join(dir, `${name}.key`);
  if (type === 'rsa') await run('openssl', ['genrsa', '-out', keyFile, '2048']);
  else await run('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', keyFile]);
  return keyFile;
}
