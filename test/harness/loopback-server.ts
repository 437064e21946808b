// Starts an HTTP or HTTPS (test certificate) server on 127.0.0.1 with an ephemeral port, and stops it
// without waiting for idle keep-alive connections.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { makeTestPki } from './pki.ts';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface LoopbackServer {
  server: Server;
  /** `https://127.0.0.1:PORT` (or http). */
  url: string;
  /** `127.0.0.1:PORT`. */
  host: string;
  port: number;
  caPem: string;
  stop(): Promise<void>;
}

export async function startLoopbackServer(handler: Handler, opts: { tls?: boolean } = {}): Promise<LoopbackServer> {
  const tls = opts.tls ?? true;
  const pki = await makeTestPki();
  const server: Server = tls ? createHttpsServer({ cert: pki.certPem, key: pki.keyPem }, handler) : createHttpServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = `127.0.0.1:${port}`;
  let stopped: Promise<void> | undefined;
  return {
    server,
    url: `${tls ? 'https' : 'http'}://${host}`,
    host,
    port,
    caPem: pki.caPem,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

/** Reads a request body (bounded: these servers only take small forms and manifests). */
export async function readBody(req: IncomingMessage, limit = 16 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new Error(`request body over ${limit} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
