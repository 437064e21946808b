// The endpoints' transports, one per distinct connection settings, bounded (images may name any host): the
// least recently used is dropped first. A dropped transport is not closed (a resolution may still hold it);
// its idle keep-alive sockets time out on their own.
import type { EndpointSettings } from './dispatcher.ts';
import { Transport, type TransportDeps } from './transport.ts';

const MAX_TRANSPORTS = 256;

export class TransportPool {
  readonly #deps: TransportDeps;
  readonly #transports = new Map<string, Transport>();

  constructor(deps: TransportDeps) {
    this.#deps = deps;
  }

  get(settings: EndpointSettings): Transport {
    const key = JSON.stringify([settings.host, settings.plainHTTP, settings.caFile ?? '', settings.insecureSkipVerify, settings.maxConcurrency, Boolean(settings.httpFallback), settings.allowedHosts ?? [], settings.caFiles ?? [], settings.clientPairs ?? [], settings.headers ?? {}]);
    let t = this.#transports.get(key);
    if (t) {
      this.#transports.delete(key);
    } else {
      if (this.#transports.size >= MAX_TRANSPORTS) this.#transports.delete(this.#transports.keys().next().value as string);
      t = new Transport(settings, this.#deps);
    }
    this.#transports.set(key, t);
    return t;
  }

  async close(): Promise<void> {
    const all = [...this.#transports.values()];
    this.#transports.clear();
    await Promise.allSettled(all.map((t) => t.close()));
  }
}
