// createRegistryClient(): the registry layer's front door. Wires the resolver to its transports and caches,
// coalesces identical in-flight resolutions (one registry round trip for many admission reviews), and
// guarantees resolve() never throws: even our own bugs come back as a RegistryError resolution.
import type { Reference } from '../reference/reference.ts';
import { credentialIdentity } from './auth.ts';
import { withDefaults, type RegistryConfigInput } from './config.ts';
import { formatPlatform } from '../reference/platform.ts';
import type { ProxyEnv } from './proxy.ts';
import { resolution, type Resolution } from './resolution.ts';
import { Resolver, type ResolveOptions } from './resolve.ts';
import { Singleflight } from './singleflight.ts';
import type { Clock, RegistryLogger, RegistryObserver } from './exchange.ts';

export interface RegistryClient {
  /** Never throws. */
  resolve(ref: Reference, opts: ResolveOptions): Promise<Resolution>;
  /**
   * Optional, offered by the resolution cache (resolution-cache.ts): the answer resolve() would give now when it
   * is at hand, without a promise and without asking anyone; undefined otherwise. Never throws.
   */
  peek?(ref: Reference, opts: ResolveOptions): Resolution | undefined;
  close(): Promise<void>;
}

/** The client `createRegistryClient` makes: `renewTransports` after the node files (and their TLS files) changed. */
export interface NodeFollowingRegistryClient extends RegistryClient {
  renewTransports(): void;
}

export interface RegistryClientDeps {
  observer?: RegistryObserver;
  /** Epoch ms; token expiry and deadlines are measured with it. Default Date.now. */
  clock?: Clock;
  logger?: RegistryLogger;
  /** HTTPS_PROXY / HTTP_PROXY / NO_PROXY source. Default process.env. */
  env?: ProxyEnv;
  /** Reads CA files named in the config. Default fs.readFileSync. */
  readFile?: (path: string) => string;
}

function coalesceKey(ref: Reference, opts: ResolveOptions, generation: number): string {
  return JSON.stringify([
    generation,
    ref.canonical,
    opts.platforms.map(formatPlatform),
    opts.credentials.map((c) => [c.source, credentialIdentity(c)]),
    Boolean(opts.nodeCredentials),
    opts.suggestTags !== false,
    opts.image ?? '',
  ]);
}

export function createRegistryClient(config: RegistryConfigInput, deps: RegistryClientDeps = {}): NodeFollowingRegistryClient {
  const resolver = new Resolver(withDefaults(config), {
    clock: deps.clock ?? Date.now,
    env: deps.env ?? process.env,
    ...(deps.observer ? { observer: deps.observer } : {}),
    ...(deps.logger ? { logger: deps.logger } : {}),
    ...(deps.readFile ? { readFile: deps.readFile } : {}),
  });
  const inflight = new Singleflight<Resolution>();
  let closed = false;
  // Bumped by renewTransports: a resolution begun under the old node files is not joined by a later question.
  let generation = 0;

  const safely = async (ref: Reference, opts: ResolveOptions): Promise<Resolution> => {
    let image = '';
    let reference: string | undefined;
    try {
      reference = ref.canonical;
      image = opts.image ?? reference;
      if (closed) return resolution('RegistryError', image, { reference, detail: 'the registry client is closed' });
      return await resolver.resolve(ref, opts);
    } catch (err) {
      deps.logger?.warn({ err: err instanceof Error ? { name: err.name, message: err.message, stack: err.stack } : String(err), image }, 'registry resolution failed unexpectedly');
      return resolution('RegistryError', image, { ...(reference ? { reference } : {}), detail: `internal error while resolving: ${err instanceof Error ? err.message : String(err)}` });
    }
  };

  return {
    resolve(ref, opts) {
      let key: string;
      try {
        key = coalesceKey(ref, opts, generation);
      } catch {
        return safely(ref, opts);
      }
      // A caller's abort (its review's deadline) ends its own wait; the shared lookup is aborted only when no caller
      // waits any more. Signal-free joiners share the first caller's deadline (the CLI's are near-identical).
      if (!opts.signal) return inflight.do(key, () => safely(ref, opts));
      const { deadline: _first, signal: own, ...shared } = opts;
      const image = opts.image ?? ref.canonical;
      return inflight.share(key, (signal) => safely(ref, { ...shared, signal }), {
        signal: own,
        gaveUp: () => resolution('RegistryTimeout', image, { reference: ref.canonical, detail: 'the review deadline was reached before the registry answered' }),
      }).promise;
    },
    renewTransports() {
      generation++;
      resolver.renewTransports();
    },
    async close() {
      closed = true;
      await resolver.close();
    },
  };
}
