import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_CONFIG, loadConfig, parseConfigText } from '../../src/config.ts';
import { makeTempDir } from '../harness/lifecycle.ts';

const dir = makeTempDir('config');
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

t.test('with no file every key has its default', async (t) => {
  const r = loadConfig({});
  t.ok(r.ok);
  if (r.ok) t.same(r.config, DEFAULT_CONFIG);
});

t.test('file, environment and flags merge in that order', async (t) => {
  const f = file('a.yaml', 'mode: warn\nserver:\n  port: 9443\n  metricsPort: 9100\ncache:\n  tagTtlSeconds: 5\n');
  const r = loadConfig({ file: f, env: { PULLGUARD_PORT: '10443' }, flags: { metricsPort: 9200, dockerConfig: ['/x/config.json'] } });
  t.ok(r.ok);
  if (!r.ok) return;
  t.equal(r.config.mode, 'warn');
  t.equal(r.config.server.port, 10443, 'environment beats the file');
  t.equal(r.config.server.metricsPort, 9200, 'flags beat the file');
  t.equal(r.config.cache.tagTtlSeconds, 5);
  t.equal(r.config.cache.digestTtlSeconds, DEFAULT_CONFIG.cache.digestTtlSeconds, 'siblings keep their defaults');
  t.same(r.config.credentials.dockerConfigFiles, ['/x/config.json']);
});

const bad: [string, string, RegExp][] = [
  ['a typo in a key', 'mdoe: warn\n', /unknown key "mdoe"/],
  ['a nested typo', 'server:\n  prot: 1\n', /server: unknown key "prot"/],
  ['a wrong mode', 'mode: block\n', /mode: must be one of "enforce", "warn"/],
  ['a wrong type', 'server:\n  port: "x"\n', /server\.port: must be integer/],
  ['a port out of range', 'server:\n  port: 70000\n', /server\.port/],
  ['no pull secrets at all per review', 'limits:\n  pullSecretsPerReview: 0\n', /limits\.pullSecretsPerReview: must be >= 1/],
  ['a bad platform', 'platforms:\n  fallback: ["amd64"]\n', /platforms\.fallback\.0/],
  ['not a mapping', '- a\n- b\n', /must be a mapping/],
  ['broken YAML', 'mode: [\n', /not valid YAML/],
];
for (const [what, text, expected] of bad) {
  t.test(`${what} is rejected with a clear error`, async (t) => {
    const r = parseConfigText(text, 'pullguard.yaml');
    t.notOk(r.ok);
    if (!r.ok) t.match(r.errors.join('\n'), expected);
  });
}

t.test('limits.pullSecretsPerReview defaults to 32 and is read from the file', async (t) => {
  t.equal(DEFAULT_CONFIG.limits.pullSecretsPerReview, 32);
  const r = loadConfig({ file: file('secrets.yaml', 'limits:\n  pullSecretsPerReview: 1\n') });
  t.ok(r.ok);
  if (r.ok) t.equal(r.config.limits.pullSecretsPerReview, 1, 'the lowest allowed value');
});

t.test('an empty file is the defaults', async (t) => {
  const r = loadConfig({ file: file('empty.yaml', '') });
  t.ok(r.ok);
});

t.test('a missing file, a bad flag and a bad environment value are errors, not crashes', async (t) => {
  const missing = loadConfig({ file: join(dir, 'nope.yaml') });
  t.notOk(missing.ok);
  if (!missing.ok) t.match(missing.errors[0], /cannot read it \(ENOENT\)/);
  const flag = loadConfig({ flags: { mode: 'block' } });
  t.notOk(flag.ok);
  const env = loadConfig({ env: { PULLGUARD_PORT: 'abc' } });
  t.notOk(env.ok);
  if (!env.ok) t.match(env.errors[0], /PULLGUARD_PORT/);
});
