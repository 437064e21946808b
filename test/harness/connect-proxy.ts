// A plain-HTTP forward proxy for HTTPS_PROXY/HTTP_PROXY tests: CONNECT tunnels and absolute-form
// requests, optional Basic proxy auth, and a log of every tunnel's target. It only forwards to
// loopback addresses, so a test can never send traffic off the machine through it.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { startLoopbackServer } from './loopback-server.ts';
import type { TestUser } from './token-server.ts';

export interface ConnectProxyOptions {
  /** Require `Proxy-Authorization: Basic` with this user (407 otherwise). */
  auth?: TestUser;
}

export interface ProxyLogEntry {
  /** CONNECT for tunnels, else the forwarded method. */
  method: string;
  /** `host:port` for tunnels, the absolute URL for forwarded requests. */
  target: string;
  /** What the proxy answered: 200, 407 (auth), 403 (not loopback), 502 (cannot connect). */
  status: number;
  proxyAuthorization?: string;
}

export interface ConnectProxy {
  /** `http://127.0.0.1:PORT`, the value for HTTPS_PROXY. */
  url: string;
  host: string;
  /** CONNECT tunnels, in order. */
  tunnels: ProxyLogEntry[];
  /** Absolute-form (plain HTTP) requests, in order. */
  requests: ProxyLogEntry[];
  stop(): Promise<void>;
}

const LOOPBACK = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[?::1\]?)$/i;

/** Splits `host:port` / `[::1]:port`; undefined when malformed. */
function splitHostPort(authority: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(authority);
  if (!m) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

export async function startConnectProxy(opts: ConnectProxyOptions = {}): Promise<ConnectProxy> {
  const tunnels: ProxyLogEntry[] = [];
  const requests: ProxyLogEntry[] = [];
  const sockets = new Set<Duplex>();
  const expected = opts.auth ? `Basic ${Buffer.from(`${opts.auth.username}:${opts.auth.password}`).toString('base64')}` : undefined;
  const authorized = (req: IncomingMessage): boolean => expected === undefined || req.headers['proxy-authorization'] === expected;
  const logEntry = (req: IncomingMessage, target: string): ProxyLogEntry => ({
    method: req.method ?? 'GET',
    target,
    status: 0,
    ...(req.headers['proxy-authorization'] !== undefined ? { proxyAuthorization: req.headers['proxy-authorization'] } : {}),
  });

  const forward = (req: IncomingMessage, res: ServerResponse): void => {
    const entry = logEntry(req, req.url ?? '');
    requests.push(entry);
    const answer = (status: number, headers: Record<string, string> = {}): void => {
      entry.status = status;
      res.writeHead(status, { 'content-length': '0', ...headers }).end();
    };
    let url: URL;
    try {
      url = new URL(req.url ?? '');
    } catch {
      answer(400);
      return;
    }
    if (url.protocol !== 'http:') return answer(400);
    if (!authorized(req)) return answer(407, { 'proxy-authenticate': 'Basic realm="pullguard-test-proxy"' });
    if (!LOOPBACK.test(url.hostname)) return answer(403);
    const headers = { ...req.headers };
    delete headers['proxy-authorization'];
    delete headers['proxy-connection'];
    const up = httpRequest(url, { method: req.method, headers }, (upRes) => {
      entry.status = upRes.statusCode ?? 502;
      res.writeHead(entry.status, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => (res.headersSent ? res.destroy() : answer(502)));
    req.pipe(up);
  };

  const server = await startLoopbackServer(forward, { tls: false });
  server.server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    const entry = logEntry(req, req.url ?? '');
    tunnels.push(entry);
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    const refuse = (status: number, text: string, extra = ''): void => {
      entry.status = status;
      client.end(`HTTP/1.1 ${status} ${text}\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`);
    };
    const target = splitHostPort(req.url ?? '');
    if (!target) return refuse(400, 'Bad Request');
    if (!authorized(req)) return refuse(407, 'Proxy Authentication Required', 'Proxy-Authenticate: Basic realm="pullguard-test-proxy"\r\n');
    if (!LOOPBACK.test(target.host)) return refuse(403, 'Forbidden');
    const up: Socket = connect(target.port, target.host);
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    up.once('connect', () => {
      entry.status = 200;
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) up.write(head);
      up.pipe(client);
      client.pipe(up);
    });
    up.on('error', () => {
      if (entry.status === 0) refuse(502, 'Bad Gateway');
      else client.destroy();
    });
    client.on('close', () => up.destroy());
  });

  return {
    url: server.url,
    host: server.host,
    tunnels,
    requests,
    async stop() {
      // Tunnels are detached from the HTTP server, so closeAllConnections() does not see them.
      for (const s of sockets) s.destroy();
      await server.stop();
    },
  };
}
