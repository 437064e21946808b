// Redirect-following (301/302/303/307/308) for the requests that ask for it: bounded hops, relative Location
// resolved, never from https to http unless the endpoint is configured plain HTTP, never to an internal address
// the config does not allow, and never forwarding Authorization to another host: storage backends get presigned
// URLs, not our tokens. The final answer (its URL, status and headers) is what the caller sees, as containerd's fetcher does.
import { RegistryError, redactUrl } from './errors.ts';
import { debugEnabled, err, header, type HttpRequest, type HttpResponse, type RegistryLogger, type Result, type Sender } from './exchange.ts';
import { refuseInternal, type AddressPolicy } from './network-policy.ts';

export const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface RedirectPolicy extends AddressPolicy {
  /** The endpoint is plain HTTP by configuration (or loopback fallback): an http:// target is acceptable. */
  allowPlainHTTP: boolean;
  logger?: RegistryLogger;
}

export function withRedirects(inner: Sender, policy: RedirectPolicy): Sender {
  return {
    async send(req: HttpRequest): Promise<Result<HttpResponse>> {
      let url = req.url;
      let method = req.method;
      // Never changed in place: a redirect to another host gets a copy without Authorization.
      let headers = req.headers ?? {};
      let body = req.body;
      for (let hop = 0; ; hop++) {
        // The first request is the caller's as it stands (no layer below changes a request); hops are new ones.
        const res = await inner.send(hop === 0 ? req : { ...req, url, method, headers, ...(body === undefined ? {} : { body }) });
        if (!res.ok || !req.followRedirects) return res;
        const r = res.value;
        const location = header(r.headers, 'location');
        if (!REDIRECT_STATUSES.has(r.status) || !location) return res;
        const refuse = (message: string): Result<HttpResponse> =>
          err(new RegistryError(message, { reason: 'RegistryError', status: r.status, url, method, operation: req.operation, temporary: false }));
        if (hop >= MAX_REDIRECTS) return refuse(`too many redirects (more than ${MAX_REDIRECTS})`);
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          return refuse('redirect to an invalid location');
        }
        if (next.protocol !== 'https:' && next.protocol !== 'http:') return refuse(`redirect to unsupported scheme ${next.protocol}`);
        if (next.protocol === 'http:' && !policy.allowPlainHTTP) {
          return refuse(`refusing a redirect from ${new URL(url).protocol === 'https:' ? 'HTTPS' : 'the registry'} to plain HTTP (${redactUrl(next.href)}); only a registry configured plainHTTP may redirect there`);
        }
        const internal = refuseInternal(next, policy);
        if (internal) return refuse(`refusing a redirect to ${redactUrl(next.href)}: ${internal}`);
        // Authorization belongs to the host it was made for: kept on a redirect within that host (as Go's client,
        // hence containerd, does), dropped for any other — storage gets presigned URLs, not our tokens.
        if (next.host !== new URL(req.url).host) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
        if (r.status === 303 && method === 'POST') {
          method = 'GET';
          body = undefined;
        }
        if (debugEnabled(policy.logger)) policy.logger.debug({ from: redactUrl(url), to: redactUrl(next.href), status: r.status }, 'following registry redirect');
        url = next.href;
      }
    },
  };
}
