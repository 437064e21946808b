// The serving certificate, read from files and swapped in without a restart when they change
// (cert-manager and kubelet secret projection replace the files behind a symlink). A pair that cannot serve
// (key of another certificate, expired or not yet valid) is refused: every handshake would fail, and with
// `failurePolicy: Ignore` the webhook would silently stop checking anything.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, statSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext } from 'node:tls';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** The serving (first) certificate's validity, epoch ms. */
  notBefore: number;
  notAfter: number;
}

export type TlsLoad = { ok: true; material: TlsMaterial } | { ok: false; error: string };

export function loadTls(certFile: string, keyFile: string, now: number = Date.now()): TlsLoad {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certFile);
    key = readFileSync(keyFile);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, error: `cannot read TLS ${e.path === keyFile ? 'key' : 'certificate'} ${e.path ?? ''}: ${e.code ?? e.message} (run certs/dev-certs.sh for development certificates)` };
  }
  const pair = `TLS certificate ${certFile} and key ${keyFile}`;
  let x509: X509Certificate;
  try {
    // The first PEM block is the serving certificate; the rest of a chain follows it.
    x509 = new X509Certificate(cert);
  } catch (err) {
    return { ok: false, error: `${pair}: the certificate cannot be parsed: ${(err as Error).message}` };
  }
  try {
    // OpenSSL checks the key against the certificate only when both are of one type: an RSA key beside an
    // EC certificate is accepted by createSecureContext, and then no handshake can succeed.
    if (!x509.checkPrivateKey(createPrivateKey(key))) return { ok: false, error: `${pair}: the key does not belong to the certificate` };
  } catch (err) {
    return { ok: false, error: `${pair}: the key cannot be parsed: ${(err as Error).message}` };
  }
  const notBefore = Date.parse(x509.validFrom);
  const notAfter = Date.parse(x509.validTo);
  if (!(notAfter > now)) return { ok: false, error: `${pair}: the certificate expired at ${new Date(notAfter).toISOString()}` };
  if (!(notBefore <= now)) return { ok: false, error: `${pair}: the certificate is not valid before ${new Date(notBefore).toISOString()}` };
  try {
    // Fails on anything else OpenSSL dislikes (unsupported key, broken chain PEM).
    createSecureContext({ cert, key });
  } catch (err) {
    return { ok: false, error: `${pair} are not a usable pair: ${(err as Error).message}` };
  }
  return { ok: true, material: { cert, key, notBefore, notAfter } };
}

/** Why the serving certificate makes the webhook unready, or undefined while it has more than `windowMs` left. */
export function certificateProblem(material: Pick<TlsMaterial, 'notAfter'>, windowMs: number, now: number = Date.now()): string | undefined {
  const at = new Date(material.notAfter).toISOString();
  if (material.notAfter <= now) return `the serving certificate expired at ${at}`;
  if (material.notAfter - now <= windowMs) return `the serving certificate expires at ${at}, within ${Math.round(windowMs / 1000)} s (server.tlsExpiryWindowSeconds)`;
  return undefined;
}

export interface TlsWatcher {
  stop(): void;
}

/** Polls both files (stat polling survives symlink swaps, which fs.watch does not) and calls back on change. */
export function watchTls(
  certFile: string,
  keyFile: string,
  onChange: (load: TlsLoad) => void,
  intervalMs = 2000,
): TlsWatcher {
  const signature = () => {
    try {
      const c = statSync(certFile);
      const k = statSync(keyFile);
      return `${c.mtimeMs}:${c.size}:${c.ino}/${k.mtimeMs}:${k.size}:${k.ino}`;
    } catch {
      return 'missing';
    }
  };
  let last = signature();
  const check = () => {
    const now = signature();
    if (now === last) return;
    last = now;
    onChange(loadTls(certFile, keyFile));
  };
  watchFile(certFile, { interval: intervalMs, persistent: false }, check);
  watchFile(keyFile, { interval: intervalMs, persistent: false }, check);
  return {
    stop() {
      unwatchFile(certFile, check);
      unwatchFile(keyFile, check);
    },
  };
}
