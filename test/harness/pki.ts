// A throwaway CA and a serving certificate for 127.0.0.1, localhost and ::1, made by certs/dev-certs.sh
// (so every test run exercises the script too). One PKI per test process.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeTempDir } from './lifecycle.ts';

const run = promisify(execFile);

export const DEV_CERTS_SCRIPT = fileURLToPath(new URL('../../certs/dev-certs.sh', import.meta.url));

export interface TestPki {
  dir: string;
  caFile: string;
  caPem: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  keyPem: string;
}

/** Runs certs/dev-certs.sh into `outDir` (extra env such as SERVICE, NAMESPACE; extra args such as --force). */
export async function runDevCerts(outDir: string, env: Record<string, string> = {}, args: string[] = []): Promise<{ stdout: string; stderr: string }> {
  return run('bash', [DEV_CERTS_SCRIPT, ...args], { env: { ...process.env, ...env, OUT_DIR: outDir } });
}

/** Reads a dev-certs.sh output directory. */
export async function readPki(dir: string): Promise<TestPki> {
  const caFile = join(dir, 'ca.crt');
  const certFile = join(dir, 'tls.crt');
  const keyFile = join(dir, 'tls.key');
  const [caPem, certPem, keyPem] = await Promise.all([caFile, certFile, keyFile].map((f) => readFile(f, 'utf8')));
  return { dir, caFile, caPem: caPem!, certFile, keyFile, certPem: certPem!, keyPem: keyPem! };
}

/** A fresh PKI in its own temp dir (not cached): for a second, unrelated CA. */
export async function makeFreshPki(name = 'pki'): Promise<TestPki> {
  const dir = makeTempDir(name);
  await runDevCerts(dir);
  return readPki(dir);
}

let cached: Promise<TestPki> | undefined;

export async function makeTestPki(): Promise<TestPki> {
  cached ??= makeFreshPki().catch((err: unknown) => {
    cached = undefined;
    throw err;
  });
  return cached;
}
