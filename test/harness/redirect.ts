// An HTTPS server that answers every request with a redirect and logs the Authorization header it got:
// the first hop of tests proving that credentials are not forwarded to another host.
import { startLoopbackServer } from './loopback-server.ts';

export interface RedirectOptions {
  /** Default 307. */
  status?: 301 | 302 | 303 | 307 | 308;
  /** Append the request's path and query to the target URL. Default false: redirect to it exactly. */
  appendPath?: boolean;
  /** Default true. */
  tls?: boolean;
}

export interface RedirectServer {
  url: string;
  host: string;
  caPem: string;
  requests: { method: string; path: string; authorization?: string; location: string }[];
  stop(): Promise<void>;
}

export async function startRedirectServer(target: string | ((req: { method: string; path: string }) => string), opts: RedirectOptions = {}): Promise<RedirectServer> {
  const requests: RedirectServer['requests'] = [];
  const server = await startLoopbackServer(
    (req, res) => {
      const method = req.method ?? 'GET';
      const path = req.url ?? '/';
      const location = typeof target === 'function' ? target({ method, path }) : opts.appendPath ? `${target.replace(/\/$/, '')}${path}` : target;
      requests.push({ method, path, location, ...(req.headers.authorization !== undefined ? { authorization: req.headers.authorization } : {}) });
      req.resume();
      res.writeHead(opts.status ?? 307, { location, 'content-length': '0' }).end();
    },
    { tls: opts.tls ?? true },
  );
  return { url: server.url, host: server.host, caPem: server.caPem, requests, stop: () => server.stop() };
}
