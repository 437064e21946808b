// A throwaway CA and a serving certificate for 127.0.0.1, localhost and ::1, made by certs/dev-certs.sh.
// makeTestPki() shares one such PKI between every test process of a run (and later runs): dev-certs.sh costs
// bash and eight openssl processes, and servers in almost every test file need a certificate; the registry token
// signer shares a second one (makeSharedPki('token-ca')). The script keeps its own tests (dev-certs*.test.ts); a
// file that needs a CA of its own uses makeFreshPki().
import { execFile } from 'node:child_process';
import { createHash, createPrivateKey, randomBytes, X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { makeTempDir } from './lifecycle.ts';

const run = promisify(execFile);

export const DEV_CERTS_SCRIPT = fileURLToPath(new URL('../../certs/dev-certs.sh', import.meta.url));

/** Where the shared PKI lives: beside helm's extraction, out of git (node_modules is ignored) and out of /tmp. */
export const SHARED_PKI_ROOT = fileURLToPath(new URL('../../node_modules/.cache/pullguard-test-pki', import.meta.url));

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

const DAY_MS = 86_400_000;

/**
 * Whether a PKI is whole and good for at least another day, as dev-certs.sh itself requires before it reuses one:
 * both certificates valid, the serving certificate issued and signed by the CA, its key the certificate's, both
 * keys private to their owner, and the names the servers in tests are reached by.
 */
export function usablePki(pki: TestPki, now = Date.now()): boolean {
  try {
    const ca = new X509Certificate(pki.caPem);
    const cert = new X509Certificate(pki.certPem);
    for (const c of [ca, cert]) {
      if (Date.parse(c.validFrom) > now || Date.parse(c.validTo) <= now + DAY_MS) return false;
    }
    if (!ca.ca || cert.ca || !cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return false;
    if (!cert.checkPrivateKey(createPrivateKey(pki.keyPem))) return false;
    for (const key of [pki.keyFile, join(pki.dir, 'ca.key')]) {
      if ((statSync(key).mode & 0o077) !== 0) return false;
    }
    return cert.checkHost('localhost') !== undefined && cert.checkIP('127.0.0.1') !== undefined && cert.checkIP('::1') !== undefined;
  } catch {
    return false;
  }
}

/** The published PKI `name` for this version of dev-certs.sh: a symlink, swapped atomically, to the directory holding it. */
function sharedLink(root: string, name: string): string {
  const version = createHash('sha256').update(readFileSync(DEV_CERTS_SCRIPT)).digest('hex').slice(0, 16);
  return join(root, `current-${name}-${version}`);
}

async function readShared(link: string): Promise<TestPki | undefined> {
  let dir: string;
  try {
    // Resolved once: a process keeps the directory it started with even if another one publishes a newer PKI.
    dir = realpathSync(link);
  } catch {
    return undefined;
  }
  const pki = await readPki(dir).catch(() => undefined);
  return pki && usablePki(pki) ? pki : undefined;
}

/**
 * Whether an unpublished directory (a lost race, a replaced or a failed build) can go: nobody can still be using it
 * once its certificate has expired, a day after it lost a race, or an hour after a build that never finished.
 */
function abandoned(dir: string, now: number): boolean {
  const age = now - statSync(dir).mtimeMs;
  let validTo: number;
  try {
    validTo = Date.parse(new X509Certificate(readFileSync(join(dir, 'tls.crt'))).validTo);
  } catch {
    return age > 3_600_000;
  }
  return validTo <= now || (age > DAY_MS && validTo > now + DAY_MS);
}

function sweepUnpublished(root: string, keep: string): void {
  const names = readdirSync(root);
  const published = new Set<string>([keep]);
  for (const name of names) {
    if (!name.startsWith('current-')) continue;
    try {
      published.add(realpathSync(join(root, name)));
    } catch {
      // A dangling link keeps nothing alive.
    }
  }
  const now = Date.now();
  for (const name of names) {
    const path = join(root, name);
    if (!name.startsWith('pki-') || published.has(path)) continue;
    try {
      if (abandoned(path, now)) rmSync(path, { recursive: true, force: true });
    } catch {
      // Swept by a concurrent process.
    }
  }
}

/**
 * The shared PKI, made by dev-certs.sh the first time (or when it is no longer usable). Safe when test processes
 * race: each builds in a private directory and publishes it by renaming a symlink over the old one; a process that
 * finds a usable PKI published while it was building uses that one and drops its own.
 */
export async function sharedPki(cacheRoot = SHARED_PKI_ROOT, name = 'test'): Promise<TestPki> {
  const existing = await readShared(sharedLink(cacheRoot, name));
  if (existing) return existing;
  mkdirSync(cacheRoot, { recursive: true });
  // Real paths from here on (node_modules may be a symlink), so the sweep recognises what the links point at.
  const root = realpathSync(cacheRoot);
  const link = sharedLink(root, name);
  const dir = mkdtempSync(join(root, 'pki-'));
  try {
    await runDevCerts(dir);
    if (!usablePki(await readPki(dir))) throw new Error(`certs/dev-certs.sh made an unusable PKI in ${dir}`);
    const winner = await readShared(link);
    if (winner) {
      rmSync(dir, { recursive: true, force: true });
      return winner;
    }
    const tmpLink = join(root, `.link-${process.pid}-${randomBytes(4).toString('hex')}`);
    symlinkSync(basename(dir), tmpLink);
    renameSync(tmpLink, link);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  try {
    sweepUnpublished(root, dir);
  } catch {
    // Tidying only: the PKI is published.
  }
  return readPki(dir);
}

const shared = new Map<string, Promise<TestPki>>();

/**
 * The shared PKI `name` (see sharedPki), or a fresh one where node_modules is read-only. Each name is its own CA:
 * 'test' serves every test server (makeTestPki), 'token-ca' signs registry tokens (token-signer.ts).
 */
export async function makeSharedPki(name: string): Promise<TestPki> {
  let pki = shared.get(name);
  if (pki === undefined) {
    pki = sharedPki(SHARED_PKI_ROOT, name)
      .catch((err: unknown) => {
        if (['EACCES', 'EPERM', 'EROFS'].includes((err as NodeJS.ErrnoException).code ?? '')) return makeFreshPki(name);
        throw err;
      })
      .catch((err: unknown) => {
        shared.delete(name);
        throw err;
      });
    shared.set(name, pki);
  }
  return pki;
}

/** The PKI every test server uses, shared between test processes. */
export async function makeTestPki(): Promise<TestPki> {
  return makeSharedPki('test');
}
