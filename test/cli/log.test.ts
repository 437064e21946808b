// The CLI's log (src/cli/log.ts): pino at the level asked for, loaded only when a line at that level is logged.
import { Writable } from 'node:stream';
import t from 'tap';
import { cliLog } from '../../src/cli/log.ts';

function sink(): Writable & { lines: () => Record<string, unknown>[] } {
  let text = '';
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return Object.assign(w, { lines: () => text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) });
}

t.test('at warn, debug and info lines are dropped and warn and error lines are pino JSON lines', async (t) => {
  const out = sink();
  const log = cliLog('warn', out);
  log.debug({ url: 'https://r.example/v2/' }, 'registry request');
  log.info({}, 'reading nodes');
  log.warn({ reason: 'no kubeconfig' }, 'no cluster access');
  log.error({ code: 1 }, 'broken');
  await new Promise((r) => setImmediate(r));
  t.match(out.lines(), [{ level: 40, reason: 'no kubeconfig', msg: 'no cluster access' }, { level: 50, code: 1, msg: 'broken' }]);
  t.equal(out.lines().length, 2);
});

t.test('at debug, debug lines are written', async (t) => {
  const out = sink();
  cliLog('debug', out).debug({ operation: 'manifest' }, 'registry request');
  await new Promise((r) => setImmediate(r));
  t.match(out.lines(), [{ level: 20, operation: 'manifest', msg: 'registry request' }]);
});

t.test('silent writes nothing; an unknown level is refused at once, as pino refuses it', async (t) => {
  const out = sink();
  cliLog('silent', out).error({}, 'nothing');
  await new Promise((r) => setImmediate(r));
  t.same(out.lines(), []);
  t.throws(() => cliLog('loud', out), /unknown level|loud/);
});
