// The nodes' files (hosts.toml tree, registries.conf + registries.conf.d, the kubelet's credential provider config)
// come from mounted ConfigMaps, which the kubelet updates in place by swapping a `..data` symlink. They are polled
// by stat, as the serving certificate is (admission/tls.ts: fs.watch misses symlink swaps), and reloaded once a
// change has settled; a reload that fails keeps the model in use.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeRegistries } from './node-hosts.ts';

export interface FileWatch {
  stop(): void;
}

/** Entries a signature looks at per directory: a ConfigMap has a few keys, a hostile mount must not cost more. */
const MAX_ENTRIES = 512;

/** `path` and, for a directory, its entries `depth` levels down: names, sizes, mtimes and inodes (symlinks followed). */
export function fileSignature(path: string, depth: number): string {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    return `${path}:${(e as NodeJS.ErrnoException).code ?? 'error'}`;
  }
  const own = `${path}:${st.size}:${st.mtimeMs}:${st.ino}`;
  if (!st.isDirectory() || depth <= 0) return own;
  let names: string[];
  try {
    names = readdirSync(path).sort().slice(0, MAX_ENTRIES);
  } catch {
    return `${own}:unreadable`;
  }
  return [own, ...names.map((n) => fileSignature(join(path, n), depth - 1))].join('\n');
}

/**
 * Calls `onChange` when the signature of `paths` changed and then stayed the same for one more poll (a ConfigMap
 * update, or someone writing several files, settles before the reload). Timers are unref'd.
 */
export function watchFiles(paths: { path: string; depth: number }[], onChange: () => void, intervalMs = 2000): FileWatch {
  const signature = () => paths.map((p) => fileSignature(p.path, p.depth)).join('\n--\n');
  let loaded = signature();
  let pending: string | undefined;
  const timer = setInterval(() => {
    const now = signature();
    if (now === loaded) {
      pending = undefined;
      return;
    }
    if (now !== pending) {
      pending = now;
      return;
    }
    loaded = now;
    pending = undefined;
    onChange();
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** The paths whose change means the node registry files must be read again. */
export function nodeRegistryPaths(source: { hostsDir?: string; registriesConf?: string; certsDir?: string }): { path: string; depth: number }[] {
  if (source.hostsDir) return [{ path: source.hostsDir, depth: 2 }];
  if (source.registriesConf) return [{ path: source.registriesConf, depth: 0 }, { path: `${source.registriesConf}.d`, depth: 1 }, ...(source.certsDir ? [{ path: source.certsDir, depth: 2 }] : [])];
  return [];
}

/** NodeRegistries whose model can be replaced while requests use it; each plan reads the model of its moment. */
export function swappableNodeRegistries(initial: NodeRegistries): { registries: NodeRegistries; swap(next: NodeRegistries): void } {
  let current = initial;
  return {
    registries: { plan: (ref, written) => current.plan(ref, written) },
    swap(next) {
      current = next;
    },
  };
}
