// A reverse proxy in front of a registry (or any HTTPS server) that passes requests through untouched
// except for Host, or injects a fault chosen per request: an error status, a reset, a stall, a delay, a
// huge body, or garbage. It logs every request, so tests can count round trips and see which
// Authorization header reached the registry.
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage, type ServerResponse, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';
import { startLoopbackServer } from './loopback-server.ts';
import type { TestRegistry } from './registry.ts';

export type Fault =
  | { kind: 'pass' }
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  | { kind: 'reset' }
  | { kind: 'stall' }
  | { kind: 'delay'; ms: number }
  /** 200 with `bytes` bytes of 'x'; Content-Length is sent unless `chunked`. */
  | { kind: 'huge'; bytes: number; headers?: Record<string, string>; chunked?: boolean }
  | { kind: 'garbage'; status?: number; contentType?: string; body: string };

export interface FaultRequest {
  method: string;
  /** Path and query, as received. */
  path: string;
  headers: Record<string, string | string[] | undefined>;
}

export type FaultChooser = (req: FaultRequest) => Fault;

export interface FaultProxyRequest {
  method: string;
  path: string;
  /** The status sent to the client; undefined for reset and stall (or while still pending). */
  status?: number;
  authorization?: string;
  fault: Fault['kind'];
}

export interface FaultProxy {
  /** `https://127.0.0.1:PORT` (http with tls: false). */
  url: string;
  host: string;
  caPem: string;
  setFault(fault: Fault | FaultChooser): void;
  requests: FaultProxyRequest[];
  /**
   * How a logged request's exchange ended (performance.now() clock): undefined while it is still open; closedByClient
   * when the client closed the connection before the answer was complete (an abort, a timeout).
   */
  endOf(entry: FaultProxyRequest): { at: number; closedByClient: boolean } | undefined;
  /** Clears the log (in place) and restores pass-through. */
  reset(): void;
  stop(): Promise<void>;
}

/** Faults in order, one per request, then pass-through: `faultSequence({kind:'status',status:503}, ...)`. */
export function faultSequence(...faults: Fault[]): FaultChooser {
  const queue = [...faults];
  return () => queue.shift() ?? { kind: 'pass' };
}

// Connection-level headers belong to one hop; everything else is relayed byte for byte.
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'proxy-authorization', 'proxy-authenticate']);

/** The client's request headers for the upstream: hop-by-hop ones dropped, Host pointed at the target. */
function upstreamHeaders(req: IncomingMessage, host: string): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name)) headers[name] = value;
  headers.host = host;
  return headers;
}

/** The upstream's response headers as a flat raw list (case and repeats kept), hop-by-hop ones dropped. */
function relayedHeaders(upRes: IncomingMessage): string[] {
  const raw: string[] = [];
  for (let i = 0; i < upRes.rawHeaders.length; i += 2) {
    if (!HOP_BY_HOP.has(upRes.rawHeaders[i]!.toLowerCase())) raw.push(upRes.rawHeaders[i]!, upRes.rawHeaders[i + 1]!);
  }
  return raw;
}

export interface FaultProxyOptions {
  /** Default true: HTTPS with the test certificate. */
  tls?: boolean;
  /**
   * Paginate passed-through `GET /v2/NAME/tags/list` as distribution 3, Docker Hub and GHCR do: tags sorted,
   * `n` (capped at this size) and `last` honoured, a relative `Link: <...>; rel="next"` while more remain.
   * Distribution 2.8 itself returns every tag, unsorted, and ignores `n`.
   */
  tagPageSize?: number;
}

export async function startFaultProxy(target: TestRegistry | { url: string; caPem: string }, opts: FaultProxyOptions = {}): Promise<FaultProxy> {
  const upstream = new URL(target.url);
  const upstreamTls = upstream.protocol === 'https:';
  const agent = upstreamTls ? new HttpsAgent({ keepAlive: true, ca: target.caPem }) : new HttpAgent({ keepAlive: true });
  const requests: FaultProxyRequest[] = [];
  const ends = new WeakMap<FaultProxyRequest, { at: number; closedByClient: boolean }>();
  const timers = new Set<NodeJS.Timeout>();
  let choose: FaultChooser = () => ({ kind: 'pass' });
  const send = upstreamTls ? httpsRequest : httpRequest;

  const pass = (req: IncomingMessage, res: ServerResponse, entry: FaultProxyRequest): void => {
    const headers = upstreamHeaders(req, upstream.host);
    const up = send({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent }, (upRes) => {
      entry.status = upRes.statusCode;
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, relayedHeaders(upRes));
      upRes.pipe(res);
    });
    up.on('error', (err) => {
      if (res.headersSent) {
        res.destroy();
      } else {
        entry.status = 502;
        res.writeHead(502, { 'content-type': 'text/plain' }).end(`fault proxy: upstream failed: ${err.message}`);
      }
    });
    res.on('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    req.pipe(up);
  };

  /** Fetches the whole list upstream (with the caller's headers), then serves one page of it. */
  const paginateTags = (req: IncomingMessage, res: ServerResponse, entry: FaultProxyRequest, name: string, pageSize: number): void => {
    const query = new URL(req.url ?? '/', 'http://proxy.invalid').searchParams;
    const headers = upstreamHeaders(req, upstream.host);
    const up = send({ host: upstream.hostname, port: upstream.port, method: 'GET', path: `/v2/${name}/tags/list`, headers, agent }, (upRes) => {
      const chunks: Buffer[] = [];
      upRes.on('data', (c: Buffer) => chunks.push(c));
      upRes.on('end', () => {
        const body = Buffer.concat(chunks);
        if (upRes.statusCode !== 200) {
          entry.status = upRes.statusCode;
          res.writeHead(upRes.statusCode ?? 502, relayedHeaders(upRes)).end(body);
          return;
        }
        let all: string[];
        try {
          all = ((JSON.parse(body.toString('utf8')) as { tags?: string[] | null }).tags ?? []).sort();
        } catch {
          entry.status = 502;
          res.writeHead(502, { 'content-type': 'text/plain' }).end('fault proxy: upstream tags/list is not JSON');
          return;
        }
        const last = query.get('last');
        const asked = Number(query.get('n') ?? pageSize);
        const size = Math.max(1, Math.min(Number.isFinite(asked) && asked > 0 ? asked : pageSize, pageSize));
        const rest = last === null ? all : all.filter((tag) => tag > last);
        const page = rest.slice(0, size);
        const text = JSON.stringify({ name, tags: page });
        const out: Record<string, string> = { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) };
        if (rest.length > size) out.link = `</v2/${name}/tags/list?last=${encodeURIComponent(page[page.length - 1]!)}&n=${size}>; rel="next"`;
        entry.status = 200;
        res.writeHead(200, out).end(text);
      });
    });
    up.on('error', (err) => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(`fault proxy: upstream failed: ${err.message}`);
    });
    up.end();
  };

  const passOrPaginate = (req: IncomingMessage, res: ServerResponse, entry: FaultProxyRequest): void => {
    const tags = /^\/v2\/(.+)\/tags\/list(?:\?.*)?$/.exec(req.url ?? '');
    if (opts.tagPageSize !== undefined && req.method === 'GET' && tags) paginateTags(req, res, entry, tags[1]!, opts.tagPageSize);
    else pass(req, res, entry);
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url ?? '/';
    const method = req.method ?? 'GET';
    let fault: Fault;
    try {
      fault = choose({ method, path, headers: { ...req.headers } });
    } catch (err) {
      fault = { kind: 'status', status: 500, body: `fault chooser threw: ${String(err)}` };
    }
    const entry: FaultProxyRequest = { method, path, fault: fault.kind, ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}) };
    requests.push(entry);
    res.on('close', () => ends.set(entry, { at: performance.now(), closedByClient: !res.writableFinished }));
    const reply = (status: number, headers: Record<string, string>, body: string): void => {
      entry.status = status;
      res.writeHead(status, { 'content-length': String(Buffer.byteLength(body)), ...headers });
      res.end(body);
    };

    switch (fault.kind) {
      case 'pass':
        passOrPaginate(req, res, entry);
        return;
      case 'status':
        reply(fault.status, { ...(fault.body ? { 'content-type': 'application/json' } : {}), ...fault.headers }, fault.body ?? '');
        return;
      case 'garbage':
        reply(fault.status ?? 200, { 'content-type': fault.contentType ?? 'application/json' }, fault.body);
        return;
      case 'reset': {
        // A real TCP RST (the client sees ECONNRESET). Under TLS the TCP socket is the TLSSocket's
        // _parent (undocumented, hence the fallback to a plain destroy).
        const tlsParent = (req.socket as Socket & { _parent?: Socket })._parent;
        try {
          (tlsParent ?? req.socket).resetAndDestroy();
        } catch {
          req.socket.destroy();
        }
        return;
      }
      case 'stall':
        // Read the body so the client is not blocked on sending it, then never answer.
        req.resume();
        return;
      case 'delay': {
        const timer = setTimeout(() => {
          timers.delete(timer);
          if (!res.destroyed) passOrPaginate(req, res, entry);
        }, fault.ms);
        timers.add(timer);
        res.on('close', () => {
          clearTimeout(timer);
          timers.delete(timer);
        });
        return;
      }
      case 'huge': {
        entry.status = 200;
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          ...(fault.chunked ? {} : { 'content-length': String(fault.bytes) }),
          ...fault.headers,
        });
        const chunk = Buffer.alloc(64 * 1024, 'x');
        let left = fault.bytes;
        const pump = (): void => {
          while (left > 0 && !res.destroyed) {
            const piece = left >= chunk.length ? chunk : chunk.subarray(0, left);
            left -= piece.length;
            if (!res.write(piece)) {
              res.once('drain', pump);
              return;
            }
          }
          if (!res.destroyed) res.end();
        };
        pump();
        return;
      }
    }
  };

  const server = await startLoopbackServer(handle, { tls: opts.tls ?? true });
  return {
    url: server.url,
    host: server.host,
    caPem: server.caPem,
    requests,
    endOf: (entry) => ends.get(entry),
    setFault(fault) {
      choose = typeof fault === 'function' ? fault : () => fault;
    },
    reset() {
      requests.length = 0;
      choose = () => ({ kind: 'pass' });
    },
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await server.stop();
      agent.destroy();
    },
  };
}
