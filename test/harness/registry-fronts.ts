// Fronts that make the real Distribution registry answer as real registries do (issue #10), each a small proxy:
// - startRelay: relays to the registry with a path rewrite and extra response headers (the backend of a
//   redirecting registry, Docker Hub's ratelimit-* headers);
// - startRedirectingFront: registry.k8s.io's shape — GET /v2/ is 200 without a challenge, every other /v2/ path
//   is a 307 to a backend under a rewritten path (or presigned storage for chosen paths);
// - startHostileTarget: a redirect target that demands its own Bearer auth and records every Authorization
//   header it receives (token endpoint included).
// All log what they received, so tests can assert where credentials went.
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { startLoopbackServer } from './loopback-server.ts';

export interface FrontRequest {
  method: string;
  path: string;
  authorization?: string;
  status?: number;
}

/** Logs a request as a front saw it (method, path, the Authorization it carried); the handler adds the status. */
function record(req: IncomingMessage, requests: FrontRequest[]): FrontRequest {
  const entry: FrontRequest = { method: req.method ?? 'GET', path: req.url ?? '/', ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}) };
  requests.push(entry);
  return entry;
}

export interface Front {
  url: string;
  host: string;
  caPem: string;
  requests: FrontRequest[];
  stop(): Promise<void>;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade']);

export interface RelayOptions {
  /** Default true. */
  tls?: boolean;
  /** The upstream path for a request path (query included); undefined: answer 404 without asking. */
  rewrite?: (path: string) => string | undefined;
  /** Extra response headers, per request. */
  headers?: (req: { method: string; path: string }) => Record<string, string>;
}

/** Relays every request to `target` (path rewritten, headers added). */
export async function startRelay(target: { url: string; caPem: string }, opts: RelayOptions = {}): Promise<Front> {
  const upstream = new URL(target.url);
  const tlsUp = upstream.protocol === 'https:';
  const agent = tlsUp ? new HttpsAgent({ keepAlive: true, ca: target.caPem }) : new HttpAgent({ keepAlive: true });
  const send = tlsUp ? httpsRequest : httpRequest;
  const requests: FrontRequest[] = [];
  const server = await startLoopbackServer(
    (req: IncomingMessage, res: ServerResponse) => {
      const entry = record(req, requests);
      const { method, path } = entry;
      const upPath = opts.rewrite ? opts.rewrite(path) : path;
      const extra = opts.headers?.({ method, path }) ?? {};
      if (upPath === undefined) {
        entry.status = 404;
        res.writeHead(404, { 'content-type': 'application/json', ...extra }).end(JSON.stringify({ errors: [{ code: 'NAME_UNKNOWN', message: 'repository name not known to registry' }] }));
        return;
      }
      const headers: OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k)) headers[k] = v;
      headers.host = upstream.host;
      const up = send({ host: upstream.hostname, port: upstream.port, method, path: upPath, headers, agent }, (upRes) => {
        entry.status = upRes.statusCode;
        const out: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
        res.writeHead(upRes.statusCode ?? 502, { ...out, ...extra });
        upRes.pipe(res);
      });
      up.on('error', (err) => {
        entry.status = 502;
        if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`relay: ${err.message}`);
        else res.destroy();
      });
      req.pipe(up);
    },
    { tls: opts.tls ?? true },
  );
  return {
    url: server.url,
    host: server.host,
    caPem: server.caPem,
    requests,
    async stop() {
      await server.stop();
      agent.destroy();
    },
  };
}

/** registry.k8s.io's backend path: `/v2/<name>/...` lives at `/v2/k8s-artifacts-prod/images/<name>/...`. */
export const K8S_BACKEND_PREFIX = '/v2/k8s-artifacts-prod/images/';

/** The backend of a registry.k8s.io-shaped front: serves `K8S_BACKEND_PREFIX<name>/...` from the registry. */
export function startK8sBackend(reg: { url: string; caPem: string }, opts: { tls?: boolean } = {}): Promise<Front> {
  return startRelay(reg, {
    ...opts,
    rewrite: (path) => (path === '/v2/' || path.startsWith('/v2/?') ? path : path.startsWith(K8S_BACKEND_PREFIX) ? `/v2/${path.slice(K8S_BACKEND_PREFIX.length)}` : undefined),
  });
}

export interface RedirectingFrontOptions {
  /** Default 307. */
  status?: 301 | 302 | 303 | 307 | 308;
  /** Where a `/v2/<rest>` request is sent; undefined: 404. Default: `backend` + K8S_BACKEND_PREFIX + rest. */
  locate?: (rest: string, req: { method: string; path: string }) => string | undefined;
  /** Relative Location headers (resolved against the front by the client). Default false. */
  relative?: boolean;
  tls?: boolean;
}

/**
 * registry.k8s.io: `GET /v2/` answers 200 with no challenge; manifests (HEAD and GET), tags/list and blobs answer
 * a redirect to the backend under a rewritten path.
 */
export async function startRedirectingFront(backend: string, opts: RedirectingFrontOptions = {}): Promise<Front> {
  const requests: FrontRequest[] = [];
  const locate = opts.locate ?? ((rest: string) => `${backend}${K8S_BACKEND_PREFIX}${rest}`);
  const server = await startLoopbackServer(
    (req, res) => {
      const entry = record(req, requests);
      const { method, path } = entry;
      req.resume();
      if (path === '/v2/' || path === '/v2') {
        entry.status = 200;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2', 'docker-distribution-api-version': 'registry/2.0' }).end('{}');
        return;
      }
      const rest = path.startsWith('/v2/') ? path.slice(4) : undefined;
      let location = rest === undefined ? undefined : locate(rest, { method, path });
      if (location === undefined) {
        entry.status = 404;
        res.writeHead(404, { 'content-length': '0' }).end();
        return;
      }
      if (opts.relative) location = location.replace(/^https?:\/\/[^/]+/, '');
      entry.status = opts.status ?? 307;
      res.writeHead(entry.status, { location, 'content-length': '0' }).end();
    },
    { tls: opts.tls ?? true },
  );
  return { url: server.url, host: server.host, caPem: server.caPem, requests, stop: () => server.stop() };
}

/** A redirect target that wants its own Bearer token (realm on itself) and logs every Authorization it gets. */
export async function startHostileTarget(opts: { tls?: boolean } = {}): Promise<Front> {
  const requests: FrontRequest[] = [];
  let self = '';
  const server = await startLoopbackServer(
    (req, res) => {
      const entry = record(req, requests);
      const { path } = entry;
      req.resume();
      if (path.startsWith('/token')) {
        entry.status = 200;
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token: 'hostile-token', expires_in: 300 }));
        return;
      }
      entry.status = 401;
      const body = JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'internal service: secret-internal-text' }] });
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': `Bearer realm="${self}/token",service="hostile"` }).end(body);
    },
    { tls: opts.tls ?? true },
  );
  self = server.url;
  return { url: server.url, host: server.host, caPem: server.caPem, requests, stop: () => server.stop() };
}
