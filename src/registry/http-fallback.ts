// HTTPS first, plain HTTP when the server answers a TLS handshake in plain HTTP: containerd 2.x's HTTPFallback
// round tripper, which its default hosts use for loopback registries on a port other than 80/443
// (containerd core/remotes/docker/config/hosts.go @00774fe, ConfigureHosts: IsLocalhost → scheme http +
// skipVerify → "host will try HTTPS first" + docker.NewHTTPFallback). Once HTTP answered, it stays HTTP.
import { isNotTlsServer } from './errors.ts';
import type { HttpRequest, HttpResponse, Result, Sender } from './exchange.ts';

export interface FallbackSender extends Sender {
  /** The scheme the endpoint answered on so far. */
  readonly scheme: 'https' | 'http';
}

export function withHttpFallback(inner: Sender, host: string): FallbackSender {
  let plain = false;
  const downgrade = (url: string): string | undefined => {
    try {
      const u = new URL(url);
      if (u.protocol !== 'https:' || u.host !== host) return undefined;
      u.protocol = 'http:';
      return u.href;
    } catch {
      return undefined;
    }
  };
  return {
    get scheme() {
      return plain ? 'http' : 'https';
    },
    async send(req: HttpRequest): Promise<Result<HttpResponse>> {
      const http = downgrade(req.url);
      if (plain && http) return inner.send({ ...req, url: http });
      const res = await inner.send(req);
      if (!res.ok && http && isNotTlsServer(res.error.errorCode)) {
        plain = true;
        return inner.send({ ...req, url: http });
      }
      return res;
    },
  };
}
