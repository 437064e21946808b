// One audit run asks each distinct question once: the memo over the registry layer, keyed as the resolution cache
// keys (image, platforms, credentials) plus the credentials' sources; `unknown` answers are kept for the run too.
// The resolver underneath is a counter here; the registry side is covered by test/audit/cli.test.ts.
import t from 'tap';
import { createPacer, runQuestions } from '../../src/audit/questions.ts';
import { parseReference, type Reference } from '../../src/reference/reference.ts';
import { resolution, type Resolution } from '../../src/registry/resolution.ts';

function ref(image: string): Reference {
  const p = parseReference(image);
  if (!p.ok) throw new Error(image);
  return p.reference;
}

function counting(answer: (r: Reference) => Resolution) {
  const asked: string[] = [];
  return { asked, resolve: async (r: Reference) => (asked.push(r.canonical), answer(r)) };
}

const any = { platforms: [], credentials: [] };

t.test('the same question twice, even concurrently, reaches the registry once; different ones each once', async (t) => {
  const inner = counting((r) => resolution('Resolved', r.canonical, { reference: r.canonical }));
  const q = runQuestions(inner);
  await Promise.all([q.resolve(ref('nginx:1.27'), any), q.resolve(ref('docker.io/library/nginx:1.27'), any), q.resolve(ref('nginx:1.28'), any)]);
  await q.resolve(ref('nginx:1.27'), any);
  t.same(inner.asked, ['docker.io/library/nginx:1.27', 'docker.io/library/nginx:1.28']);
  t.equal(q.asked, 2);
  t.equal(q.reused, 2);
});

t.test('other platforms or other credentials are another question; an unknown answer is not asked again this run', async (t) => {
  const inner = counting((r) => resolution('RegistryUnreachable', r.canonical, { reference: r.canonical }));
  const q = runQuestions(inner);
  const cred = (source: string) => ({ source, key: 'registry.example.com', username: 'u', password: 'p' });
  await q.resolve(ref('registry.example.com/app:1'), any);
  await q.resolve(ref('registry.example.com/app:1'), any);
  await q.resolve(ref('registry.example.com/app:1'), { platforms: [{ os: 'linux', architecture: 'arm64' }], credentials: [] });
  await q.resolve(ref('registry.example.com/app:1'), { platforms: [], credentials: [cred('secret a/regcred')] });
  await q.resolve(ref('registry.example.com/app:1'), { platforms: [], credentials: [cred('secret b/regcred')] });
  t.equal(inner.asked.length, 4, 'the unreachable registry is asked once per distinct question, not per workload');
});

t.test('a pacer lets the first question through at once and releases every waiter when stopped', async (t) => {
  const pacer = createPacer(60_000);
  await pacer.slot();
  const waiting = Promise.all([pacer.slot(), pacer.slot()]).then(() => 'released');
  const minute = (): Promise<string> => new Promise((resolve) => setTimeout(() => resolve('still waiting'), 30_000).unref());
  pacer.stop();
  t.equal(await Promise.race([waiting, minute()]), 'released', 'stopped: its waiters go at once, not a minute apart');
  t.equal(await Promise.race([pacer.slot().then(() => 'released'), minute()]), 'released', 'and later slots do not wait');
});
