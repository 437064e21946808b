// A real CNCF Distribution registry (/usr/bin/docker-registry, 2.8) per test, on 127.0.0.1 with an
// ephemeral port, in a temp dir, with auth none, basic (htpasswd) or token (Docker Hub protocol).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { stringify } from 'yaml';
import { htpasswd } from './bcrypt.ts';
import { dieWithParent, makeTempDir, removeTempDir, trackChild } from './lifecycle.ts';
import { makeTestPki } from './pki.ts';
import { startTokenServer, type AccessPolicy, type TestUser, type TokenRequestLog, type TokenServer } from './token-server.ts';
import type { KeyReference } from './token-signer.ts';

export type { AccessPolicy, TestUser, TokenRequestLog } from './token-server.ts';

export const REGISTRY_BINARY = process.env.PULLGUARD_TEST_REGISTRY_BIN ?? '/usr/bin/docker-registry';

export type RegistryAuth = 'none' | 'basic' | 'token';

export interface StartRegistryOptions {
  /** Default 'none'. */
  auth?: RegistryAuth;
  /** Default: alice (password alice-secret) and bob (bob-secret). Unused when auth is 'none'. */
  users?: TestUser[];
  /** Default true: HTTPS with the test PKI; false: plain HTTP (the token server follows). */
  tls?: boolean;
  /** Token mode: lifetime of issued tokens. Default 300. Note the registry allows 60 s of clock skew. */
  tokenTtlSeconds?: number;
  /** Token mode: which actions to grant. Default: users get everything, anonymous gets pull on `public/*`. */
  access?: AccessPolicy;
  /** Token mode: put `x5c` (default) or `kid` in the JWT header. */
  tokenKeyReference?: KeyReference;
  /** Token mode: the token server's clock (ms), e.g. to issue already-expired tokens. */
  tokenClock?: () => number;
  /** Token mode: the `service` in the challenge and the token's audience. Default 'pullguard-test-registry'. */
  service?: string;
  /** Which user pushImage authenticates as. Default: the first user. */
  pushUser?: string;
  /** Accept schema1 signed manifests (compatibility.schema1.enabled). Default false, as in 2.8. */
  schema1?: boolean;
  /** How long to wait for the registry to answer. Default 15 s (CI machines are slow). */
  startTimeoutMs?: number;
  /** Merged (deeply) over the generated config.yml, e.g. `{ validation: { disabled: true } }`. */
  extraConfig?: Record<string, unknown>;
}

export interface TestRegistry {
  /** `https://127.0.0.1:PORT` (or http with tls: false). */
  url: string;
  /** `127.0.0.1:PORT`, the registry part of an image reference. */
  host: string;
  caFile: string;
  caPem: string;
  auth: RegistryAuth;
  users: TestUser[];
  tokenServer?: { url: string; realm: string; service: string; issuer: string; requests: TokenRequestLog[]; mint: TokenServer['mint'] };
  /** A user that can push, or undefined when auth is 'none'. */
  pushCredentials: TestUser | undefined;
  /** The registry's temp dir (config.yml, registry.log, data/). */
  dir: string;
  /** The docker-registry process id. */
  pid: number;
  schema1: boolean;
  /** The registry's log so far (text formatter). */
  logs(): string;
  stop(): Promise<void>;
}

export const DEFAULT_USERS: readonly TestUser[] = [
  { username: 'alice', password: 'alice-secret' },
  { username: 'bob', password: 'bob-secret' },
];

const LOG_TAIL = 64 * 1024;

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = opts.auth ?? 'none';
  const tls = opts.tls ?? true;
  const users = auth === 'none' ? [] : [...(opts.users ?? DEFAULT_USERS)];
  const pushCredentials = auth === 'none' ? undefined : opts.pushUser === undefined ? users[0] : users.find((u) => u.username === opts.pushUser);
  if (opts.pushUser !== undefined && pushCredentials === undefined) throw new Error(`startRegistry: pushUser ${JSON.stringify(opts.pushUser)} is not among the users`);
  const pki = await makeTestPki();
  const dir = makeTempDir('registry');
  const service = opts.service ?? 'pullguard-test-registry';
  const issuer = 'pullguard-test-token-issuer';

  let tokenServer: TokenServer | undefined;
  let child: ChildProcess | undefined;
  const cleanup = async (): Promise<void> => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      const killer = setTimeout(() => child!.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(killer);
    }
    await tokenServer?.stop();
    removeTempDir(dir);
  };

  try {
    const config: Record<string, unknown> = {
      version: 0.1,
      // info, because the listening address (port 0 → real port) is logged at info.
      log: { level: 'info', formatter: 'text', accesslog: { disabled: true } },
      storage: {
        filesystem: { rootdirectory: join(dir, 'data') },
        delete: { enabled: true },
        maintenance: { uploadpurging: { enabled: false } },
      },
      http: {
        addr: '127.0.0.1:0',
        secret: 'pullguard-test-secret',
        ...(tls ? { tls: { certificate: pki.certFile, key: pki.keyFile } } : {}),
      },
      health: { storagedriver: { enabled: false } },
    };
    if (opts.schema1) config.compatibility = { schema1: { enabled: true } };
    if (auth === 'basic') {
      const path = join(dir, 'htpasswd');
      await writeFile(path, htpasswd(users), { mode: 0o600 });
      config.auth = { htpasswd: { realm: 'pullguard-test', path } };
    } else if (auth === 'token') {
      tokenServer = await startTokenServer({
        service,
        issuer,
        users,
        tls,
        ...(opts.access ? { access: opts.access } : {}),
        ...(opts.tokenTtlSeconds !== undefined ? { ttlSeconds: opts.tokenTtlSeconds } : {}),
        ...(opts.tokenKeyReference ? { keyReference: opts.tokenKeyReference } : {}),
        ...(opts.tokenClock ? { clock: opts.tokenClock } : {}),
      });
      config.auth = { token: { realm: tokenServer.realm, service, issuer, rootcertbundle: tokenServer.signer.rootBundleFile } };
    }
    if (opts.extraConfig) deepMerge(config, opts.extraConfig);
    const configFile = join(dir, 'config.yml');
    await writeFile(configFile, stringify(config));

    const logFile = createWriteStream(join(dir, 'registry.log'));
    let tail = '';
    const [command, ...prefix] = [...dieWithParent(), REGISTRY_BINARY];
    const proc = spawn(command!, [...prefix, 'serve', configFile], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    trackChild(proc);
    let spawnError: Error | undefined;
    proc.on('error', (err) => (spawnError = err));
    const onOutput = (chunk: Buffer): void => {
      tail = (tail + chunk.toString('utf8')).slice(-LOG_TAIL);
      logFile.write(chunk);
    };
    proc.stdout!.on('data', onOutput);
    proc.stderr!.on('data', onOutput);
    proc.once('exit', () => logFile.end());

    const scheme = tls ? 'https' : 'http';
    const host = await waitForListening(proc, () => tail, () => spawnError, opts.startTimeoutMs ?? 15_000);
    const url = `${scheme}://${host}`;
    await waitForV2(url, pki.caPem, proc, () => tail, opts.startTimeoutMs ?? 15_000);

    let stopped: Promise<void> | undefined;
    return {
      url,
      host,
      caFile: pki.caFile,
      caPem: pki.caPem,
      auth,
      users,
      ...(tokenServer
        ? {
            tokenServer: {
              url: tokenServer.url,
              realm: tokenServer.realm,
              service: tokenServer.service,
              issuer: tokenServer.issuer,
              requests: tokenServer.requests,
              mint: tokenServer.mint,
            },
          }
        : {}),
      pushCredentials,
      dir,
      pid: proc.pid!,
      schema1: opts.schema1 ?? false,
      logs: () => tail,
      stop() {
        stopped ??= cleanup();
        return stopped;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function deepMerge(into: Record<string, unknown>, from: Record<string, unknown>): void {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  for (const [k, v] of Object.entries(from)) {
    const existing = into[k];
    if (isObject(existing) && isObject(v)) deepMerge(existing, v);
    else into[k] = v;
  }
}

function startError(message: string, tail: string): Error {
  return new Error(`${message}\n--- docker-registry output (last lines) ---\n${tail.split('\n').slice(-30).join('\n')}`);
}

/** The registry logs `listening on 127.0.0.1:PORT[, tls]` once bound; that is how we learn the port. */
async function waitForListening(proc: ChildProcess, tail: () => string, spawnError: () => Error | undefined, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const done = (fn: () => void): void => {
      clearTimeout(timer);
      proc.stdout!.off('data', check);
      proc.stderr!.off('data', check);
      proc.off('exit', onExit);
      proc.off('error', onError);
      fn();
    };
    const check = (): void => {
      const m = /listening on (127\.0\.0\.1:\d+)/.exec(tail());
      if (m) done(() => resolve(m[1]!));
    };
    const onExit = (code: number | null, signal: string | null): void =>
      done(() => reject(startError(`docker-registry exited before listening (code ${code}, signal ${signal})`, tail())));
    const onError = (err: Error): void => done(() => reject(new Error(`cannot run ${REGISTRY_BINARY}: ${err.message}`)));
    const timer = setTimeout(() => done(() => reject(startError(`docker-registry did not listen within ${timeoutMs} ms`, tail()))), timeoutMs);
    proc.stdout!.on('data', check);
    proc.stderr!.on('data', check);
    proc.once('exit', onExit);
    proc.once('error', onError);
    const early = spawnError();
    if (early) onError(early);
    check();
  });
}

/** Polls GET /v2/ until it answers 200 or 401. */
async function waitForV2(url: string, caPem: string, proc: ChildProcess, tail: () => string, timeoutMs: number): Promise<void> {
  const agent = new Agent({ connect: { ca: caPem } });
  const deadline = Date.now() + timeoutMs;
  let last = '';
  try {
    while (Date.now() < deadline) {
      if (proc.exitCode !== null) throw startError(`docker-registry exited (code ${proc.exitCode})`, tail());
      try {
        const res = await request(`${url}/v2/`, { dispatcher: agent });
        await res.body.dump();
        if (res.statusCode === 200 || res.statusCode === 401) return;
        last = `status ${res.statusCode}`;
      } catch (err) {
        last = String(err);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    throw startError(`docker-registry at ${url} did not answer GET /v2/ within ${timeoutMs} ms (last: ${last})`, tail());
  } finally {
    await agent.close();
  }
}
