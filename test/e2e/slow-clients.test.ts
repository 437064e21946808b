// Slowloris: a client that trickles its headers or its body, or connects and says nothing, holds a socket (and
// with many of them, the webhook) hostage. Both ports close such connections after server.headersTimeoutMs /
// server.requestTimeoutMs; the bound asserted here is a generous one, never a timing claim.
import t from 'tap';
import { connect as tlsConnect } from 'node:tls';
import { connect as netConnect, type Socket } from 'node:net';
import { pino } from 'pino';
import { DEFAULT_CONFIG, type Config } from '../../src/config.ts';
import { createMetrics } from '../../src/metrics.ts';
import { buildRuntime, type Runtime } from '../../src/cli/runtime.ts';
import { startServers, type RunningServer } from '../../src/admission/server.ts';
import { makeFreshPki } from '../harness/pki.ts';

const GENEROUS_MS = 30_000;
let server: RunningServer;
let runtime: Runtime;

t.before(async () => {
  const pki = await makeFreshPki('slow-clients');
  const config: Config = structuredClone(DEFAULT_CONFIG);
  config.server = { ...config.server, host: '127.0.0.1', port: 0, metricsHost: '127.0.0.1', metricsPort: 0, tlsCertFile: pki.certFile, tlsKeyFile: pki.keyFile, headersTimeoutMs: 1000, requestTimeoutMs: 2000, shutdownGraceMs: 500 };
  config.kubernetes.enabled = false;
  const logger = pino({ level: 'silent' });
  const metrics = createMetrics({ defaultMetrics: false });
  const built = buildRuntime(config, { log: logger, metrics });
  if (!built.ok) throw new Error(built.errors.join('\n'));
  runtime = built.runtime;
  server = await startServers({ config, checker: runtime.checker, cluster: runtime.cluster, metrics, logger });
});
t.teardown(async () => {
  await server?.close();
  await runtime?.close();
});

/** Connects, then writes `first` and a piece of `drip` every 200 ms until the server closes the socket. */
function slowClient(open: () => Socket, first: string, drip: string): Promise<{ closed: boolean; bytesSent: number }> {
  return new Promise((resolve) => {
    const socket = open();
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    const giveUp = setTimeout(() => finish(false), GENEROUS_MS);
    const finish = (closed: boolean) => {
      clearInterval(timer);
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ closed, bytesSent: sent });
    };
    socket.on('close', () => finish(true));
    socket.on('error', () => {});
    // Read what the server says (a 408), or its FIN never surfaces as 'close'.
    socket.resume();
    socket.once(socket instanceof Object && 'encrypted' in socket ? 'secureConnect' : 'connect', () => {
      if (first) socket.write(first);
      sent += first.length;
      if (drip) {
        timer = setInterval(() => {
          if (!socket.writable) return;
          socket.write(drip);
          sent += drip.length;
        }, 200);
      }
    });
  });
}

const webhook = () => tlsConnect({ host: '127.0.0.1', port: server.webhookPort, rejectUnauthorized: false });
const ops = () => netConnect({ host: '127.0.0.1', port: server.opsPort });

t.test('connections that trickle or stall are closed by the server', async (t) => {
  const cases: { name: string; open: () => Socket; first: string; drip: string }[] = [
    { name: 'webhook: headers trickled one line at a time', open: webhook, first: 'POST /validate HTTP/1.1\r\nHost: pullguard\r\n', drip: 'X-Slow: 1\r\n' },
    { name: 'webhook: a body trickled a byte at a time', open: webhook, first: 'POST /validate HTTP/1.1\r\nHost: pullguard\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n', drip: ' ' },
    { name: 'webhook: TLS handshake done, nothing sent', open: webhook, first: '', drip: '' },
    { name: 'webhook: TCP connected, no TLS handshake', open: () => netConnect({ host: '127.0.0.1', port: server.webhookPort }), first: '', drip: '' },
    { name: 'ops port: connected, nothing sent', open: ops, first: '', drip: '' },
    { name: 'ops port: headers trickled', open: ops, first: 'GET /metrics HTTP/1.1\r\nHost: pullguard\r\n', drip: 'X-Slow: 1\r\n' },
  ];
  const results = await Promise.all(cases.map((c) => slowClient(c.open, c.first, c.drip)));
  for (const [i, c] of cases.entries()) t.ok(results[i]!.closed, `${c.name}: closed by the server (after ${results[i]!.bytesSent} bytes)`);
});

t.test('an ordinary request on the same server is still answered', async (t) => {
  const res = await fetch(`http://127.0.0.1:${server.opsPort}/healthz`);
  t.equal(res.status, 200);
});
