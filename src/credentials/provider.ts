// The kubelet's image credential provider plugins, run as the kubelet runs them: for an image matching a provider's
// matchImages, exec the plugin with a CredentialProviderRequest on stdin, read the CredentialProviderResponse on
// stdout, cache its `auth` by cacheKeyType for cacheDuration (or defaultCacheDuration), one exec per image at a time.
// From kubernetes pkg/credentialprovider/plugin/plugin.go (pluginProvider.provide, execPlugin.ExecPlugin), master
// at 01302639. Answers never wait past the caller's deadline; a plugin that is slow or fails gives no credentials
// and says why in one short line (never its stdout, which may hold secrets).
import { spawn, type ChildProcess } from 'node:child_process';
import type { ValidateFunction } from 'ajv';
import { ajv } from '../schema.ts';
import type { CredentialEntry } from './dockerconfig.ts';
import { urlsMatch } from './keyring.ts';
import { parseGoDuration, type CredentialProviderSpec } from './provider-config.ts';
import { Singleflight } from '../registry/index.ts';

/** The kubelet's catch-all exec timeout (plugin.go: 1 minute). A late caller stops waiting long before. */
export const EXEC_TIMEOUT_MS = 60_000;
/** pullguard's own choice: a failed image is not exec'd again for this long (100 replicas, one exec). */
export const FAILURE_HOLD_MS = 5_000;
/** pullguard's own choice: at most this many executions of one plugin at once. */
const MAX_CONCURRENT_EXECS = 4;
const MAX_STDOUT_BYTES = 1024 * 1024;
const MAX_STDERR_BYTES = 8 * 1024;
const GLOBAL_CACHE_KEY = 'global';
const MAX_CACHE_ENTRIES = 10_000;

export interface ProviderLog {
  warn(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
}

/** What the providers matching one image gave. */
export interface ProviderOutcome {
  /** Names of the providers whose matchImages match the image, in config order. */
  matched: string[];
  /**
   * Keyring entries from the providers that answered, in config order: the kubelet registers providers in config
   * order and adds each one's auth to one keyring in turn (plugins.go, master; older releases sorted them by name).
   */
  entries: CredentialEntry[];
  /** Matching providers that gave nothing usable, with a short reason safe to show to users. */
  unavailable: { provider: string; why: string }[];
}

export interface CredentialProviders {
  readonly providers: readonly CredentialProviderSpec[];
  /** Do any providers match this image (`registry/repository`)? No plugin runs. */
  matches(image: { registry: string; repository: string }): boolean;
  /**
   * `signal`: the review's own end. A plugin execution is killed (or, queued, never started) once every review
   * waiting for it has ended; without a signal it runs on and its answer serves later lookups.
   */
  provide(image: { registry: string; repository: string }, deadline: number, signal?: AbortSignal): Promise<ProviderOutcome>;
  /** Kill running plugins; later calls give nothing. */
  close(): Promise<void>;
}

export interface CredentialProvidersOptions {
  clock?: () => number;
  log?: ProviderLog;
  /** Base environment of the plugins; the kubelet passes its own (os.Environ) before the config's `env`. */
  environment?: NodeJS.ProcessEnv;
  execTimeoutMs?: number;
  /** Called once per plugin execution (metrics, tests). */
  onExec?: (provider: string, outcome: 'ok' | 'error') => void;
}

type ExecResult = { ok: true; auth: Map<string, { username: string; password: string }>; cacheKeyType: 'Image' | 'Registry' | 'Global'; cacheMs: number | undefined } | { ok: false; why: string };

const responseSchema = {
  type: 'object',
  // The kubelet's decoder is strict: unknown fields fail the response.
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'cacheKeyType'],
  properties: {
    apiVersion: { type: 'string' },
    kind: { const: 'CredentialProviderResponse' },
    cacheKeyType: { enum: ['Image', 'Registry', 'Global'] },
    cacheDuration: { type: 'string' },
    auth: {
      type: 'object',
      additionalProperties: { type: 'object', additionalProperties: false, properties: { username: { type: 'string' }, password: { type: 'string' } } },
    },
  },
} as const;
let responseValidator: ValidateFunction | undefined;
const validateResponse = (doc: unknown): boolean => (responseValidator ??= ajv.compile(responseSchema))(doc);

/** One line of a plugin's stderr fit for a user-facing message: printable, short, no long token-like runs. */
export function sanitiseStderr(stderr: string): string {
  const line = stderr.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '') ?? '';
  const printable = line.replace(/[^\x20-\x7e]/g, '?').replace(/[A-Za-z0-9+/=_.-]{32,}/g, '[redacted]');
  return printable.length > 160 ? `${printable.slice(0, 157)}...` : printable;
}

interface CacheEntry {
  entries: CredentialEntry[];
  expiresAt: number;
}

class Provider {
  readonly #cache = new Map<string, CacheEntry>();
  readonly #inflight = new Singleflight<ExecResult>();
  readonly #failed = new Map<string, { until: number; why: string }>();
  readonly #children = new Set<ChildProcess>();
  readonly #queue: (() => void)[] = [];
  #running = 0;
  #closed = false;
  readonly spec: CredentialProviderSpec;
  readonly #opts: CredentialProvidersOptions;
  readonly #clock: () => number;

  constructor(spec: CredentialProviderSpec, opts: CredentialProvidersOptions) {
    this.spec = spec;
    this.#opts = opts;
    this.#clock = opts.clock ?? Date.now;
  }

  readonly #matchMemo = new Map<string, boolean>();

  /** isImageAllowed: any matchImages glob matches with URLsMatchStr. Remembered: the same images come back. */
  matches(image: string): boolean {
    let hit = this.#matchMemo.get(image);
    if (hit === undefined) {
      hit = this.spec.matchImages.some((m) => urlsMatch(m, image));
      if (this.#matchMemo.size >= MAX_CACHE_ENTRIES) this.#matchMemo.clear();
      this.#matchMemo.set(image, hit);
    }
    return hit;
  }

  /** Cached credentials for the image: by image, then by its registry, then global (getCachedCredentials). */
  #cached(image: string): CredentialEntry[] | undefined {
    const now = this.#clock();
    for (const key of [`i:${image}`, `r:${registryOf(image)}`, `g:${GLOBAL_CACHE_KEY}`]) {
      const hit = this.#cache.get(key);
      if (hit === undefined) continue;
      if (now > hit.expiresAt) {
        this.#cache.delete(key);
        continue;
      }
      return hit.entries;
    }
    return undefined;
  }

  /** The plugin's credentials for an image, from cache or one (coalesced) execution. */
  async credentials(image: string, signal?: AbortSignal): Promise<{ ok: true; entries: CredentialEntry[] } | { ok: false; why: string }> {
    const cached = this.#cached(image);
    if (cached) return { ok: true, entries: cached };
    const held = this.#failed.get(image);
    if (held && this.#clock() < held.until) return { ok: false, why: held.why };
    // singleflight by image, as the kubelet: concurrent lookups of one image share one execution, killed once
    // every lookup waiting for it has been abandoned (the reviews ended).
    const result = await this.#inflight.share(image, (shared) => this.#limited(() => this.#exec(image, shared), shared), signal ? { signal, gaveUp: () => ABANDONED } : undefined).promise;
    if (!result.ok) return result;
    return { ok: true, entries: this.#store(image, result) };
  }

  #store(image: string, result: Extract<ExecResult, { ok: true }>): CredentialEntry[] {
    const source = `credential provider ${this.spec.name}`;
    const entries: CredentialEntry[] = [...result.auth].map(([key, a]) => ({ key, source, ...(a.username ? { username: a.username } : {}), ...(a.password ? { password: a.password } : {}) }));
    // cacheDuration "0s": not cached; absent: defaultCacheDuration, itself 0 meaning not cached.
    const ms = result.cacheMs ?? this.spec.defaultCacheDurationMs;
    if (ms > 0) {
      const key = result.cacheKeyType === 'Image' ? `i:${image}` : result.cacheKeyType === 'Registry' ? `r:${registryOf(image)}` : `g:${GLOBAL_CACHE_KEY}`;
      if (this.#cache.size >= MAX_CACHE_ENTRIES) this.#cache.clear();
      this.#cache.set(key, { entries, expiresAt: this.#clock() + ms });
    }
    return entries;
  }

  async #limited(work: () => Promise<ExecResult>, signal: AbortSignal): Promise<ExecResult> {
    if (this.#running >= MAX_CONCURRENT_EXECS) await new Promise<void>((resolve) => this.#queue.push(resolve));
    // Abandoned while it waited for a turn: never started; the turn goes to the next.
    if (signal.aborted) {
      this.#queue.shift()?.();
      return ABANDONED;
    }
    this.#running++;
    try {
      return await work();
    } finally {
      this.#running--;
      this.#queue.shift()?.();
    }
  }

  async #exec(image: string, signal: AbortSignal): Promise<ExecResult> {
    const result = this.#closed ? ({ ok: false, why: 'pullguard is shutting down' } as const) : await this.#run(image, signal);
    this.#opts.onExec?.(this.spec.name, result.ok ? 'ok' : 'error');
    // Killed because no review waited any more: not the plugin's failure, so it is not held against the image.
    if (signal.aborted && !result.ok) return result;
    if (!result.ok) {
      this.#failed.set(image, { until: this.#clock() + FAILURE_HOLD_MS, why: result.why });
      if (this.#failed.size > MAX_CACHE_ENTRIES) this.#failed.clear();
      this.#opts.log?.warn({ provider: this.spec.name, image, why: result.why }, 'credential provider plugin gave no credentials');
    } else {
      this.#failed.delete(image);
      this.#opts.log?.debug({ provider: this.spec.name, image, registries: [...result.auth.keys()], cacheKeyType: result.cacheKeyType }, 'credential provider plugin answered');
    }
    return result;
  }

  #run(image: string, stop: AbortSignal): Promise<ExecResult> {
    const spec = this.spec;
    // ExecPlugin: the kubelet's environment, then the config's env (later wins), args as given.
    const env: NodeJS.ProcessEnv = { ...(this.#opts.environment ?? process.env) };
    for (const v of spec.env) env[v.name] = v.value;
    const request = JSON.stringify({ kind: 'CredentialProviderRequest', apiVersion: spec.apiVersion, image });
    return new Promise<ExecResult>((resolve) => {
      let child: ChildProcess;
      try {
        // Its own process group, so a kill also reaches whatever the plugin started (a helper still holding stdout).
        child = spawn(spec.path, spec.args, { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      } catch (err) {
        resolve({ ok: false, why: `could not run ${spec.path} (${(err as NodeJS.ErrnoException).code ?? 'error'})` });
        return;
      }
      this.#children.add(child);
      const out: Buffer[] = [];
      const errOut: Buffer[] = [];
      let outBytes = 0;
      let errBytes = 0;
      let failure: string | undefined;
      const timeoutMs = this.#opts.execTimeoutMs ?? EXEC_TIMEOUT_MS;
      const timer = setTimeout(() => {
        failure = `did not answer within ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`}`;
        killGroup(child);
      }, timeoutMs);
      const abandon = (): void => {
        failure ??= ABANDONED.why;
        killGroup(child);
      };
      stop.addEventListener('abort', abandon, { once: true });
      child.stdout?.on('data', (b: Buffer) => {
        outBytes += b.length;
        if (outBytes > MAX_STDOUT_BYTES) {
          failure = 'wrote more than 1 MiB to stdout';
          killGroup(child);
        } else out.push(b);
      });
      child.stderr?.on('data', (b: Buffer) => {
        if (errBytes < MAX_STDERR_BYTES) errOut.push(b);
        errBytes += b.length;
      });
      // A plugin that exits without reading stdin: EPIPE is not our failure, its exit status tells.
      child.stdin?.on('error', () => {});
      child.stdin?.end(request);
      child.on('error', (err: NodeJS.ErrnoException) => {
        failure ??= `could not run ${spec.path} (${err.code ?? 'error'})`;
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        stop.removeEventListener('abort', abandon);
        this.#children.delete(child);
        const stderr = sanitiseStderr(Buffer.concat(errOut).toString('utf8'));
        if (failure) return resolve({ ok: false, why: failure });
        if (this.#closed) return resolve({ ok: false, why: 'pullguard is shutting down' });
        if (code !== 0) return resolve({ ok: false, why: `exited with ${signal ? `signal ${signal}` : `status ${code}`}${stderr ? `: ${stderr}` : ''}` });
        resolve(this.#decode(Buffer.concat(out)));
      });
    });
  }

  /** The response, checked as ExecPlugin and decodeResponse check it; errors never quote stdout. */
  #decode(stdout: Buffer): ExecResult {
    let doc: unknown;
    try {
      doc = JSON.parse(stdout.toString('utf8'));
    } catch {
      return { ok: false, why: 'wrote something other than a JSON CredentialProviderResponse to stdout' };
    }
    const apiVersion = typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as { apiVersion?: unknown }).apiVersion : undefined;
    if (apiVersion !== this.spec.apiVersion) {
      const actual = typeof apiVersion === 'string' ? apiVersion.slice(0, 80).replace(/[^\x20-\x7e]/g, '?') : '(none)';
      return { ok: false, why: `answered with apiVersion ${actual}, but the config says ${this.spec.apiVersion}` };
    }
    if (!validateResponse(doc)) {
      const e = responseValidator?.errors?.[0];
      const where = e?.instancePath ? e.instancePath.split('/').slice(0, 2).join('/') : '';
      return { ok: false, why: `answered with a CredentialProviderResponse the kubelet cannot decode (${where ? `${where}: ` : ''}${e?.keyword === 'additionalProperties' ? 'unknown field' : (e?.message ?? 'invalid')})` };
    }
    const r = doc as { cacheKeyType: 'Image' | 'Registry' | 'Global'; cacheDuration?: string; auth?: Record<string, { username?: string; password?: string }> };
    let cacheMs: number | undefined;
    if (r.cacheDuration !== undefined) {
      cacheMs = parseGoDuration(r.cacheDuration);
      if (cacheMs === undefined) return { ok: false, why: 'answered with a cacheDuration that is not a duration' };
    }
    const auth = new Map(Object.entries(r.auth ?? {}).map(([k, v]) => [k, { username: v.username ?? '', password: v.password ?? '' }]));
    return { ok: true, auth, cacheKeyType: r.cacheKeyType, cacheMs };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const child of this.#children) killGroup(child);
    for (const resolve of this.#queue.splice(0)) resolve();
  }
}

/** What a lookup gets for a plugin execution nobody waits for any more (or it stopped waiting for). */
const ABANDONED = { ok: false, why: 'was stopped: no review waited for its answer any more' } as const;

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    else child.kill('SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** parseRegistry: everything before the first `/` of the image. */
function registryOf(image: string): string {
  return image.split('/')[0] ?? image;
}

const TOKEN_MODE_WHY = 'needs service-account tokens (tokenAttributes, KEP-4412): the kubelet calls it with each pod\'s own token, which pullguard does not do yet';

export function createCredentialProviders(specs: CredentialProviderSpec[], opts: CredentialProvidersOptions = {}): CredentialProviders {
  const providers = specs.map((s) => new Provider(s, opts));
  const clock = opts.clock ?? Date.now;
  const target = (image: { registry: string; repository: string }) => (image.repository ? `${image.registry}/${image.repository}` : image.registry);
  return {
    providers: specs,
    matches(image) {
      const t = target(image);
      return providers.some((p) => p.matches(t));
    },
    async provide(image, deadline, signal) {
      const t = target(image);
      const matching = providers.filter((p) => p.matches(t));
      const outcome: ProviderOutcome = { matched: matching.map((p) => p.spec.name), entries: [], unavailable: [] };
      if (matching.length === 0) return outcome;
      const answers = await Promise.all(matching.map(async (p) => {
        if (p.spec.tokenAttributes) return { ok: false as const, why: TOKEN_MODE_WHY };
        return waitUntil(p.credentials(t, signal), deadline, clock, () => ({ ok: false as const, why: 'did not answer before the review\'s deadline (it goes on running; a later review uses its answer if the plugin lets it be cached)' }));
      }));
      answers.forEach((a, i) => {
        const name = matching[i]?.spec.name ?? '';
        if (a.ok) outcome.entries.push(...a.entries);
        else outcome.unavailable.push({ provider: name, why: a.why });
      });
      return outcome;
    },
    async close() {
      await Promise.all(providers.map((p) => p.close()));
    },
  };
}

function waitUntil<T>(p: Promise<T>, deadline: number, clock: () => number, late: () => T): Promise<T> {
  const left = deadline - clock();
  if (left <= 0) return Promise.resolve(late());
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<T>((resolve) => (timer = setTimeout(() => resolve(late()), left)))]).finally(() => clearTimeout(timer));
}

/**
 * Providers whose configuration can be replaced (a reloaded CredentialProviderConfig): new lookups use the new
 * plugins; the old ones are closed after `graceMs`, so lookups already running on them finish (the kubelet reads
 * its config once, but its plugins and config may change with a node image roll-out that pullguard follows).
 */
export function swappableCredentialProviders(initial: CredentialProviders, graceMs = EXEC_TIMEOUT_MS): CredentialProviders & { swap(next: CredentialProviders): void } {
  let current = initial;
  const retiring = new Set<CredentialProviders>();
  return {
    get providers() {
      return current.providers;
    },
    matches: (image) => current.matches(image),
    provide: (image, deadline) => current.provide(image, deadline),
    swap(next) {
      const old = current;
      current = next;
      retiring.add(old);
      setTimeout(() => {
        retiring.delete(old);
        void old.close();
      }, graceMs).unref();
    },
    async close() {
      await Promise.all([current.close(), ...[...retiring].map((p) => p.close())]);
    },
  };
}
