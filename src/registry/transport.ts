// The HTTP stack for one registry endpoint, composed from small layers (go-containerregistry's transport,
// undici's compose): exchange (dispatcher, deadline, body cap, metrics) → reset retry → HTTP fallback for
// unconfigured loopback registries → redirects (never forwarding Authorization). Auth wraps it per credential
// (authorizing-sender.ts); the distribution API (repository.ts) sees only a Sender.
import { Dispatchers, type EndpointSettings } from './dispatcher.ts';
import { Exchange, type Clock, type HttpRequest, type HttpResponse, type RegistryLogger, type RegistryObserver, type Result, type Sender } from './exchange.ts';
import { withHttpFallback, type FallbackSender } from './http-fallback.ts';
import type { ProxyEnv } from './proxy.ts';
import { withRedirects } from './redirects.ts';
import { withResetRetry } from './reset-retry.ts';

export type { EndpointSettings } from './dispatcher.ts';
export { header, headerList, type Clock, type Headers, type HttpRequest, type HttpResponse, type RegistryLogger, type RegistryObserver, type RequestEvent, type Result, type Sender } from './exchange.ts';

export interface TransportDeps {
  clock: Clock;
  env: ProxyEnv;
  requestTimeoutMs: number;
  observer?: RegistryObserver;
  logger?: RegistryLogger;
  /** Reads the CA file; injectable for tests. */
  readFile?: (path: string) => string;
}

/** One endpoint's HTTP stack. Cheap to keep; `close()` releases its sockets. */
export class Transport implements Sender {
  readonly settings: EndpointSettings;
  readonly #dispatchers: Dispatchers;
  readonly #exchange: Exchange;
  readonly #fallback: FallbackSender | undefined;
  readonly #sender: Sender;

  constructor(settings: EndpointSettings, deps: TransportDeps) {
    this.settings = settings;
    this.#dispatchers = new Dispatchers(settings, { env: deps.env, requestTimeoutMs: deps.requestTimeoutMs, ...(deps.readFile ? { readFile: deps.readFile } : {}) });
    this.#exchange = new Exchange(this.#dispatchers, {
      clock: deps.clock,
      requestTimeoutMs: deps.requestTimeoutMs,
      ...(deps.observer ? { observer: deps.observer } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    });
    let sender: Sender = withResetRetry(this.#exchange, deps.clock);
    if (settings.httpFallback && !settings.plainHTTP) {
      this.#fallback = withHttpFallback(sender, settings.host);
      sender = this.#fallback;
    }
    if (settings.headers) sender = withHostHeaders(sender, settings.host, settings.headers);
    this.#sender = withRedirects(sender, {
      origin: settings.host,
      allowPlainHTTP: settings.plainHTTP || Boolean(settings.httpFallback),
      ...(settings.allowedHosts ? { allowedHosts: settings.allowedHosts } : {}),
      ...(settings.internalNetworks ? { internalNetworks: settings.internalNetworks } : {}),
      ...(deps.logger ? { logger: deps.logger } : {}),
    });
  }

  /** The scheme the endpoint answers on (an unconfigured loopback registry may have fallen back to http). */
  get scheme(): 'https' | 'http' {
    return this.settings.plainHTTP ? 'http' : (this.#fallback?.scheme ?? 'https');
  }

  /** Requests are addressed to https for a fallback endpoint; the fallback layer rewrites them once HTTP answered. */
  get baseUrl(): string {
    return `${this.settings.plainHTTP ? 'http' : 'https'}://${this.settings.host}`;
  }

  /** Sends one request (following redirects when asked). Never throws. */
  send(req: HttpRequest): Promise<Result<HttpResponse>> {
    return this.#sender.send(req);
  }

  async close(): Promise<void> {
    this.#exchange.close();
    await this.#dispatchers.close();
  }
}

/**
 * hosts.toml `[header]`: containerd adds them to the requests to that host only; ours never replace our own.
 * Below the redirect layer, so each hop is checked: a token realm or a redirect to another host (host:port)
 * gets none of them.
 */
function withHostHeaders(inner: Sender, host: string, extra: Readonly<Record<string, readonly string[]>>): Sender {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(extra)) headers[k.toLowerCase()] = v.join(', ');
  const forHost = (url: string): boolean => {
    try {
      const u = new URL(url);
      return u.host === new URL(`${u.protocol}//${host}`).host;
    } catch {
      return false;
    }
  };
  return {
    send(req: HttpRequest): Promise<Result<HttpResponse>> {
      if (!forHost(req.url)) return inner.send(req);
      return inner.send({ ...req, headers: { ...headers, ...(req.headers ?? {}) } });
    },
  };
}
