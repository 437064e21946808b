// The serving certificate, read from files and swapped in without a restart when they change
// (cert-manager and kubelet secret projection replace the files behind a symlink).
import { readFileSync, statSync, unwatchFile, watchFile } from 'node:fs';
import { createSecureContext } from 'node:tls';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
}

export type TlsLoad = { ok: true; material: TlsMaterial } | { ok: false; error: string };

export function loadTls(certFile: string, keyFile: string): TlsLoad {
  let cert: Buffer;
  let key: Buffer;
  try {
    cert = readFileSync(certFile);
    key = readFileSync(keyFile);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, error: `cannot read TLS ${e.path === keyFile ? 'key' : 'certificate'} ${e.path ?? ''}: ${e.code ?? e.message} (run certs/dev-certs.sh for development certificates)` };
  }
  try {
    // Fails on a key that does not match the certificate, or on garbage.
    createSecureContext({ cert, key });
  } catch (err) {
    return { ok: false, error: `TLS certificate ${certFile} and key ${keyFile} are not a usable pair: ${(err as Error).message}` };
  }
  return { ok: true, material: { cert, key } };
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
